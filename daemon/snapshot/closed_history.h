// ClosedHistory: the API's bounded in-memory history of connections that
// left the table (closed, timed out, evicted, replaced), each as it was when
// it left, with why and when. ListConnections / WatchConnections with
// `include_closed` read it beside the live snapshots (daemon/rpc/query.h).
//
// A ConnectionSink (connection_sink.h) listed in PipelineOptions::sinks:
// workers append through OnClosed; when full, the oldest entry goes first
// and is counted (`dropped`). With capacity 0 no entries are kept, only
// the totals (below).
//
// Storage is a queue of fixed-size chunks, appended to in place and never
// moved: a reader's Take() copies a pointer per chunk (40 for 10,000
// entries) under the mutex and then reads the entries that were there
// without any lock, while workers keep appending past them. Dropping the
// oldest only advances the start; a chunk is freed when it is wholly
// dropped and no Snapshot holds it. So a worker never waits for a reader
// longer than that pointer copy, and memory is at most capacity + one
// chunk of entries (plus what Snapshots still hold).
//
// Memory: sizeof(ClosedEntry) (256 bytes: the 240-byte Connection, reason
// and time) per entry, plus the shared records the connection points to
// (DPI's AppRecord, the DNS name, the process attribution), now held by the
// history alone; README.md gives the measured total for 10,000.
//
// Totals: besides the entries, the history sums every connection it is
// given into one GroupTable per GroupDimension (group_totals.h), each at
// most kMaxClosedGroups keys, so GroupConnections counts every connection
// closed since the daemon started, also after the entries are dropped (or
// with capacity 0, when none are kept). TakeWithTotals reads the entries
// and one dimension's totals under the same lock, so a connection is in
// both or in neither: that is how the group query tells closed connections
// still in a worker's last live snapshot from the rest.
//
// Thread-safety: OnClosed from worker threads (several at once), Snapshot
// and stats from any thread.
#ifndef RUSTNET_DAEMON_SNAPSHOT_CLOSED_HISTORY_H_
#define RUSTNET_DAEMON_SNAPSHOT_CLOSED_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/snapshot/connection_sink.h"
#include "daemon/snapshot/event_hub.h"
#include "daemon/snapshot/group_totals.h"
#include "daemon/track/connection.h"

namespace rustnet {

// One closed connection, as it was when it left the table.
struct ClosedEntry {
  Connection connection;
  CloseReason reason = CloseReason::kNone;
  int64_t closed_at_us = 0;  // The worker's (packet) clock when it left.
};

// Entries are reserved up front and only ever appended to, so an entry's
// address never changes and readers may read the ones published before
// their snapshot while a worker appends more.
struct ClosedHistoryChunk {
  explicit ClosedHistoryChunk(size_t n) { entries.reserve(n); }
  std::vector<ClosedEntry> entries;
};

class ClosedHistory final : public ConnectionSink {
 public:
  static constexpr size_t kDefaultCapacity = 10'000;
  // Keys per dimension in the closed connections' totals (the rest sum
  // into "(other)"): at most ~9 x 4096 groups of ~250 bytes.
  static constexpr size_t kMaxClosedGroups = 4096;

  explicit ClosedHistory(size_t capacity);

  // The entries held when Take() was called, oldest first; immutable, and
  // valid for as long as the snapshot lives.
  class Snapshot {
   public:
    size_t size() const { return size_; }
    // Calls f(const ClosedEntry&) for each entry, oldest first.
    template <typename F>
    void ForEach(F&& f) const {
      size_t left = size_;
      size_t begin = first_;
      for (const auto& chunk : chunks_) {
        const ClosedEntry* entries = chunk->entries.data();
        for (size_t i = begin; i < chunk_size_ && left > 0; ++i, --left) f(entries[i]);
        begin = 0;
      }
    }

   private:
    friend class ClosedHistory;
    std::vector<std::shared_ptr<const ClosedHistoryChunk>> chunks_;
    size_t first_ = 0;  // Index of the oldest entry in chunks_[0].
    size_t size_ = 0;
    size_t chunk_size_ = 0;
  };

  struct Stats {
    size_t size = 0;        // Entries held now.
    size_t capacity = 0;
    uint64_t added = 0;     // Entries ever appended.
    uint64_t dropped = 0;   // Oldest entries dropped to stay within capacity.
    // The newest closing time among the dropped entries (0: none dropped).
    int64_t dropped_newest_us = 0;
  };

  // Copies each connection into the history (drops the oldest when full).
  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override;
  // The table at the end is not history: nothing to do.
  void OnFinalTable(const FinalTable& /*table*/) override {}
  absl::Status Flush() override { return absl::OkStatus(); }

  Snapshot Take() const;
  // The entries, one dimension's totals of every connection closed so far,
  // and the stats, all as of one moment.
  void TakeWithTotals(GroupDimension d, Snapshot* entries, GroupTable* totals,
                      Stats* stats) const;
  Stats stats() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  const size_t chunk_size_;  // Entries per chunk: min(capacity, 256).
  mutable absl::Mutex mu_;
  // Entries [first_, first_ + size_) across chunks_; only the last chunk is
  // appended to, and only past its entries readers may see.
  std::deque<std::shared_ptr<ClosedHistoryChunk>> chunks_ ABSL_GUARDED_BY(mu_);
  size_t first_ ABSL_GUARDED_BY(mu_) = 0;
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t added_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_newest_us_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<GroupTable> totals_ ABSL_GUARDED_BY(mu_);  // [dimension - 1]
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_CLOSED_HISTORY_H_
