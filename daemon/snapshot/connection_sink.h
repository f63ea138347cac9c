// ConnectionSink: one way connection records leave the daemon. The
// `--dump json` writer is the first (daemon/export/json_dump/), the API's
// in-memory history of closed connections (daemon/snapshot/closed_history.h)
// the second; a history store (SQLite), a JSON connection log and IPFIX
// export are to follow, each in its own folder under daemon/export/, all
// behind this one interface. It lives here, below the pipeline in the stage
// order, because the pipeline's workers call OnClosed: a sink registers by
// being listed in PipelineOptions::sinks (daemon/pipeline/pipeline.h).
//
// A sink hears of these things:
//  - OnClosed: connections that left the table (FIN, RST, idle timeout,
//    evicted at the table's limit, replaced by a reused 5-tuple), each as it
//    was when it left, with why;
//  - OnFinalTable: the whole table as it stands at the end: a replayed file
//    ended, or the daemon shuts down;
//  - Flush: write out what is buffered, and say whether writing failed;
//  - OnSnapshot (optional): each table snapshot a worker publishes, for a
//    sink that follows the live table (IPFIX's active timeout).
//
// Records are the tracked Connection (daemon/track/connection.h), not the
// rustnet.v1 message: converting costs twice what writing JSON does, so
// sinks that write their own format read the fields directly; one that wants
// the message calls ToProto (daemon/snapshot/convert.h) with the `now_us`
// and `interface` it is given. Pointers and spans are valid during the call
// only: a sink copies what it keeps.
//
// Threads:
//  - OnFinalTable and Flush: the thread that owns the pipeline (rustnetd's
//    main thread), after Pipeline::Join(): the tables no longer change, so
//    the rows are the workers' own, read in place. A sink may use more
//    threads of its own inside the call (the JSON dump formats on several).
//  - OnClosed: a worker thread, with the connections it removed while
//    processing one batch; several workers may call at once. It must not
//    block or take long (no wait on the packet path): a sink that writes to
//    disk or the network copies the records into its own bounded queue,
//    drained by its own thread, and counts what it drops when the queue is
//    full. The pipeline collects removals only while PipelineOptions::sinks
//    is not empty, and hands them over after each batch and expiry sweep
//    (or mid-batch, 4,096 at a time, when a sweep removes more).
#ifndef RUSTNET_DAEMON_SNAPSHOT_CONNECTION_SINK_H_
#define RUSTNET_DAEMON_SNAPSHOT_CONNECTION_SINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "daemon/snapshot/event_hub.h"
#include "daemon/track/connection.h"

namespace rustnet {

// A connection that left the table.
struct ClosedConnection {
  const Connection* connection = nullptr;  // As it was when it left; never null.
  // kFin, kReset, kTimeout, kEvicted or kReplaced. A TCP connection the
  // table had already seen close (TIME_WAIT or CLOSED: FINs or a RST) keeps
  // kFin or kReset however it left afterwards (usually its short timeout).
  CloseReason reason = CloseReason::kNone;
  int64_t time_us = 0;  // When it left, on the worker's (packet) clock: rates as of then.
};

// The table at the end of a capture or at shutdown.
struct FinalTable {
  // Every connection once, oldest first: by first_seen_us, then id (see
  // SortOldestFirst). With --dump-expired, also those removed before the end.
  std::span<const Connection* const> rows;
  int64_t now_us = 0;           // The capture's clock at the end: rates as of then.
  std::string_view interface;   // The source's name: the interface, or the file read.
};

struct WorkerSnapshot;  // daemon/snapshot/snapshot_store.h

class ConnectionSink {
 public:
  virtual ~ConnectionSink() = default;

  // Connections that left the table, in the order they left (per worker).
  // `interface` as in FinalTable. On a worker thread: must not block.
  virtual void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) = 0;
  // The final table; called at most once, on the owning thread.
  virtual void OnFinalTable(const FinalTable& table) = 0;
  // Writes out what is buffered. An error says what could not be written
  // where, in one sentence (the caller reports it and exits non-zero).
  virtual absl::Status Flush() = 0;
  // A worker published `snapshot` of its table (PipelineOptions::
  // publish_snapshots), after it handed over the connections it removed
  // before: a sink that wants the live table (IPFIX's active timeout)
  // keeps the pointer and reads it on its own thread. On the worker: must
  // not block. Most sinks ignore it.
  virtual void OnSnapshot(size_t /*worker*/,
                          const std::shared_ptr<const WorkerSnapshot>& /*snapshot*/) {}
};

// Orders rows as FinalTable wants them: first seen, then id.
void SortOldestFirst(std::vector<const Connection*>* rows);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_CONNECTION_SINK_H_
