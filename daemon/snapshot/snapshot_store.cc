#include "daemon/snapshot/snapshot_store.h"

namespace rustnet {

std::shared_ptr<WorkerSnapshot> SnapshotOf(int64_t time_us,
                                           const std::vector<Connection>& connections) {
  auto snap = std::make_shared<WorkerSnapshot>();
  snap->time_us = time_us;
  ConnectionChunk* chunk = nullptr;
  uint32_t used = ConnectionChunk::kSize;
  for (const Connection& c : connections) {
    if (used == ConnectionChunk::kSize) {
      chunk = new ConnectionChunk;
      snap->chunks.emplace_back(chunk);
      used = 0;
    }
    Connection& slot = chunk->slots[used++];
    slot = c;
    slot.in_use = true;
  }
  snap->size = connections.size();
  return snap;
}

}  // namespace rustnet
