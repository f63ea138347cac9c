#include "daemon/history_store/history_query.h"

#include <arpa/inet.h>

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/filter.h"
#include "common/services.h"
#include "daemon/history_store/sqlite_util.h"

namespace rustnet {
namespace {

using history::Column;
using history::ColumnText;

IpAddress ParseAddress(std::string_view text) {
  IpAddress a;
  const std::string s(text);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return IpAddress::FromV4(buf);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return IpAddress::FromV6(buf);
  return a;
}

// FilterSubject over the current row of a statement that selects
// ColumnList(): the same answers ConnectionSubject (daemon/rpc/query.h)
// gives for the connection the row was written from.
class RowSubject final : public FilterSubject {
 public:
  explicit RowSubject(sqlite3_stmt* s) : s_(s) {}
  std::string_view Protocol() const override { return Text(history::kColProtocol); }
  int IpVersion() const override {
    return static_cast<int>(sqlite3_column_int64(s_, history::kColIpVersion));
  }
  const IpAddress& Address(int side) const override {
    auto& a = address_[side];
    if (!a) {
      a = ParseAddress(Text(side == 0 ? history::kColLocalAddr : history::kColRemoteAddr));
    }
    return *a;
  }
  uint16_t Port(int side) const override {
    return static_cast<uint16_t>(
        sqlite3_column_int64(s_, side == 0 ? history::kColLocalPort : history::kColRemotePort));
  }
  std::string_view State() const override { return Text(history::kColState); }
  std::string_view Direction() const override { return Text(history::kColDirection); }
  std::string_view Service() const override { return Text(history::kColService); }
  std::string_view App() const override { return Text(history::kColApp); }
  std::string_view Sni() const override { return Text(history::kColTlsSni); }
  std::string_view Hosts() const override {
    if (!hosts_) {
      hosts_.emplace();
      hosts_->assign(Text(history::kColDnsCacheName));
      for (Column c : {history::kColTlsSni, history::kColHttpHost, history::kColDnsQuery,
                       history::kColDhcpHostname}) {
        const std::string_view h = Text(c);
        if (h.empty()) continue;
        if (!hosts_->empty()) *hosts_ += ' ';
        hosts_->append(h);
      }
    }
    return *hosts_;
  }
  std::string_view Process() const override {
    return Join(history::kColProcessName, history::kColRemoteProcessName, &process_);
  }
  uint32_t Pid(int side) const override {
    return static_cast<uint32_t>(
        sqlite3_column_int64(s_, side == 0 ? history::kColPid : history::kColRemotePid));
  }
  std::string_view User() const override {
    return Join(history::kColUser, history::kColRemoteUser, &user_);
  }
  std::string_view Interface() const override { return Text(history::kColInterface); }
  // The store keeps container ids, not pod or container names.
  std::string_view Container() const override { return Text(history::kColContainerId); }

 private:
  std::string_view Text(Column c) const { return ColumnText(s_, c); }
  std::string_view Join(Column a, Column b, std::optional<std::string>* out) const {
    if (!*out) {
      out->emplace(Text(a));
      const std::string_view second = Text(b);
      if (!second.empty()) {
        if (!(*out)->empty()) (*out)->push_back(' ');
        (*out)->append(second);
      }
    }
    return **out;
  }

  sqlite3_stmt* s_;
  mutable std::optional<IpAddress> address_[2];
  mutable std::optional<std::string> hosts_;
  mutable std::optional<std::string> process_;
  mutable std::optional<std::string> user_;
};

// One bound parameter: a number or a text. (Not a std::variant: GCC 12 at
// -O3 reports a false -Wmaybe-uninitialized inside a variant's string.)
struct SqlParam {
  SqlParam() = default;
  SqlParam(int64_t n) : number(n) {}  // NOLINT(google-explicit-constructor)
  SqlParam(std::string t) : is_text(true), text(std::move(t)) {}  // NOLINT
  bool is_text = false;
  int64_t number = 0;
  std::string text;
};

// A WHERE clause with its parameters (bound in order).
struct Where {
  std::string sql;
  std::vector<SqlParam> params;
  bool exact = true;  // False: rows must still be matched against the filter.

