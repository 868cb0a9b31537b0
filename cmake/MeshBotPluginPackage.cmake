# Writes one plugin's shareable archive; run by the <id>_package target of meshbot_add_plugin():
#   cmake -DID=<id> -DMANIFEST=<plugin.toml> -DLIBRARY_FILE=<built .so> -DREADME=<file>
#         -DLICENSE=<file> -DARCH=<uname -m> -DPACKAGE_DIR=<dir> -DSTAGING_DIR=<scratch dir>
#         -P MeshBotPluginPackage.cmake
#
# The archive, <PACKAGE_DIR>/<id>-<version>-linux-<arch>.meshbot-plugin, is a gzip'ed tar whose
# layout is a contract with `meshbot plugin install` (which reads it):
#   <id>/LICENSE
#   <id>/README.md
#   <id>/SHA256SUMS      sha256sum(1) lines "<64 hex>  <name>" for every other file
#   <id>/<library>       <id>.so, or the manifest's `library`
#   <id>/plugin.toml
# and nothing else (no directory entries either: the installer takes the folder from the paths).
# It is reproducible: names sorted, fixed mtime and modes, no timestamp in the gzip header, so
# two builds of the same sources on one machine give the same bytes. (Owner and group are the
# builder's, as `cmake -E tar` has no option to fix them.)
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/MeshBotManifest.cmake")

foreach(var ID MANIFEST LIBRARY_FILE README LICENSE ARCH PACKAGE_DIR STAGING_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "MeshBotPluginPackage.cmake: -D${var}=... is required")
  endif()
endforeach()

set(what "meshbot plugin package ${ID}")
if(NOT EXISTS "${LICENSE}")
  message(FATAL_ERROR "${what}: no LICENSE at ${LICENSE}; a shared plugin needs one (add the "
                      "file, or pass LICENSE <file> to meshbot_add_plugin)")
endif()
if(NOT EXISTS "${README}")
  message(FATAL_ERROR "${what}: no README at ${README} (add the file, or pass README <file> to "
                      "meshbot_add_plugin)")
endif()

meshbot_manifest_string("${MANIFEST}" version version)
if(version STREQUAL "")
  message(FATAL_ERROR "${MANIFEST}: no top-level version = \"...\"; the package name needs it")
endif()
if(NOT version MATCHES "^[0-9A-Za-z][0-9A-Za-z.+_~-]*$")
  message(FATAL_ERROR "${MANIFEST}: version \"${version}\" cannot be part of a file name")
endif()
meshbot_manifest_string("${MANIFEST}" library library)
if(library STREQUAL "")
  set(library "${ID}.so")
endif()

# Stage the folder with fixed modes, so the archive does not depend on the builder's umask.
set(folder "${STAGING_DIR}/${ID}")
file(REMOVE_RECURSE "${STAGING_DIR}")
file(MAKE_DIRECTORY "${folder}")
set(sources "${MANIFEST}" "${LIBRARY_FILE}" "${README}" "${LICENSE}")
set(names plugin.toml "${library}" README.md LICENSE)
foreach(source name IN ZIP_LISTS sources names)
  file(COPY_FILE "${source}" "${folder}/${name}")
  set(mode OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  if(name STREQUAL library)
    list(APPEND mode OWNER_EXECUTE GROUP_EXECUTE WORLD_EXECUTE)
  endif()
  file(CHMOD "${folder}/${name}" PERMISSIONS ${mode})
endforeach()

list(SORT names)
set(sums "")
foreach(name IN LISTS names)
  file(SHA256 "${folder}/${name}" hash)
  string(APPEND sums "${hash}  ${name}\n")
endforeach()
file(WRITE "${folder}/SHA256SUMS" "${sums}")
file(CHMOD "${folder}/SHA256SUMS" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

list(APPEND names SHA256SUMS)
list(SORT names)
list(TRANSFORM names PREPEND "${ID}/" OUTPUT_VARIABLE members)

file(MAKE_DIRECTORY "${PACKAGE_DIR}")
set(archive "${PACKAGE_DIR}/${ID}-${version}-linux-${ARCH}.meshbot-plugin")
set(partial "${STAGING_DIR}/archive.partial")
# SOURCE_DATE_EPOCH makes CMake leave the timestamp out of the gzip header.
set(ENV{SOURCE_DATE_EPOCH} 0)
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E tar czf "${partial}" --format=gnutar
          "--mtime=2000-01-01 00:00:00 UTC" ${members}
  WORKING_DIRECTORY "${STAGING_DIR}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${what}: cmake -E tar failed (${rc}):\n${out}")
endif()
# Rewritten only when it changed, so an unchanged package keeps its file time too.
file(COPY_FILE "${partial}" "${archive}" ONLY_IF_DIFFERENT)
file(REMOVE_RECURSE "${STAGING_DIR}")
message(STATUS "${what}: ${archive}")
