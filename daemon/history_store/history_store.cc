#include "daemon/history_store/history_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/history_store/schema.h"
#include "daemon/snapshot/convert.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

using history::Db;
using history::Exec;
using history::QueryInt;
using history::SqliteError;
using history::Stmt;

constexpr char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with its NUL.
constexpr int kAgeChunkRows = 5'000;
constexpr int64_t kWalLimitBytes = 4 << 20;

int64_t WallMicros() { return absl::ToUnixMicros(absl::Now()); }

// True if `path` exists, is not empty, and does not start with SQLite's
// header: not a database, whatever SQLite would make of it.
bool IsGarbage(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char header[16] = {};
  const ssize_t n = ::pread(fd, header, sizeof(header), 0);
  ::close(fd);
  if (n <= 0) return false;
  return n < static_cast<ssize_t>(sizeof(header)) ||
         std::memcmp(header, kSqliteMagic, sizeof(kSqliteMagic)) != 0;
}

bool IsCorruptCode(int code) { return code == SQLITE_NOTADB || code == SQLITE_CORRUPT; }

void RemoveSidecars(const std::string& path) {
  ::unlink((path + "-wal").c_str());
  ::unlink((path + "-shm").c_str());
}

// Moves a file that is not a database aside; its WAL and shared memory
// belong to nothing any more.
std::string MoveAside(const std::string& path) {
  const std::string aside = absl::StrCat(
      path, ".corrupt-", absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()));
  if (::rename(path.c_str(), aside.c_str()) != 0) ::unlink(path.c_str());
  RemoveSidecars(path);
  return aside;
}

absl::Status CheckPath(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("the history database needs a path (--history-db PATH)");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--history-db ", path, " is a directory; give a file name inside it"));
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the directory of --history-db ", path, " (", dir, ") does not exist; create it first"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HistoryStore>> HistoryStore::Open(HistoryStoreOptions options) {
  if (absl::Status s = CheckPath(options.path); !s.ok()) return s;
  if (options.batch_rows == 0) options.batch_rows = 1;
  if (options.queue_rows == 0) options.queue_rows = 1;
  std::unique_ptr<HistoryStore> store(new HistoryStore(std::move(options)));
  // The first open on the calling thread: a file of a newer schema is a
  // mistake to report now; anything else leaves the store degraded.
  absl::Status first = store->OpenDatabase();
  if (absl::IsFailedPrecondition(first)) return first;
  if (first.ok()) {
    store->Succeeded();
  } else {
    store->Fail(first);
  }
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

HistoryStore::HistoryStore(HistoryStoreOptions options)
    : options_(std::move(options)), retry_delay_(options_.retry_min) {}

HistoryStore::~HistoryStore() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (writer_.joinable()) writer_.join();
  CloseDatabase();
}

void HistoryStore::Enqueue(const Connection& c, int reason, int64_t closed_at_us,
                           std::string_view interface) {
  if (queue_.size() >= options_.queue_rows) {
    queue_drops_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (interface_ == nullptr || *interface_ != interface) {
    interface_ = std::make_shared<const std::string>(interface);
  }
  queue_.push_back(Pending{c, reason, closed_at_us, interface_});
  ++accepted_;
}

void HistoryStore::OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) {
  if (closed.empty()) return;
  if (options_.wait_for_room) {
    size_t i = 0;
    while (i < closed.size()) {
      absl::MutexLock lock(&mu_);
      const size_t take = WaitForRoom(closed.size() - i);
      for (size_t n = 0; n < take; ++n, ++i) {
        Enqueue(*closed[i].connection, static_cast<int>(closed[i].reason), closed[i].time_us,
                interface);
      }
    }
    return;
  }
  // Held only to append (the writer holds it only to take a batch).
  absl::MutexLock lock(&mu_);
  for (const ClosedConnection& row : closed) {
    Enqueue(*row.connection, static_cast<int>(row.reason), row.time_us, interface);
  }
}

size_t HistoryStore::WaitForRoom(size_t want) {
  const bool room = mu_.AwaitWithTimeout(
      absl::Condition(
          +[](HistoryStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return s->queue_.size() < s->options_.queue_rows;
          },
          this),
      absl::Seconds(10));
  // No room after 10 s: the writer is stuck; Enqueue drops (and counts).
  return room ? std::min(want, options_.queue_rows - queue_.size()) : want;
}

