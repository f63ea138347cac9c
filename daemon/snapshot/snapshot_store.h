// SnapshotStore: where workers publish immutable copies of their tables and
// readers (the API, the dump, statistics) pick them up.
//
// Publishing swaps one shared_ptr under a mutex held for a pointer copy, so
// readers never block a worker for longer than that, and a reader keeps
// its snapshot alive for as long as it needs it. A snapshot shares the
// table's storage chunks rather than copying them (see connection_chunk.h),
// so publishing costs a pointer per 4096 slots, and memory only grows by
// the chunks written to while a snapshot still holds them.
//
// Thread-safety: Publish from worker threads, Current from any thread.
#ifndef RUSTNET_DAEMON_SNAPSHOT_SNAPSHOT_STORE_H_
#define RUSTNET_DAEMON_SNAPSHOT_SNAPSHOT_STORE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/record/dpi_stats.h"
#include "daemon/track/connection.h"
#include "daemon/track/connection_chunk.h"
#include "daemon/track/flow_table.h"

namespace rustnet {

struct WorkerSnapshot {
  int64_t time_us = 0;  // The worker's clock when it published its table.
  // The table's storage, shared copy-on-write (see connection_chunk.h):
  // read-only here, and unchanged however the table moves on.
  std::vector<ChunkRef> chunks;
  size_t size = 0;  // Connections in use across the chunks.
  FlowTableStats stats;
  uint64_t packets = 0;  // Packets the worker has tracked.
  DpiStats dpi;
  DpiAnomalies dpi_anomalies;

  // Calls f(const Connection&) for every connection, in storage order.
  template <typename F>
  void ForEach(F&& f) const {
    for (const ChunkRef& chunk : chunks) chunk->ForEach(f);
  }
};

// A snapshot holding copies of `connections` (tests, and anything that has
// connections outside a table).
std::shared_ptr<WorkerSnapshot> SnapshotOf(int64_t time_us,
                                           const std::vector<Connection>& connections);

class SnapshotStore {
 public:
  explicit SnapshotStore(size_t workers) : slots_(workers) {}

  void Publish(size_t worker, std::shared_ptr<const WorkerSnapshot> snapshot) {
    absl::MutexLock lock(&mu_);
    slots_[worker] = std::move(snapshot);
    ++version_;
  }
  // One entry per worker; null where a worker has not published yet.
  std::vector<std::shared_ptr<const WorkerSnapshot>> Current() const {
    absl::MutexLock lock(&mu_);
    return slots_;
  }
  uint64_t version() const {
    absl::MutexLock lock(&mu_);
    return version_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<const WorkerSnapshot>> slots_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_SNAPSHOT_STORE_H_
