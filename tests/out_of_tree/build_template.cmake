# Builds examples/plugin-template out of tree against the SDK as installed, the way a community
# plugin author does it:
#   1. cmake --install <build> --component sdk --prefix <work>/prefix
#   2. cmake -S examples/plugin-template -B <work>/template-build -DCMAKE_PREFIX_PATH=<work>/prefix
#   3. cmake --build <work>/template-build -j2
#   4. <work>/template-build/plugins/hello/{hello.so,plugin.toml} exist, and hello.so exports
#      the entry point.
#   5. cmake --build <work>/template-build --target hello_package writes the package the installer
#      expects (tests/package/check_package.cmake), and made again it has the same sha256.
#   6. A copy of the template without LICENSE still builds, but its package target fails, saying
#      the LICENSE is missing.
# Run by CTest:
#   cmake -DSOURCE_DIR=<repo> -DBUILD_DIR=<build> -DWORK_DIR=<build>/out_of_tree
#         [-DCXX_COMPILER=<c++>] [-DNM=<nm>] -P build_template.cmake
# <work> is wiped first; what it leaves behind is the template_plugin test fixture.
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../package/check_package.cmake")

foreach(var SOURCE_DIR BUILD_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "build_template.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(template_build "${WORK_DIR}/template-build")

# Runs one command, echoing it; fails the test with its output when it fails.
function(run step)
  message(STATUS "[${step}] ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${step}] failed (${rc}):\n${out}")
  endif()
endfunction()

function(require_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "missing: ${path}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# 1. Only the SDK component: a plugin author needs no daemon, and this does not depend on
#    anything but the headers and the CMake package files.
run(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --component sdk --prefix "${prefix}")
foreach(file include/meshbot/abi.h include/meshbot/sdk.hpp include/meshbot/sdk/host.hpp)
  require_file("${prefix}/${file}")
endforeach()
file(GLOB_RECURSE sdk_config "${prefix}/*/MeshBotSDKConfig.cmake")
if(NOT sdk_config)
  message(FATAL_ERROR "the install has no MeshBotSDKConfig.cmake under ${prefix}")
endif()

# 2. Configure: the prefix is given to the template only through CMAKE_PREFIX_PATH.
set(configure_args -S "${SOURCE_DIR}/examples/plugin-template" -B "${template_build}"
                   "-DCMAKE_PREFIX_PATH=${prefix}")
if(CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
run(configure "${CMAKE_COMMAND}" ${configure_args})

# The package must come from the scratch prefix, not from a system-wide install or the build
# tree (a relocated install has to work).
file(STRINGS "${template_build}/CMakeCache.txt" found_dir REGEX "^MeshBotSDK_DIR:")
string(REGEX REPLACE "^MeshBotSDK_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${prefix}" real_prefix)
file(REAL_PATH "${found_dir}" real_found_dir)
string(FIND "${real_found_dir}" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "MeshBotSDK was found in '${found_dir}', not under ${prefix}")
endif()

# 3. Build.
run(build "${CMAKE_COMMAND}" --build "${template_build}" -j2)

# 4. The plugin folder as the host scans it.
set(plugin_dir "${template_build}/plugins/hello")
require_file("${plugin_dir}/hello.so")
require_file("${plugin_dir}/plugin.toml")
if(NM)
  execute_process(COMMAND "${NM}" -D --defined-only "${plugin_dir}/hello.so"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE symbols ERROR_VARIABLE symbols)
  if(NOT rc EQUAL 0 OR NOT symbols MATCHES "T mb_plugin_entry_v1")
    message(FATAL_ERROR "hello.so does not export mb_plugin_entry_v1:\n${symbols}")
  endif()
endif()
message(STATUS "plugin ready in ${plugin_dir}")

# 5. The package, as `cmake --build build --target hello_package` in the template's README.
set(template "${SOURCE_DIR}/examples/plugin-template")
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/MeshBotManifest.cmake")
meshbot_manifest_string("${template}/plugin.toml" version version)
run(package "${CMAKE_COMMAND}" --build "${template_build}" --target hello_package)
file(GLOB archive "${template_build}/packages/*")
list(LENGTH archive count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one file in ${template_build}/packages, found: ${archive}")
endif()
check_meshbot_package("${archive}" ID hello VERSION "${version}" LIBRARY hello.so
                      LIBRARY_FILE "${plugin_dir}/hello.so" MANIFEST "${template}/plugin.toml"
                      README "${template}/README.md" LICENSE "${template}/LICENSE"
                      WORK_DIR "${WORK_DIR}/package-extract")
file(SHA256 "${archive}" first)
file(REMOVE "${archive}")
run(package-again "${CMAKE_COMMAND}" --build "${template_build}" --target hello_package)
if(NOT EXISTS "${archive}")
  message(FATAL_ERROR "the second run did not write ${archive} again (its name changed?)")
endif()
file(SHA256 "${archive}" second)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "not reproducible: ${archive} was ${first}, made again it is ${second}")
endif()
message(STATUS "package ready: ${archive}")

# 6. Without a LICENSE: the plugin builds, its package does not.
set(unlicensed "${WORK_DIR}/unlicensed")
file(COPY "${template}/" DESTINATION "${unlicensed}/src" PATTERN LICENSE EXCLUDE)
set(unlicensed_args -S "${unlicensed}/src" -B "${unlicensed}/build" "-DCMAKE_PREFIX_PATH=${prefix}")
if(CXX_COMPILER)
  list(APPEND unlicensed_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
run(unlicensed-configure "${CMAKE_COMMAND}" ${unlicensed_args})
run(unlicensed-build "${CMAKE_COMMAND}" --build "${unlicensed}/build" -j2)
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${unlicensed}/build" --target hello_package
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
# (CMake wraps the message at spaces, so its parts are matched one by one.)
string(FIND "${out}" "${unlicensed}/src/LICENSE" at)
if(rc EQUAL 0 OR NOT out MATCHES "no LICENSE at" OR at EQUAL -1)
  message(FATAL_ERROR "a package without LICENSE: expected a failure naming it, got (${rc}):\n${out}")
endif()
message(STATUS "without LICENSE: the package target fails as it should")
