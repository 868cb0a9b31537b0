#pragma once
// The meshbot plugin SDK: header-only C++20 over the C ABI in <meshbot/abi.h>.
//
//   #include <meshbot/sdk.hpp>
//
// clang-format off
//   class HelloPlugin {
//   public:
//       explicit HelloPlugin(meshbot::Host& host) {
//           host.command({.name = "hello", .help = "say hello"},
//                        [](const meshbot::Command& cmd) {
//                            cmd.reply("hello " + cmd.sender().display_name());
//                        });
//       }
//   };
// clang-format on
//   MESHBOT_PLUGIN(HelloPlugin, "hello", "1.0.0")
//
// docs/plugin-guide.md walks through a whole plugin; docs/abi.md has the rules of the boundary.

#include "meshbot/abi.h"
#include "meshbot/sdk/host.hpp"
#include "meshbot/sdk/node_match.hpp"
#include "meshbot/sdk/plugin.hpp"
#include "meshbot/sdk/values.hpp"
