// Queries over the history store: the API's filter language, a time
// window, the API's sort fields, and a page, over one read connection.
//
// The time window and the filter terms SQL can answer exactly (proto:,
// ip:, dir:, state:, the port keys, pid:) run in SQL, with COUNT(*) for the
// total and LIMIT/OFFSET for the page, so a page of a million rows is an
// index walk. Other terms are narrowed in SQL where a LIKE can (never
// excluding a row the filter would keep) and then evaluated on each row
// read back with common/filter.h's matcher, so results are exactly the
// filter's; such a query counts its total by reading every candidate row.
//
// Thread-safety: RunHistoryQuery uses only the connection it is given.
#ifndef RUSTNET_DAEMON_HISTORY_STORE_HISTORY_QUERY_H_
#define RUSTNET_DAEMON_HISTORY_STORE_HISTORY_QUERY_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/history_store/schema.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {

struct HistoryQuery {
  std::string filter;  // The API's filter language; empty matches all.
  // Connections alive at some time in [since, until): closed at or after
  // `since_us` and first seen before `until_us` (µs since the epoch; 0 no
  // bound).
  int64_t since_us = 0;
  int64_t until_us = 0;
  // The API's sort fields. Unspecified: closed_at (the history's natural
  // order). Rates are not kept: RATE_IN/OUT/TOTAL sort by the bytes in/out/
  // total. Addresses sort as text (then port). Ties: insertion order.
  rustnet::v1::SortField sort = rustnet::v1::SORT_FIELD_UNSPECIFIED;
  bool descending = false;
  uint32_t offset = 0;
  uint32_t limit = 0;  // 0: no limit.
};

struct HistoryPage {
  std::vector<history::StoredRow> rows;  // The page, in order.
  uint64_t total = 0;                    // All rows that match (window and filter).
};

// InvalidArgument ("bad filter: column 3: ...") for a bad filter or sort
// field; Unavailable with SQLite's message when reading fails.
absl::StatusOr<HistoryPage> RunHistoryQuery(sqlite3* db, const HistoryQuery& query);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_HISTORY_STORE_HISTORY_QUERY_H_
