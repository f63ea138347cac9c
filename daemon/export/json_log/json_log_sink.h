// JsonLogSink: `rustnetd --json-log FILE`, the connection log. JSON Lines,
// one rustnet.v1.ConnectionEvent per line in protobuf's canonical JSON
// mapping (daemon/snapshot/json_writer.h): opened, classified and closed,
// closed with its reason, the final counters, DPI record and process.
// Connections still open at the end (the daemon stops, the replayed file
// ends) are written closed with CLOSE_REASON_SHUTDOWN, so every connection
// has exactly one closed line.
//
// Where events come from, and why capture never waits for the log:
//  - closed: the ConnectionSink interface. OnClosed (a worker) copies the
//    records into a bounded queue and returns; when the queue is full the
//    rest are dropped and counted. Nothing else is done on the worker.
//  - opened and classified: the EventHub (daemon/snapshot/event_hub.h), read
//    on the log's thread as a WatchEvents stream reads it. Workers already
//    produce these events for the API, one lock per batch, into a fixed
//    ring, and never wait for a reader; a reader that falls more than the
//    ring behind loses the oldest, counted (Cursor::lost; the hub's closed
//    events, which the log takes from OnClosed instead, count too). Adding
//    opened/classified calls to ConnectionSink would have meant a second
//    copy of every new connection on the workers for the same result.
//  Per round the thread takes the closed queue first, then reads the hub up
//  to its end: a worker publishes a batch's events before it hands over the
//  batch's closed connections, so a connection's opened line comes before
//  its closed line.
//
// `sequence` counts the events the log took or lost: a gap of N before a
// line means N were lost there, and `lost` is the total lost so far (0, left
// out, while none were).
//
// The file is opened with O_APPEND and created mode 0600 (connection logs
// say who talked to whom), written with write(2) a round at a time (no
// stdio buffer: a line is in the file or still queued). Reopen (SIGHUP,
// after logrotate(8) renamed the file) opens the path again between two
// rounds, so no line is lost or split across the files.
//
// Threads: OnClosed from the workers; OnFinalTable, Flush and the
// destructor from the owning thread; Reopen and stats() from any thread.
// The log has one thread of its own, started by Open and ended by
// OnFinalTable (or the destructor).
#ifndef RUSTNET_DAEMON_EXPORT_JSON_LOG_JSON_LOG_SINK_H_
#define RUSTNET_DAEMON_EXPORT_JSON_LOG_JSON_LOG_SINK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/snapshot/connection_sink.h"
#include "daemon/snapshot/event_hub.h"

namespace rustnet {

struct JsonLogOptions {
  std::string path;
  // The source's name (Connection.interface) for opened and classified
  // events; closed ones use what OnClosed and OnFinalTable are given.
  std::string interface;
  // Which events are written (--json-log-events).
  bool opened = true;
  bool classified = true;
  bool closed = true;
  // Closed connections waiting for the log's thread, at most. Each holds a
  // copy of the connection (~300 bytes, more with its DPI record).
  size_t queue_capacity = 65536;
  // Where opened and classified events come from; needed when either is
  // wanted, not read otherwise. Not owned; must outlive the sink.
  EventHub* events = nullptr;
  // The final table repeats connections already written closed (--dump
  // json --dump-expired keeps removed connections in it): remember the ids
  // written closed and leave those out of the SHUTDOWN lines. Costs a set
  // of every id closed, so only for one-shot replays.
  bool final_table_repeats_closed = false;
};

class JsonLogSink final : public ConnectionSink {
 public:
  // Opens (appending; creating it 0600) the file and starts the thread;
  // subscribes to `options.events` first when opened or classified events
  // are wanted, so the first connection's events are heard.
  static absl::StatusOr<std::unique_ptr<JsonLogSink>> Open(JsonLogOptions options);
  // Ends the thread (writing what is queued) if OnFinalTable did not.
  ~JsonLogSink() override;
  JsonLogSink(const JsonLogSink&) = delete;
  JsonLogSink& operator=(const JsonLogSink&) = delete;

  // Copies into the queue what fits; drops and counts the rest.
  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override;
  // Writes what is queued and the hub's events up to now, ends the thread,
  // then writes every row as closed (CLOSE_REASON_SHUTDOWN, at
  // table.now_us). Called after the pipeline stopped: the hub gets no more.
  void OnFinalTable(const FinalTable& table) override;
  // An error naming the file if a write failed since the last Flush.
  absl::Status Flush() override;

  // Opens the path again (a new file if it was moved away, mode 0600) and
  // writes there from the next round on; on failure keeps the old file.
  absl::Status Reopen();

  struct Stats {
    uint64_t written = 0;  // Lines written.
    // Events lost: the queue was full, the hub's ring overran, or a write
    // failed.
    uint64_t dropped = 0;
  };
  Stats stats() const;
  const std::string& path() const { return options_.path; }

  // One line (no newline) for `event` about `c`, as protobuf prints the
  // ConnectionEvent {sequence, type, time, connection (rates as of
  // time_us; a closed one with closed, closed_at = time_us and
  // close_reason set), close_reason (closed only), lost}.
  static void AppendEventJson(uint64_t sequence, FlowEventType type, CloseReason reason,
                              int64_t time_us, const Connection& c, std::string_view interface,
                              uint64_t lost, std::string* out);

 private:
  struct Pending {
    Connection connection;
    CloseReason reason = CloseReason::kNone;
    int64_t time_us = 0;
  };

  JsonLogSink(JsonLogOptions options, int fd);
  void Run();
  // Ends Run after it wrote what is queued; idempotent.
  void StopThread();
  // Appends one event's line (and its newline) to `out`, numbering it.
  void AddLine(FlowEventType type, CloseReason reason, int64_t time_us, const Connection& c,
               std::string_view interface, std::string* out);
  // Accounts for `n` events lost (sequence and lost move on).
  void NoteLost(uint64_t n);
  // Writes `text` (`lines` lines) to the current file.
  void Write(const std::string& text, uint64_t lines);

  const JsonLogOptions options_;
  bool hub_subscribed_ = false;
  EventHub::Cursor cursor_;  // The log thread's (then the owner's, after join).

  absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  std::string interface_ ABSL_GUARDED_BY(mu_);
  uint64_t queue_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;

  // The log thread's (then the owner's, after join).
  uint64_t sequence_ = 0;
  uint64_t lost_ = 0;
  uint64_t queue_dropped_seen_ = 0;
  uint64_t hub_lost_seen_ = 0;
  absl::flat_hash_set<uint64_t> closed_ids_;  // With final_table_repeats_closed.

  mutable absl::Mutex file_mu_;  // Held while a round is written; Reopen swaps under it.
  int fd_ ABSL_GUARDED_BY(file_mu_);
  int write_errno_ ABSL_GUARDED_BY(file_mu_) = 0;  // The first failed write's, since Flush.

  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_JSON_LOG_JSON_LOG_SINK_H_
