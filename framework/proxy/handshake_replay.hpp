#pragma once
// The handshake a virtual-node client gets: what the radio sent the bot, with the node list
// brought up to date from the bot's node store.

#include <cstdint>
#include <string>
#include <vector>

#include "nodes/node_store.hpp"
#include "radio/radio_info.hpp"

namespace meshbot::proxy {

// Serialized FromRadio messages for a client's want_config_id `nonce`: the radio's own, in its
// order (my_info, device UI, own node, metadata, channels, config, module config ...), the
// other nodes before the file manifest, then config_complete_id = nonce; the special nonces
// (config only, nodes only) as the firmware serves them. The other nodes: those of the radio's
// NodeDB at its handshake, refreshed with what the store heard since, and the nodes heard since
// then. Without `with_private_key` the security config goes out without the radio's private
// key. Pure; io_context thread (the store is not thread-safe).
std::vector<std::string> handshake_frames(const radio::RadioInfo& radio,
                                          const nodes::NodeStore& store, std::uint32_t nonce,
                                          bool with_private_key);

// The node list entry for one node: the radio's, refreshed from the store's record when the
// store heard the node later. Either may be null (not both).
pb::NodeInfo current_node_info(const pb::NodeInfo* from_radio, const nodes::NodeRecord* record);

}  // namespace meshbot::proxy
