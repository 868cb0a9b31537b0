# meshbot_manifest_string(<plugin.toml> <key> <out-var>)
#
# Sets <out-var> to the value of a top-level `key = "value"` (or 'value') line of a plugin
# manifest, or to "" when the manifest has none. Only keys before the first [table] count, so a
# `version` inside [config] is not the plugin's. A regex, not a TOML parser: enough for the plain
# one-line strings the manifest's top-level keys are (the host's parser checks the rest).
# Used at configure time by meshbot_add_plugin() and at build time by the package script.
include_guard(GLOBAL)

function(meshbot_manifest_string manifest key out)
  file(READ "${manifest}" text)
  # Everything before the first table header is the top level.
  string(REGEX MATCH "\n[ \t]*\\[" header "\n${text}")
  if(header)
    string(FIND "\n${text}" "${header}" at)
    string(SUBSTRING "\n${text}" 0 ${at} text)
  endif()
  set(value "")
  if("\n${text}" MATCHES "\n[ \t]*${key}[ \t]*=[ \t]*(\"([^\"\n]*)\"|'([^'\n]*)')")
    set(value "${CMAKE_MATCH_2}${CMAKE_MATCH_3}")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()
