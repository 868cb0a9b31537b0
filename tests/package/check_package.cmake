# check_meshbot_package(<archive> ID <id> VERSION <version> LIBRARY <name>
#                       LIBRARY_FILE <built .so> MANIFEST <file> README <file> LICENSE <file>
#                       WORK_DIR <dir>)
#
# Fails (FATAL_ERROR) unless <archive> is the package `meshbot plugin install` expects
# (cmake/MeshBotPluginPackage.cmake): named <id>-<version>-linux-<uname -m>.meshbot-plugin, a
# gzip'ed tar of exactly <id>/{LICENSE,README.md,SHA256SUMS,<library>,plugin.toml} in that
# order, each file equal to its source, SHA256SUMS accepted by `sha256sum -c`, and nothing in it
# that depends on when it was built (gzip header time 0, every member's mtime the fixed one).
# Used by the package tests; <WORK_DIR> is wiped first.
include_guard(GLOBAL)

function(check_meshbot_package archive)
  cmake_parse_arguments(ARG "" "ID;VERSION;LIBRARY;LIBRARY_FILE;MANIFEST;README;LICENSE;WORK_DIR" "" ${ARGN})
  if(NOT EXISTS "${archive}")
    message(FATAL_ERROR "no package at ${archive}")
  endif()

  # The name: the architecture as the machine itself spells it.
  execute_process(COMMAND uname -m OUTPUT_VARIABLE machine OUTPUT_STRIP_TRAILING_WHITESPACE
                  COMMAND_ERROR_IS_FATAL ANY)
  get_filename_component(name "${archive}" NAME)
  set(expected_name "${ARG_ID}-${ARG_VERSION}-linux-${machine}.meshbot-plugin")
  if(NOT name STREQUAL expected_name)
    message(FATAL_ERROR "package named ${name}, expected ${expected_name}")
  endif()

  # gzip, without a timestamp (bytes 4..7 of the header).
  file(READ "${archive}" header LIMIT 10 HEX)
  if(NOT header MATCHES "^1f8b08..00000000")
    message(FATAL_ERROR "${name}: not gzip, or its header carries a build time: ${header}")
  endif()

  # Exactly the five files, in sorted order, under one folder named after the id.
  execute_process(COMMAND "${CMAKE_COMMAND}" -E tar tf "${archive}" OUTPUT_VARIABLE listing
                  RESULT_VARIABLE rc ERROR_VARIABLE error)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: cannot list it: ${error}")
  endif()
  string(STRIP "${listing}" listing)
  string(REPLACE "\n" ";" members "${listing}")
  set(expected LICENSE README.md SHA256SUMS "${ARG_LIBRARY}" plugin.toml)
  list(SORT expected)
  list(TRANSFORM expected PREPEND "${ARG_ID}/")
  if(NOT members STREQUAL expected)
    message(FATAL_ERROR "${name} holds\n  ${members}\nexpected\n  ${expected}")
  endif()

  file(REMOVE_RECURSE "${ARG_WORK_DIR}")
  file(MAKE_DIRECTORY "${ARG_WORK_DIR}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -E tar xzf "${archive}"
                  WORKING_DIRECTORY "${ARG_WORK_DIR}" COMMAND_ERROR_IS_FATAL ANY)
  set(folder "${ARG_WORK_DIR}/${ARG_ID}")

  # Each file is its source.
  set(sources "${ARG_MANIFEST}" "${ARG_README}" "${ARG_LICENSE}" "${ARG_LIBRARY_FILE}")
  set(names plugin.toml README.md LICENSE "${ARG_LIBRARY}")
  foreach(member source IN ZIP_LISTS names sources)
    execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${folder}/${member}" "${source}"
                    RESULT_VARIABLE differs)
    if(NOT differs EQUAL 0)
      message(FATAL_ERROR "${name}: ${member} differs from ${source}")
    endif()
    file(TIMESTAMP "${folder}/${member}" mtime "%s" UTC)
    if(NOT mtime STREQUAL "946684800")  # 2000-01-01 00:00:00 UTC, the package script's
      message(FATAL_ERROR "${name}: ${member} has mtime ${mtime}, not the fixed one")
    endif()
  endforeach()

  # SHA256SUMS: one "<hash>  <name>" line per other file, as sha256sum -c reads it.
  file(STRINGS "${folder}/SHA256SUMS" lines)
  list(LENGTH lines count)
  if(NOT count EQUAL 4)
    message(FATAL_ERROR "${name}: SHA256SUMS has ${count} lines, expected 4:\n${lines}")
  endif()
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^([0-9a-f]+)  (.+)$")
      message(FATAL_ERROR "${name}: SHA256SUMS line not in sha256sum format: '${line}'")
    endif()
    string(LENGTH "${CMAKE_MATCH_1}" length)
    file(SHA256 "${folder}/${CMAKE_MATCH_2}" actual)
    if(NOT length EQUAL 64 OR NOT actual STREQUAL CMAKE_MATCH_1)
      message(FATAL_ERROR "${name}: SHA256SUMS says ${CMAKE_MATCH_1} for ${CMAKE_MATCH_2}, "
                          "the file hashes to ${actual}")
    endif()
  endforeach()
  find_program(SHA256SUM sha256sum)
  if(SHA256SUM)
    execute_process(COMMAND "${SHA256SUM}" -c SHA256SUMS WORKING_DIRECTORY "${folder}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${name}: sha256sum -c SHA256SUMS failed:\n${out}")
    endif()
  endif()
  message(STATUS "package ok: ${archive}")
endfunction()
