// HistoryStore: every closed connection, kept in a SQLite file for later
// queries (README.md, "History store", documents the schema).
//
// A ConnectionSink. Workers hand closed connections to OnClosed, which
// copies them into a bounded queue and returns: it never waits for the
// disk. A full queue drops the rows and counts them (stats().rows_dropped).
// One writer thread of the store's own drains the queue in batches (up to
// batch_rows rows, or what came in batch_interval) of one transaction each
// through a prepared INSERT, in WAL mode with synchronous=NORMAL.
//
// What a crash loses: the rows not yet committed, i.e. those closed within
// the last batch_interval (1 s; at most one batch of 1,000 rows, plus what
// was still queued if the writer was behind). A killed daemon loses nothing
// committed (WAL + synchronous=NORMAL: commits are in the OS's cache); a
// power loss or kernel crash may also lose the commits since the last WAL
// checkpoint, but never leaves the file inconsistent.
//
// Retention runs on the writer thread: rows closed longer than max_age
// ago are deleted every retention_interval; the database (page_count ×
// page_size) is kept under max_bytes by deleting the oldest rows in chunks
// whenever a batch brings it near the limit (auto_vacuum=INCREMENTAL gives
// the pages back). The WAL beside it adds at most 4 MiB.
//
// Faults (disk full, the file deleted or replaced, I/O errors, a read-only
// directory): the first failure is logged once and shown in stats()
// (healthy false, last_error); rows meanwhile are dropped and counted;
// the writer retries with backoff (retry_min doubling to retry_max): a
// deleted file is created afresh, one that is no longer a SQLite database
// is moved aside as PATH.corrupt-YYYYmmddTHHMMSS and a fresh one started.
// Recovery is logged once too. Open() fails only for mistakes retrying
// cannot fix (no path, a directory, a missing parent directory, a file of a
// newer schema); a store that cannot be opened for any other reason starts
// degraded and keeps retrying, so capture and the API go on.
//
// Threads: OnClosed from any number of workers; OnFinalTable and Flush from
// the owning thread; stats() and Query from any thread (Query opens its own
// read connection: readers never block the writer).
#ifndef RUSTNET_DAEMON_HISTORY_STORE_HISTORY_STORE_H_
#define RUSTNET_DAEMON_HISTORY_STORE_HISTORY_STORE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/snapshot/connection_sink.h"
#include "daemon/history_store/history_query.h"
#include "daemon/history_store/sqlite_util.h"

namespace rustnet {

struct HistoryStoreOptions {
  std::string path;                       // The database file.
  int64_t max_age_us = 30LL * 86'400'000'000;  // 0: keep rows of any age.
  uint64_t max_bytes = 2ULL << 30;        // 0: no size limit.
  size_t queue_rows = 65'536;             // Rows waiting for the writer, at most.
  // Replaying a file (--read): OnClosed waits for room in the queue like
  // OnFinalTable (the workers, and so the file's reading, slow down to the
  // writer's pace) instead of dropping; only a writer that makes no
  // progress for 10 s has rows dropped. Live capture never waits.
  bool wait_for_room = false;
  size_t batch_rows = 1'000;              // Rows per transaction, at most.
  absl::Duration batch_interval = absl::Seconds(1);
  absl::Duration retention_interval = absl::Seconds(5);
  absl::Duration retry_min = absl::Seconds(1);
  absl::Duration retry_max = absl::Seconds(60);
  int busy_timeout_ms = 5'000;  // Waiting for another process's lock on the file.
};

struct HistoryStoreStats {
  uint64_t rows_written = 0;
  uint64_t rows_dropped = 0;   // Queue full, or the store could not write them.
  uint64_t rows_expired = 0;   // Deleted by retention (age or size).
  uint64_t batches = 0;        // Transactions committed.
  uint64_t reopens = 0;        // Times the file was opened again after a fault.
  uint64_t queued = 0;         // Rows waiting now.
  uint64_t db_bytes = 0;       // The file and its WAL on disk.
  bool healthy = false;        // The last attempt to write succeeded.
  std::string last_error;      // The latest failure, one sentence; empty if none.
};

class HistoryStore final : public ConnectionSink {
 public:
  // Opens (or creates) the store at options.path and starts its writer.
  static absl::StatusOr<std::unique_ptr<HistoryStore>> Open(HistoryStoreOptions options);
  // Writes what is queued, then stops the writer.
  ~HistoryStore() override;

  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override;
  // The connections still open, stored as closed at table.now_us with the
  // reason "shutdown" (6).
  void OnFinalTable(const FinalTable& table) override;
  // Waits until every row handed in so far is written or dropped. An error
  // when the store is not healthy (its last_error).
  absl::Status Flush() override;

  HistoryStoreStats stats() const;
  // A page of stored connections (see history_query.h), read on a
  // connection of its own.
  absl::StatusOr<HistoryPage> Query(const HistoryQuery& query) const;

  const std::string& path() const { return options_.path; }

 private:
  struct Pending {
    Connection connection;
    int reason = 0;
    int64_t closed_at_us = 0;
    std::shared_ptr<const std::string> interface;
  };

  explicit HistoryStore(HistoryStoreOptions options);
  void Enqueue(const Connection& c, int reason, int64_t closed_at_us, std::string_view interface)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits up to 10 s for room in the queue; how many of `want` rows to
  // enqueue now (all of them when no room came: Enqueue drops them).
  size_t WaitForRoom(size_t want) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();

  // Writer thread only.
  absl::Status OpenDatabase();
  void CloseDatabase();
  bool FileChanged();
  absl::Status WriteBatch(const std::deque<Pending>& batch);
  absl::Status EnforceRetention(bool age_due);
  void Fail(const absl::Status& status);
  void Succeeded();
  void EnsureOpen();
  uint64_t DiskBytes() const;

  const HistoryStoreOptions options_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::string> interface_ ABSL_GUARDED_BY(mu_);
  uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;  // Rows queued, ever.
  uint64_t handled_ ABSL_GUARDED_BY(mu_) = 0;   // Of those, written or dropped.
  int flush_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  HistoryStoreStats stats_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> queue_drops_{0};

  // Writer thread only.
  history::Db db_;
  history::Stmt insert_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool healthy_ = false;
  bool ever_failed_ = false;
  absl::Time next_retry_ = absl::InfinitePast();
  absl::Duration retry_delay_;
  absl::Time next_age_check_ = absl::InfinitePast();
  int64_t last_batch_bytes_ = 0;

  std::thread writer_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_HISTORY_STORE_HISTORY_STORE_H_