void HistoryStore::OnFinalTable(const FinalTable& table) {
  // Not a worker: a table larger than the queue waits for room, so only a
  // writer that makes no progress for 10 s has the rest dropped (counted).
  size_t i = 0;
  while (i < table.rows.size()) {
    absl::MutexLock lock(&mu_);
    const size_t take = WaitForRoom(table.rows.size() - i);
    for (size_t n = 0; n < take; ++n, ++i) {
      Enqueue(*table.rows[i], history::kCloseReasonShutdown, table.now_us, table.interface);
    }
  }
}

absl::Status HistoryStore::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = accepted_;
  ++flush_waiters_;
  std::pair<HistoryStore*, uint64_t> arg(this, target);
  mu_.Await(absl::Condition(
      +[](std::pair<HistoryStore*, uint64_t>* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return a->first->handled_ >= a->second || a->first->stop_;
      },
      &arg));
  --flush_waiters_;
  if (stats_.healthy) return absl::OkStatus();
  return absl::UnavailableError(stats_.last_error);
}

HistoryStoreStats HistoryStore::stats() const {
  absl::MutexLock lock(&mu_);
  HistoryStoreStats s = stats_;
  s.rows_dropped += queue_drops_.load(std::memory_order_relaxed);
  s.queued = queue_.size();
  return s;
}

absl::StatusOr<HistoryPage> HistoryStore::Query(const HistoryQuery& query) const {
  absl::StatusOr<Db> db = history::OpenDb(options_.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                          options_.busy_timeout_ms);
  if (!db.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the history database is unavailable: ", db.status().message()));
  }
  return RunHistoryQuery(db->get(), query);
}

absl::Status HistoryStore::OpenDatabase() {
  const std::string& path = options_.path;
  if (IsGarbage(path)) {
    const std::string aside = MoveAside(path);
    spdlog::warn("history: {} was not a SQLite database; moved it to {} and started a new one",
                 path, aside);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<Db> db = history::OpenDb(
        path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        options_.busy_timeout_ms);
    if (!db.ok()) return db.status();
    sqlite3* raw = db->get();
    // auto_vacuum takes effect only before the first table: new files.
    absl::Status s = Exec(raw,
                          "PRAGMA auto_vacuum = INCREMENTAL;"
                          "PRAGMA journal_mode = WAL;"
                          "PRAGMA synchronous = NORMAL;"
                          // 32 MiB of page cache: five indexes, one of them
                          // (remote_addr) written in random order.
                          "PRAGMA cache_size = -32768;");
    if (s.ok()) {
      s = Exec(raw, absl::StrCat("PRAGMA journal_size_limit = ", kWalLimitBytes).c_str());
    }
    if (s.ok()) s = history::Migrate(raw);
    if (s.ok()) {
      absl::StatusOr<Stmt> insert = history::Prepare(raw, history::InsertSql());
      if (!insert.ok()) {
        s = insert.status();
      } else {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
          s = absl::UnavailableError(absl::StrCat("cannot stat ", path, ": ", std::strerror(errno)));
        } else {
          insert_ = std::move(*insert);
          db_ = std::move(*db);
          dev_ = st.st_dev;
          ino_ = st.st_ino;
          return absl::OkStatus();
        }
      }
    }
    if (absl::IsFailedPrecondition(s) || attempt == 1 || !IsCorruptCode(history::LastCode(raw))) {
      return s;
    }
    db->reset();
    const std::string aside = MoveAside(path);
    spdlog::warn("history: {} is damaged ({}); moved it to {} and started a new one", path,
                 std::string(s.message()), aside);
  }
  return absl::InternalError("unreachable");
}

void HistoryStore::CloseDatabase() {
  insert_.reset();
  db_.reset();
}

// The file at the path is no longer the one open: deleted, replaced by
// another, or overwritten with something that is not a database.
bool HistoryStore::FileChanged() {
  struct stat st {};
  if (::stat(options_.path.c_str(), &st) != 0) return true;
  if (st.st_dev != dev_ || st.st_ino != ino_) return true;
  return IsGarbage(options_.path);
}

