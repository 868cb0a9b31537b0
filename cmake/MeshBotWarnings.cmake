# meshbot_warnings(<target>): the project's warning set, applied to our own code only
# (generated protobuf sources are compiled without it).
function(meshbot_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align)
endfunction()
