// EventHub: connection lifecycle events (opened, classified, closed) from
// the workers to any number of WatchEvents streams.
//
// Workers collect events while they process a batch and publish them in one
// call per batch (one lock per batch, not per packet), and only while
// someone is listening (wanted()). Events live in a fixed ring; each reader
// keeps its own cursor, and a reader that falls more than the ring's size
// behind loses the oldest events and is told how many.
//
// Thread-safety: all methods from any thread.
#ifndef RUSTNET_DAEMON_SNAPSHOT_EVENT_HUB_H_
#define RUSTNET_DAEMON_SNAPSHOT_EVENT_HUB_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/track/connection.h"

namespace rustnet {

// Mirror rustnet.v1.EventType / CloseReason (same numbers).
enum class FlowEventType : uint8_t { kOpened = 1, kClassified = 2, kClosed = 3 };
enum class CloseReason : uint8_t {
  kNone = 0,
  kFin = 1,
  kReset = 2,
  kTimeout = 3,
  kEvicted = 4,
  kReplaced = 5,
  // Still open when the daemon stopped or the replayed file ended (the
  // connection log writes these; the table never removes one so).
  kShutdown = 6,
};

struct FlowEvent {
  uint64_t sequence = 0;  // Assigned by the hub.
  FlowEventType type = FlowEventType::kOpened;
  CloseReason reason = CloseReason::kNone;
  int64_t time_us = 0;
  Connection connection;  // As it was when the event happened.
};

class EventHub {
 public:
  explicit EventHub(size_t capacity = 16384) : capacity_(capacity == 0 ? 1 : capacity) {}

  // True while at least one reader is subscribed; workers skip collecting
  // events otherwise.
  bool wanted() const { return readers_.load(std::memory_order_relaxed) > 0; }

  // Appends `events` (sequence numbers are assigned here) and wakes readers.
  void Publish(std::vector<FlowEvent>* events);

  // A reader's position. Subscribe() starts at the next event published.
  struct Cursor {
    uint64_t next = 0;
    uint64_t lost = 0;  // Total lost so far.
  };
  Cursor Subscribe();
  void Unsubscribe();

  // Copies up to `max` events at or after the cursor into *out, waiting up
  // to `timeout` for the first one. Returns false once Shutdown() was
  // called.
  bool Read(Cursor* cursor, std::vector<FlowEvent>* out, size_t max, absl::Duration timeout);

  // Wakes all readers and makes Read return false.
  void Shutdown();

  uint64_t published() const;

 private:
  const size_t capacity_;
  std::atomic<int> readers_{0};
  mutable absl::Mutex mu_;
  std::vector<FlowEvent> ring_ ABSL_GUARDED_BY(mu_);  // Allocated on first use.
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_EVENT_HUB_H_
