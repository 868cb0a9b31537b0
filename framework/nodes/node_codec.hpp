#pragma once
// NodeRecord <-> the StoredNode message of the store files (proto/store.proto).

#include "nodes/node_record.hpp"
#include "store.pb.h"

namespace meshbot::nodes {

pb::StoredNode to_stored(const NodeRecord& node);
// Drops keys that are not 32 bytes (a damaged or hand-edited store).
NodeRecord from_stored(const pb::StoredNode& stored);

}  // namespace meshbot::nodes
