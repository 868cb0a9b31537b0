# meshbot_add_plugin(<id> SOURCES <files...> [MANIFEST <plugin.toml>] [OUTPUT_DIRECTORY <dir>]
#                    [NO_INSTALL])
#
# Builds a meshbot plugin: a MODULE library named <id>.so, placed with its manifest in
# <dir>/<id>/ (default dir: ${CMAKE_BINARY_DIR}/plugins, a folder the host can scan as it is)
# and installed to <libdir>/meshbot/plugins/<id>/. In-tree plugins and out-of-tree plugins use
# this same function.
include_guard(GLOBAL)
include(GNUInstallDirs)

# Where installed plugins live, relative to the install prefix; the host looks there by default.
set(MESHBOT_PLUGIN_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/meshbot/plugins")

function(meshbot_add_plugin id)
  cmake_parse_arguments(ARG "NO_INSTALL" "MANIFEST;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
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
  configure_file("${manifest}" "${out_dir}/plugin.toml" COPYONLY)

  if(ARG_NO_INSTALL)
    return()
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${MESHBOT_PLUGIN_INSTALL_DIR}/${id}")
  install(FILES "${manifest}" RENAME plugin.toml DESTINATION "${MESHBOT_PLUGIN_INSTALL_DIR}/${id}")
endfunction()