void HistoryStore::Fail(const absl::Status& status) {
  const std::string message = absl::StrCat("history store ", options_.path, ": ", status.message());
  if (healthy_ || !ever_failed_) {
    spdlog::error("{}; connections are not recorded until it recovers (retrying)", message);
  }
  healthy_ = false;
  ever_failed_ = true;
  next_retry_ = absl::Now() + retry_delay_;
  retry_delay_ = std::min(retry_delay_ * 2, options_.retry_max);
  CloseDatabase();
  absl::MutexLock lock(&mu_);
  stats_.healthy = false;
  stats_.last_error = message;
}

void HistoryStore::Succeeded() {
  if (!healthy_ && ever_failed_) spdlog::info("history store {}: recovered", options_.path);
  healthy_ = true;
  retry_delay_ = options_.retry_min;
  absl::MutexLock lock(&mu_);
  stats_.healthy = true;
}

void HistoryStore::EnsureOpen() {
  if (db_ != nullptr && FileChanged()) {
    const bool gone = ::access(options_.path.c_str(), F_OK) != 0;
    // The WAL belongs to the file that went: closing must not checkpoint
    // it into whatever is at the path now, nor may the next open replay it.
    sqlite3_db_config(db_.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    CloseDatabase();
    RemoveSidecars(options_.path);
    Fail(absl::DataLossError(gone ? "the database file was deleted; starting a new one"
                                  : "the database file was replaced; starting a new one"));
    next_retry_ = absl::InfinitePast();  // Reopen now, not after a backoff.
  }
  if (db_ != nullptr || absl::Now() < next_retry_) return;
  if (absl::Status s = OpenDatabase(); !s.ok()) {
    Fail(s);
    return;
  }
  // Healthy again once a batch is written (a full disk opens fine).
  absl::MutexLock lock(&mu_);
  ++stats_.reopens;
}

absl::Status HistoryStore::WriteBatch(const std::deque<Pending>& batch) {
  sqlite3* db = db_.get();
  if (absl::Status s = Exec(db, "BEGIN"); !s.ok()) return s;
  rustnet::v1::Connection message;
  for (const Pending& p : batch) {
    ToProto(p.connection, p.closed_at_us, *p.interface, &message);
    sqlite3_stmt* insert = insert_.get();
    history::BindRow(insert, message, p.closed_at_us, p.reason,
                     p.connection.dns_name ? std::string_view(*p.connection.dns_name)
                                           : std::string_view());
    const int rc = sqlite3_step(insert);
    sqlite3_reset(insert);
    if (rc != SQLITE_DONE) {
      absl::Status s = SqliteError(db, "cannot write to the database");
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    absl::Status s = SqliteError(db, "cannot commit to the database");
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  return absl::OkStatus();
}

absl::Status HistoryStore::EnforceRetention(bool age_due) {
  sqlite3* db = db_.get();
  uint64_t expired = 0;
  if (age_due && options_.max_age_us > 0) {
    absl::StatusOr<Stmt> del = history::Prepare(
        db, absl::StrCat("DELETE FROM connections WHERE rowid IN (SELECT rowid FROM connections "
                         "WHERE closed_at < ?1 LIMIT ",
                         kAgeChunkRows, ")"));
    if (!del.ok()) return del.status();
    const int64_t cutoff = WallMicros() - options_.max_age_us;
    for (;;) {
      sqlite3_bind_int64(del->get(), 1, cutoff);
      const int rc = sqlite3_step(del->get());
      sqlite3_reset(del->get());
      if (rc != SQLITE_DONE) return SqliteError(db, "cannot delete expired rows");
      const int changed = sqlite3_changes(db);
      expired += static_cast<uint64_t>(changed);
      if (changed < kAgeChunkRows) break;
    }
  }
  if (options_.max_bytes > 0) {
    absl::StatusOr<int64_t> page_size = QueryInt(db, "PRAGMA page_size");
    if (!page_size.ok()) return page_size.status();
    const auto limit = static_cast<int64_t>(options_.max_bytes);
    // Room for the next batch (as big as the last one) under the limit;
    // trimming goes down to three quarters so it does not run every batch.
    const int64_t high = std::max<int64_t>(limit - last_batch_bytes_ - *page_size * 8, 0);
    const int64_t low = std::min(limit / 4 * 3, high);
    bool trimmed = false;
    for (int round = 0; round < 64; ++round) {
      absl::StatusOr<int64_t> pages = QueryInt(db, "PRAGMA page_count");
      absl::StatusOr<int64_t> free_pages = QueryInt(db, "PRAGMA freelist_count");
      if (!pages.ok()) return pages.status();
      if (!free_pages.ok()) return free_pages.status();
      const int64_t used = (*pages - *free_pages) * *page_size;
      if (used <= (trimmed ? low : high)) break;
      absl::StatusOr<int64_t> rows = QueryInt(db, "SELECT count(*) FROM connections");
      if (!rows.ok()) return rows.status();
      if (*rows == 0) break;
      // The share of rows over `low`, and at least a few pages' worth.
      const int64_t chunk =
          std::max<int64_t>(*rows * (used - low) / std::max<int64_t>(used, 1) + 1, 64);
      const std::string sql = absl::StrCat(
          "DELETE FROM connections WHERE rowid IN (SELECT rowid FROM connections "
          "ORDER BY closed_at LIMIT ",
          chunk, ")");
      if (absl::Status s = Exec(db, sql.c_str()); !s.ok()) return s;
      expired += static_cast<uint64_t>(sqlite3_changes(db));
      trimmed = true;
    }
    if (trimmed || expired > 0) {
      if (absl::Status s = Exec(db, "PRAGMA incremental_vacuum"); !s.ok()) return s;
      // Give the pages back to the file system now (WAL: at checkpoint).
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    }
  } else if (expired > 0) {
    if (absl::Status s = Exec(db, "PRAGMA incremental_vacuum"); !s.ok()) return s;
  }
  if (expired > 0) {
    absl::MutexLock lock(&mu_);
    stats_.rows_expired += expired;
  }
  return absl::OkStatus();
}

uint64_t HistoryStore::DiskBytes() const {
  uint64_t total = 0;
  for (const std::string& p : {options_.path, options_.path + "-wal"}) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

void HistoryStore::WriterLoop() {
  for (;;) {
    std::deque<Pending> batch;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](HistoryStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                                 return s->stop_ || s->queue_.size() >= s->options_.batch_rows ||
                                        (s->flush_waiters_ > 0 && !s->queue_.empty());
                               },
                               this),
                           options_.batch_interval);
      const size_t take = std::min(queue_.size(), options_.batch_rows);
      for (size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stop_ && queue_.empty();
      // Rows someone waits for (a Flush, the final table at shutdown) are
      // worth one attempt now, whatever the backoff says: the disk may have
      // room again, and they are the last chance for these rows.
      if (!batch.empty() && (flush_waiters_ > 0 || stop_)) next_retry_ = absl::InfinitePast();
    }
    EnsureOpen();
    uint64_t written = 0;
    uint64_t dropped = 0;
    if (!batch.empty()) {
      if (db_ == nullptr) {
        dropped = batch.size();
      } else {
        absl::StatusOr<int64_t> before = QueryInt(db_.get(), "PRAGMA page_count");
        absl::Status s = WriteBatch(batch);
        if (s.ok()) {
          written = batch.size();
          absl::StatusOr<int64_t> after = QueryInt(db_.get(), "PRAGMA page_count");
          absl::StatusOr<int64_t> page_size = QueryInt(db_.get(), "PRAGMA page_size");
          if (before.ok() && after.ok() && page_size.ok()) {
            last_batch_bytes_ =
                std::max(last_batch_bytes_ * 3 / 4, (*after - *before) * *page_size);
          }
          Succeeded();
        } else {
          dropped = batch.size();
          Fail(s);
        }
      }
    }
    if (db_ != nullptr) {
      const bool age_due = absl::Now() >= next_age_check_;
      if (age_due) next_age_check_ = absl::Now() + options_.retention_interval;
      if (written > 0 || age_due) {
        if (absl::Status s = EnforceRetention(age_due); !s.ok()) Fail(s);
      }
    }
    {
      absl::MutexLock lock(&mu_);
      stats_.rows_written += written;
      stats_.rows_dropped += dropped;
      if (written > 0) ++stats_.batches;
      stats_.db_bytes = DiskBytes();
      handled_ += batch.size();
    }
    if (stopping) return;
  }
}

}  // namespace rustnet
