# Writes the files of the Debian packages that are derived from the repository's own, so that
# each fact has one source:
#   meshbot.toml          config/meshbot.example.toml with data_dir = "/var/lib/meshbot"
#   copyright             machine-readable debian/copyright around the repository's LICENSE
#   changelog.Debian.gz   one entry for VERSION-RELEASE (gzip -9n: no name, no time stamp)
# Run at build time (packaging/CMakeLists.txt):
#   cmake -DEXAMPLE_CONFIG=<toml> -DLICENSE=<file> -DVERSION=<x.y.z> -DRELEASE=<n>
#         -DMAINTAINER=<name <mail>> -DOUT_DIR=<dir> -P generate_files.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var EXAMPLE_CONFIG LICENSE VERSION RELEASE MAINTAINER OUT_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "generate_files.cmake: -D${var}=... is required")
  endif()
endforeach()
file(MAKE_DIRECTORY "${OUT_DIR}")

# ---- /etc/meshbot/meshbot.toml: the example, which documents every key with its default, with
# the one value a system service needs changed. The example's line must be there exactly once:
# if it is reworded, the build says so instead of shipping a config that writes next to /etc.
file(READ "${EXAMPLE_CONFIG}" config)
set(example_line "data_dir = \"data\"\n")
string(FIND "${config}" "${example_line}" first)
string(FIND "${config}" "${example_line}" last REVERSE)
if(first EQUAL -1 OR NOT first EQUAL last)
  message(FATAL_ERROR "${EXAMPLE_CONFIG}: expected the line 'data_dir = \"data\"' exactly once")
endif()
string(REPLACE "${example_line}" "data_dir = \"/var/lib/meshbot\"\n" config "${config}")
string(CONCAT header
"# /etc/meshbot/meshbot.toml: the configuration of the meshbot service (meshbot.service).\n"
"# It is meshbot's example config, whose keys all keep their defaults except data_dir,\n"
"# which is the service's state folder. Set [radio] below, check the file with\n"
"# `meshbot --check-config /etc/meshbot/meshbot.toml`, then `systemctl enable --now meshbot`\n"
"# (`systemctl reload meshbot` or `systemctl restart meshbot` after later changes).\n"
"#\n")
string(PREPEND config "${header}")
file(WRITE "${OUT_DIR}/meshbot.toml" "${config}")

# ---- copyright (DEP-5). The repository's LICENSE is the MIT licence, which Debian calls Expat.
file(STRINGS "${LICENSE}" license_lines)
list(GET license_lines 2 copyright_line)  # "Copyright (c) 2026 the meshbot authors"
string(REGEX REPLACE "^Copyright \\([cC]\\) *" "" copyright_holder "${copyright_line}")
set(body "")
set(skip TRUE)  # the title and the copyright line are in the header fields
foreach(line IN LISTS license_lines)
  if(skip)
    if(line MATCHES "^Copyright")
      set(skip FALSE)
    endif()
    continue()
  endif()
  if(line STREQUAL "")
    string(APPEND body " .\n")
  else()
    string(APPEND body " ${line}\n")
  endif()
endforeach()
string(REGEX REPLACE "^ \\.\n" "" body "${body}")  # the blank line after the copyright line
file(WRITE "${OUT_DIR}/copyright"
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
"Upstream-Name: meshbot\n"
"\n"
"Files: *\n"
"Copyright: ${copyright_holder}\n"
"License: Expat\n"
"\n"
"License: Expat\n"
"${body}")

# ---- changelog.Debian.gz. The date honours SOURCE_DATE_EPOCH, for reproducible packages.
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE "${OUT_DIR}/changelog.Debian"
"meshbot (${VERSION}-${RELEASE}) unstable; urgency=medium\n"
"\n"
"  * Package built from the meshbot source tree with CPack (scripts/package).\n"
"\n"
" -- ${MAINTAINER}  ${date}\n")
execute_process(COMMAND gzip -9nc "${OUT_DIR}/changelog.Debian"
                OUTPUT_FILE "${OUT_DIR}/changelog.Debian.gz" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed (${rc}) on ${OUT_DIR}/changelog.Debian")
endif()