  void Add(std::string clause) {
    absl::StrAppend(&sql, sql.empty() ? " WHERE " : " AND ", clause);
  }
};

std::string LikePattern(std::string_view needle) {
  std::string p = "%";
  for (char ch : needle) {
    if (ch == '%' || ch == '_' || ch == '\\') p.push_back('\\');
    p.push_back(ch);
  }
  p.push_back('%');
  return p;
}

std::string PortClause(const std::string& column, size_t low, size_t high) {
  return absl::StrCat("(", column, " != 0 AND ", column, " BETWEEN ?", low, " AND ?", high, ")");
}

// SQL for one term: the clause, and whether it is exactly the term (else a
// superset, usable only when not negated). nullopt: none.
std::optional<std::pair<std::string, bool>> TermSql(const FilterTerm& t, Where* w) {
  auto param = [w](SqlParam v) {
    w->params.push_back(std::move(v));
    return w->params.size();
  };
  auto range = [&](const std::string& column) {
    const size_t lo = param(int64_t{t.low});
    const size_t hi = param(int64_t{t.high});
    return PortClause(column, lo, hi);
  };
  auto like = [&](const std::string& expression) {
    return absl::StrCat(expression, " LIKE ?", param(LikePattern(t.text)), " ESCAPE '\\'");
  };
  // A /regex/ has no SQL form: the rows are matched in C++ (RowSubject).
  if (t.regex) return std::nullopt;
  switch (t.key) {
    case FilterKey::kProto:
      return std::pair{absl::StrCat("protocol = ?", param(t.text)), true};
    case FilterKey::kIp: {
      const size_t lo = param(int64_t{t.low});
      const size_t hi = param(int64_t{t.high});
      return std::pair{absl::StrCat("ip_version BETWEEN ?", lo, " AND ?", hi), true};
    }
    case FilterKey::kDir:
      return std::pair{absl::StrCat("direction = ?", param(t.text)), true};
    case FilterKey::kState:
      // The original's "udp_active" also asks for a protocol or an
      // application: the state alone is a superset.
      return std::pair{absl::StrCat("substr(state, 1, ", t.text.size(), ") = ?", param(t.text)),
                       t.also_proto.empty() && t.also_app.empty()};
    case FilterKey::kLocalPort:
      return std::pair{range("local_port"), true};
    case FilterKey::kRemotePort:
      return std::pair{range("remote_port"), true};
    case FilterKey::kPort:
      return std::pair{absl::StrCat("(", range("local_port"), " OR ", range("remote_port"), ")"),
                       true};
    case FilterKey::kPid:
      return std::pair{
          absl::StrCat("(", range("ifnull(pid, 0)"), " OR ", range("ifnull(remote_pid, 0)"), ")"),
          true};
    case FilterKey::kApp:
      return std::pair{like("ifnull(app, '')"), false};
    case FilterKey::kService:
      return std::pair{like("service"), false};
    case FilterKey::kSni:
      return std::pair{like("tls_sni"), false};
    case FilterKey::kIface:
      return std::pair{like("interface"), false};
    case FilterKey::kProcess:
      return std::pair{like("(process_name || ' ' || remote_process_name)"), false};
    case FilterKey::kUser:
      return std::pair{like("(user || ' ' || remote_user)"), false};
    case FilterKey::kHost:
      return std::pair{like("(dns_cache_name || ' ' || tls_sni || ' ' || http_host || ' ' || "
                            "dns_query || ' ' || dhcp_hostname)"),
                       false};
    case FilterKey::kLocalAddr:
      if (t.has_prefix) return std::nullopt;
      return std::pair{like("local_addr"), false};
    case FilterKey::kRemoteAddr:
      if (t.has_prefix) return std::nullopt;
      return std::pair{like("remote_addr"), false};
    default:
      return std::nullopt;
  }
}

void PushDown(const Filter& filter, Where* w) {
  for (const FilterTerm& t : filter.terms()) {
    const size_t params_before = w->params.size();
    std::optional<std::pair<std::string, bool>> clause = TermSql(t, w);
    if (!clause || (t.negated && !clause->second)) {
      w->params.resize(params_before);
      w->exact = false;
      continue;
    }
    if (!clause->second) w->exact = false;
    w->Add(t.negated ? absl::StrCat("NOT ", clause->first) : clause->first);
  }
}

absl::StatusOr<std::string> OrderBy(rustnet::v1::SortField sort, bool descending) {
  const char* dir = descending ? " DESC" : "";
  std::string key;
  switch (sort) {
    case rustnet::v1::SORT_FIELD_UNSPECIFIED: key = "closed_at"; break;
    case rustnet::v1::SORT_FIELD_FIRST_SEEN: key = "first_seen"; break;
    case rustnet::v1::SORT_FIELD_LAST_SEEN: key = "last_seen"; break;
    case rustnet::v1::SORT_FIELD_PROTOCOL: key = "protocol"; break;
    case rustnet::v1::SORT_FIELD_LOCAL_ADDRESS:
      return absl::StrCat(" ORDER BY local_addr", dir, ", local_port", dir, ", rowid", dir);
    case rustnet::v1::SORT_FIELD_REMOTE_ADDRESS:
      return absl::StrCat(" ORDER BY remote_addr", dir, ", remote_port", dir, ", rowid", dir);
    case rustnet::v1::SORT_FIELD_STATE: key = "state"; break;
    case rustnet::v1::SORT_FIELD_SERVICE: key = "service"; break;
    case rustnet::v1::SORT_FIELD_APPLICATION: key = "app"; break;
    case rustnet::v1::SORT_FIELD_RATE_IN:
    case rustnet::v1::SORT_FIELD_BYTES_IN: key = "bytes_received"; break;
    case rustnet::v1::SORT_FIELD_RATE_OUT:
    case rustnet::v1::SORT_FIELD_BYTES_OUT: key = "bytes_sent"; break;
    case rustnet::v1::SORT_FIELD_RATE_TOTAL:
    case rustnet::v1::SORT_FIELD_BYTES_TOTAL: key = "(bytes_sent + bytes_received)"; break;
    case rustnet::v1::SORT_FIELD_PROCESS: key = "process_name"; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown sort field ", static_cast<int>(sort)));
  }
  return absl::StrCat(" ORDER BY ", key, dir, ", rowid", dir);
}

void Bind(sqlite3_stmt* s, const Where& w) {
  for (size_t i = 0; i < w.params.size(); ++i) {
    const int index = static_cast<int>(i + 1);
    const SqlParam& p = w.params[i];
    if (p.is_text) {
      history::BindText(s, index, p.text);
    } else {
      sqlite3_bind_int64(s, index, p.number);
    }
  }
}

}  // namespace

absl::StatusOr<HistoryPage> RunHistoryQuery(sqlite3* db, const HistoryQuery& query) {
  absl::StatusOr<Filter> filter = ParseFilter(query.filter);
  if (!filter.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad filter: ", filter.status().message()));
  }
  absl::StatusOr<std::string> order = OrderBy(query.sort, query.descending);
  if (!order.ok()) return order.status();

  Where where;
  if (query.since_us > 0) {
    where.params.emplace_back(query.since_us);
    where.Add(absl::StrCat("closed_at >= ?", where.params.size()));
  }
  if (query.until_us > 0) {
    where.params.emplace_back(query.until_us);
    where.Add(absl::StrCat("first_seen < ?", where.params.size()));
  }
  PushDown(*filter, &where);

  HistoryPage page;
  // A read transaction: the count and the page see the same rows.
  if (absl::Status s = history::Exec(db, "BEGIN"); !s.ok()) return s;
  struct EndRead {
    sqlite3* db;
    ~EndRead() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
  } end_read{db};

  const std::string select =
      absl::StrCat("SELECT ", history::ColumnList(), " FROM connections", where.sql, *order);
  if (where.exact) {
    absl::StatusOr<history::Stmt> count =
        history::Prepare(db, absl::StrCat("SELECT count(*) FROM connections", where.sql));
    if (!count.ok()) return count.status();
    Bind(count->get(), where);
    if (sqlite3_step(count->get()) != SQLITE_ROW) {
      return history::SqliteError(db, "cannot count the history");
    }
    page.total = static_cast<uint64_t>(sqlite3_column_int64(count->get(), 0));
    absl::StatusOr<history::Stmt> rows = history::Prepare(
        db, absl::StrCat(select, " LIMIT ", query.limit == 0 ? int64_t{-1} : int64_t{query.limit},
                         " OFFSET ", query.offset));
    if (!rows.ok()) return rows.status();
    Bind(rows->get(), where);
    int rc;
    while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
      history::ReadRow(rows->get(), &page.rows.emplace_back());
    }
    if (rc != SQLITE_DONE) return history::SqliteError(db, "cannot read the history");
    return page;
  }

  absl::StatusOr<history::Stmt> rows = history::Prepare(db, select);
  if (!rows.ok()) return rows.status();
  Bind(rows->get(), where);
  const uint64_t first = query.offset;
  const uint64_t end = query.limit == 0 ? UINT64_MAX : first + query.limit;
  int rc;
  while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
    if (!filter->Matches(RowSubject(rows->get()))) continue;
    if (page.total >= first && page.total < end) {
      history::ReadRow(rows->get(), &page.rows.emplace_back());
    }
    ++page.total;
  }
  if (rc != SQLITE_DONE) return history::SqliteError(db, "cannot read the history");
  return page;
}

}  // namespace rustnet
