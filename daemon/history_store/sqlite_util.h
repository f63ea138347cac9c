// Small RAII wrappers over the SQLite C API for the history store: a
// connection, a prepared statement, and errors as absl::Status.
//
// Thread-safety: a Db and its statements belong to one thread at a time.
#ifndef RUSTNET_DAEMON_HISTORY_STORE_SQLITE_UTIL_H_
#define RUSTNET_DAEMON_HISTORY_STORE_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rustnet::history {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// "<what>: <sqlite's message> (code N)"; the code is the extended one.
absl::Status SqliteError(sqlite3* db, std::string_view what);

// Opens `path` with `flags` (SQLITE_OPEN_*), extended result codes on and
// a busy timeout of `busy_ms`.
absl::StatusOr<Db> OpenDb(const std::string& path, int flags, int busy_ms);

// Runs `sql` (one or more statements, no results wanted).
absl::Status Exec(sqlite3* db, const char* sql);
absl::StatusOr<Stmt> Prepare(sqlite3* db, std::string_view sql);
// The first column of the first row of `sql`, as an integer (0 if none).
absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql);

// The primary result code of the last error on `db` (SQLITE_FULL, ...).
inline int LastCode(sqlite3* db) { return sqlite3_errcode(db) & 0xff; }

inline std::string_view ColumnText(sqlite3_stmt* s, int col) {
  const unsigned char* p = sqlite3_column_text(s, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s, col))};
}

// Binds '' (not NULL) for an empty view, whatever its data pointer.
inline void BindText(sqlite3_stmt* s, int col, std::string_view text) {
  sqlite3_bind_text(s, col, text.empty() ? "" : text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
}

}  // namespace rustnet::history

#endif  // RUSTNET_DAEMON_HISTORY_STORE_SQLITE_UTIL_H_
