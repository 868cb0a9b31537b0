# The echo plugin's package, made in the build tree by its echo_package target:
#   1. cmake --build <build> --target echo_package
#   2. the archive is what the installer expects (check_package.cmake), with the repository's
#      LICENSE and the plugin's README.md
#   3. made again from scratch it has the same name and the same sha256 (reproducible)
# Run by CTest:
#   cmake -DSOURCE_DIR=<repo> -DBUILD_DIR=<build> -DWORK_DIR=<scratch> -P bundled_package.cmake
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/check_package.cmake")

foreach(var SOURCE_DIR BUILD_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "bundled_package.cmake: -D${var}=... is required")
  endif()
endforeach()
include("${SOURCE_DIR}/cmake/MeshBotManifest.cmake")

function(make_package)
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target echo_package
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "echo_package failed (${rc}):\n${out}")
  endif()
endfunction()

set(manifest "${SOURCE_DIR}/plugins/echo/plugin.toml")
meshbot_manifest_string("${manifest}" version version)
file(GLOB stale "${BUILD_DIR}/packages/echo-*.meshbot-plugin")
if(stale)
  file(REMOVE ${stale})
endif()

make_package()
file(GLOB made "${BUILD_DIR}/packages/echo-*.meshbot-plugin")
list(LENGTH made count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one echo package in ${BUILD_DIR}/packages, found: ${made}")
endif()
check_meshbot_package("${made}" ID echo VERSION "${version}" LIBRARY echo.so
                      LIBRARY_FILE "${BUILD_DIR}/plugins/echo/echo.so" MANIFEST "${manifest}"
                      README "${SOURCE_DIR}/plugins/echo/README.md"
                      LICENSE "${SOURCE_DIR}/LICENSE" WORK_DIR "${WORK_DIR}/extract")

file(SHA256 "${made}" first)
file(REMOVE "${made}")
make_package()
if(NOT EXISTS "${made}")
  message(FATAL_ERROR "the second run did not write ${made} again (its name changed?)")
endif()
file(SHA256 "${made}" second)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "not reproducible: ${made} was ${first}, made again it is ${second}")
endif()
message(STATUS "reproducible: ${made} ${first}")
