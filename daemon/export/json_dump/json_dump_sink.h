// JsonDumpSink: `rustnetd --read FILE --dump json`. The final table as JSON
// Lines, one rustnet.v1.Connection per line in protobuf's canonical JSON
// mapping (daemon/snapshot/json_writer.h), oldest connection first.
//
// Formatting is most of the work, so `threads` threads format at once (the
// pipeline's capture and worker threads are idle by then: the dump uses no
// more cores than the replay did), a block of rows each per round, and the
// rounds are written in order. Output memory stays at one block per thread
// however big the table.
//
// Threads: the owning thread calls it (see connection_sink.h); OnFinalTable
// starts and joins its helper threads inside the call.
#ifndef RUSTNET_DAEMON_EXPORT_JSON_DUMP_JSON_DUMP_SINK_H_
#define RUSTNET_DAEMON_EXPORT_JSON_DUMP_JSON_DUMP_SINK_H_

#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "daemon/snapshot/connection_sink.h"

namespace rustnet {

class JsonDumpSink final : public ConnectionSink {
 public:
  // About 2 MB of JSON.
  static constexpr size_t kBlockRows = 2048;

  // Writes to `out` (not owned: stdout for --dump json; `name` says what it
  // is in errors) with up to `threads` formatting threads (0 counts as 1).
  JsonDumpSink(std::FILE* out, std::string name, size_t threads,
               size_t block_rows = kBlockRows);

  // Nothing: the dump is of the final table. (With --dump-expired the
  // pipeline keeps removed connections, and they come in the final table.)
  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override;
  void OnFinalTable(const FinalTable& table) override;
  // Flushes `out`; an error if any write failed.
  absl::Status Flush() override;

 private:
  void NoteWriteError();

  std::FILE* out_;
  std::string name_;
  size_t threads_;
  size_t block_rows_;
  int write_errno_ = 0;  // The first failed write's errno; 0 while none failed.
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_JSON_DUMP_JSON_DUMP_SINK_H_
