# meshbot_add_plugin(<id> SOURCES <files...> [MANIFEST <plugin.toml>] [OUTPUT_DIRECTORY <dir>]
#                    [README <file>] [LICENSE <file>] [PACKAGE_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds a meshbot plugin: a MODULE library named <id>.so (or the manifest's `library`), placed
# with its manifest in <dir>/<id>/ (default dir: ${CMAKE_BINARY_DIR}/plugins, a folder the host
# can scan as it is) and installed to <libdir>/meshbot/plugins/<id>/. In-tree plugins and
# out-of-tree plugins use this same function.
#
# It also adds the target <id>_package (not part of `all`), which writes the shareable archive
#   <PACKAGE_DIRECTORY>/<id>-<version>-linux-<arch>.meshbot-plugin
# (default ${CMAKE_BINARY_DIR}/packages; <version> from the manifest, <arch> as `uname -m` spells
# it) holding <id>/{plugin.toml, library, README.md, LICENSE, SHA256SUMS}; see
# MeshBotPluginPackage.cmake for the exact layout. README and LICENSE default to the files of
# those names beside the manifest; a missing one fails the package target, not the build.
# The target meshbot_plugin_packages builds the packages of every plugin that is installed (not
# the NO_INSTALL ones, which are test fixtures).
include_guard(GLOBAL)
include(GNUInstallDirs)
include("${CMAKE_CURRENT_LIST_DIR}/MeshBotManifest.cmake")

# Where installed plugins live, relative to the install prefix; the host looks there by default.
set(MESHBOT_PLUGIN_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/meshbot/plugins")

# The `uname -m` spelling of the machine being built for (x86_64, aarch64, armv7l, i686, ...),
# which is how operators and the installer name it; CMAKE_SYSTEM_PROCESSOR varies by platform
# (AMD64, amd64, arm64). -DMESHBOT_PLUGIN_ARCH=... overrides it for unusual toolchains.
function(meshbot_plugin_arch out)
  if(MESHBOT_PLUGIN_ARCH)
    set(${out} "${MESHBOT_PLUGIN_ARCH}" PARENT_SCOPE)
    return()
  endif()
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" arch)
  # A 32-bit build on a 64-bit machine (e.g. armhf in an arm64 container) runs as the 32-bit one.
  set(bits32 FALSE)
  if(CMAKE_SIZEOF_VOID_P EQUAL 4)
    set(bits32 TRUE)
  endif()
  if(arch MATCHES "^(x86_64|amd64|x64|em64t)$")
    set(arch x86_64)
    if(bits32)
      set(arch i686)
    endif()
  elseif(arch MATCHES "^(aarch64|arm64|armv8.*)$")
    set(arch aarch64)
    if(bits32)
      set(arch armv7l)
    endif()
  elseif(arch MATCHES "^(i[3-6]86|x86)$")
    set(arch i686)
  elseif(arch MATCHES "^armv7")
    set(arch armv7l)
  elseif(arch MATCHES "^armv6")
    set(arch armv6l)
  elseif(arch STREQUAL "")
    message(FATAL_ERROR "meshbot_plugin_arch: CMAKE_SYSTEM_PROCESSOR is empty; "
                        "set -DMESHBOT_PLUGIN_ARCH=<uname -m>")
  endif()
  set(${out} "${arch}" PARENT_SCOPE)
endfunction()

function(meshbot_add_plugin id)
  cmake_parse_arguments(ARG "NO_INSTALL" "MANIFEST;OUTPUT_DIRECTORY;README;LICENSE;PACKAGE_DIRECTORY"
                        "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "meshbot_add_plugin(${id}): SOURCES is required")
  endif()
  if(NOT ARG_MANIFEST)
    set(ARG_MANIFEST plugin.toml)
  endif()
  get_filename_component(manifest "${ARG_MANIFEST}" ABSOLUTE)
  if(NOT EXISTS "${manifest}")
    message(FATAL_ERROR "meshbot_add_plugin(${id}): manifest ${manifest} not found")
  endif()

  set(target ${id}_plugin)
  if(NOT ARG_OUTPUT_DIRECTORY)
    set(ARG_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/plugins")
  endif()
  set(out_dir "${ARG_OUTPUT_DIRECTORY}/${id}")
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE MeshBot::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${id}
    LIBRARY_OUTPUT_DIRECTORY "${out_dir}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # A plugin links nothing of the host's: every symbol it needs must resolve at build time.
  target_link_options(${target} PRIVATE -Wl,-z,defs)
  # The manifest names the library the host opens; build it under that name.
  meshbot_manifest_string("${manifest}" library library)
  if(library)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME "${library}" SUFFIX "")
  endif()
  configure_file("${manifest}" "${out_dir}/plugin.toml" COPYONLY)

  # The package: every check and read happens when the target runs, so a plugin without a
  # LICENSE still builds and only its package target fails, saying why.
  get_filename_component(manifest_dir "${manifest}" DIRECTORY)
  foreach(file README LICENSE)
    if(ARG_${file})
      get_filename_component(ARG_${file} "${ARG_${file}}" ABSOLUTE)
    endif()
  endforeach()
  if(NOT ARG_README)
    set(ARG_README "${manifest_dir}/README.md")
  endif()
  if(NOT ARG_LICENSE)
    set(ARG_LICENSE "${manifest_dir}/LICENSE")
  endif()
  if(NOT ARG_PACKAGE_DIRECTORY)
    set(ARG_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}/packages")
  endif()
  meshbot_plugin_arch(arch)
  add_custom_target(${id}_package
    COMMAND "${CMAKE_COMMAND}" "-DID=${id}" "-DMANIFEST=${manifest}"
            "-DLIBRARY_FILE=$<TARGET_FILE:${target}>" "-DREADME=${ARG_README}"
            "-DLICENSE=${ARG_LICENSE}" "-DARCH=${arch}"
            "-DPACKAGE_DIR=${ARG_PACKAGE_DIRECTORY}"
            "-DSTAGING_DIR=${CMAKE_CURRENT_BINARY_DIR}/${id}_package.staging"
            -P "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/MeshBotPluginPackage.cmake"
    COMMENT "Packaging meshbot plugin ${id}"
    VERBATIM)
  add_dependencies(${id}_package ${target})

  if(ARG_NO_INSTALL)
    return()
  endif()
  if(NOT TARGET meshbot_plugin_packages)
    add_custom_target(meshbot_plugin_packages)
  endif()
  add_dependencies(meshbot_plugin_packages ${id}_package)
  install(TARGETS ${target} LIBRARY DESTINATION "${MESHBOT_PLUGIN_INSTALL_DIR}/${id}")
  install(FILES "${manifest}" RENAME plugin.toml DESTINATION "${MESHBOT_PLUGIN_INSTALL_DIR}/${id}")
endfunction()
