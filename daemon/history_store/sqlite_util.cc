#include "daemon/history_store/sqlite_util.h"

#include "absl/strings/str_cat.h"

namespace rustnet::history {

absl::Status SqliteError(sqlite3* db, std::string_view what) {
  const int code = db == nullptr ? SQLITE_NOMEM : sqlite3_extended_errcode(db);
  const char* message = db == nullptr ? "out of memory" : sqlite3_errmsg(db);
  return absl::UnavailableError(absl::StrCat(std::string(what), ": ", message, " (code ", code, ")"));
}

absl::StatusOr<Db> OpenDb(const std::string& path, int flags, int busy_ms) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, absl::StrCat("cannot open ", path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_ms);
  return db;
}

absl::Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  return absl::OkStatus();
}

absl::StatusOr<Stmt> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  return Stmt(raw);
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql) {
  absl::StatusOr<Stmt> s = Prepare(db, sql);
  if (!s.ok()) return s.status();
  const int rc = sqlite3_step(s->get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(s->get(), 0);
  if (rc == SQLITE_DONE) return 0;
  return SqliteError(db, sql);
}

}  // namespace rustnet::history
