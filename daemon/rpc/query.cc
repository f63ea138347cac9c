#include "daemon/rpc/query.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/services.h"
#include "daemon/snapshot/convert.h"

namespace rustnet {
namespace {

// Indexed by ConnState.
constexpr std::string_view kStateNames[] = {
    "unspecified", "syn_sent",  "syn_received", "established", "fin_wait_1",
    "fin_wait_2",  "close_wait", "closing",     "last_ack",    "time_wait",
    "closed",      "unreplied", "active",
};

struct Row {
  const Connection* c;
  double number;  // Numeric sort key, when the field is numeric.
  const ClosedEntry* closed = nullptr;  // From the history: closed.
  // The remote end's location, when sorting by it.
  std::shared_ptr<const GeoLocation> location;
};

// SORT_FIELD_LOCATION: located addresses (by country code, then AS
// organisation), then special ranges (by name), then unknown ones.
auto LocationKey(const GeoLocation* l) {
  if (l == nullptr || l->empty()) {
    return std::make_tuple(2, std::string_view(), std::string_view());
  }
  if (!l->special.empty()) return std::make_tuple(1, l->special, std::string_view());
  return std::make_tuple(0, std::string_view(l->country_code), std::string_view(l->as_org));
}

uint16_t PortOf(const Connection& c, int endpoint) {
  return endpoint == 0 ? c.key.port_a : c.key.port_b;
}

const IpAddress& AddressOf(const Connection& c, int endpoint) {
  return endpoint == 0 ? c.key.addr_a : c.key.addr_b;
}

std::string_view ServiceOf(const Connection& c) {
  if (c.key.protocol != kIpProtoTcp && c.key.protocol != kIpProtoUdp) return {};
  return ServiceForConnection(c.key.protocol, PortOf(c, c.initiator), PortOf(c, 1 - c.initiator));
}

bool IsNumericSort(rustnet::v1::SortField f) {
  switch (f) {
    case rustnet::v1::SORT_FIELD_RATE_IN:
    case rustnet::v1::SORT_FIELD_RATE_OUT:
    case rustnet::v1::SORT_FIELD_RATE_TOTAL:
    case rustnet::v1::SORT_FIELD_BYTES_IN:
    case rustnet::v1::SORT_FIELD_BYTES_OUT:
    case rustnet::v1::SORT_FIELD_BYTES_TOTAL:
    case rustnet::v1::SORT_FIELD_LAST_SEEN:
    case rustnet::v1::SORT_FIELD_RTT:
      return true;
    default:
      return false;
  }
}

double NumberOf(rustnet::v1::SortField f, const Connection& c, int64_t now_us) {
  const int local = c.local;
  const int remote = 1 - local;
  switch (f) {
    case rustnet::v1::SORT_FIELD_RATE_IN: return c.rate[remote].Rate(now_us);
    case rustnet::v1::SORT_FIELD_RATE_OUT: return c.rate[local].Rate(now_us);
    case rustnet::v1::SORT_FIELD_RATE_TOTAL:
      return c.rate[0].Rate(now_us) + c.rate[1].Rate(now_us);
    case rustnet::v1::SORT_FIELD_BYTES_IN: return static_cast<double>(c.bytes[remote]);
    case rustnet::v1::SORT_FIELD_BYTES_OUT: return static_cast<double>(c.bytes[local]);
    case rustnet::v1::SORT_FIELD_BYTES_TOTAL: return static_cast<double>(c.bytes[0] + c.bytes[1]);
    case rustnet::v1::SORT_FIELD_LAST_SEEN: return static_cast<double>(c.last_seen_us);
    case rustnet::v1::SORT_FIELD_RTT:
      // The smoothed RTT where there is one, else the handshake's.
      if (c.key.protocol != kIpProtoTcp) return 0.0;  // (Only TCP's part of the union has one.)
      return static_cast<double>(c.tcp.rtt.has_rtt() ? c.tcp.rtt.srtt_us() : c.tcp.handshake_rtt_us);
    default: return 0;
  }
}

// Three-way comparison on the chosen field; 0 means "tie" (broken by first
// seen and id so the order is total and stable across calls).
int CompareField(rustnet::v1::SortField f, const Row& a, const Row& b) {
  const Connection& x = *a.c;
  const Connection& y = *b.c;
  auto cmp = [](const auto& l, const auto& r) { return l < r ? -1 : (r < l ? 1 : 0); };
  switch (f) {
    case rustnet::v1::SORT_FIELD_PROTOCOL:
      return cmp(ProtocolName(x.key.protocol), ProtocolName(y.key.protocol));
    case rustnet::v1::SORT_FIELD_LOCAL_ADDRESS:
      return cmp(std::make_tuple(AddressOf(x, x.local), PortOf(x, x.local)),
                 std::make_tuple(AddressOf(y, y.local), PortOf(y, y.local)));
    case rustnet::v1::SORT_FIELD_REMOTE_ADDRESS:
      return cmp(std::make_tuple(AddressOf(x, 1 - x.local), PortOf(x, 1 - x.local)),
                 std::make_tuple(AddressOf(y, 1 - y.local), PortOf(y, 1 - y.local)));
    case rustnet::v1::SORT_FIELD_STATE: return cmp(StateName(x.state), StateName(y.state));
    case rustnet::v1::SORT_FIELD_SERVICE: return cmp(ServiceOf(x), ServiceOf(y));
    case rustnet::v1::SORT_FIELD_APPLICATION: {
      auto label = [](const Connection& c) { return c.app ? c.app->Label() : std::string(); };
      return cmp(label(x), label(y));
    }
    case rustnet::v1::SORT_FIELD_PROCESS: {
      // By name, then pid; connections without a named process last.
      const ProcessRecord* p = OwnerOf(x);
      const ProcessRecord* q = OwnerOf(y);
      if (p != nullptr && p->name.empty()) p = nullptr;  // Only the user is known.
      if (q != nullptr && q->name.empty()) q = nullptr;
      if ((p == nullptr) != (q == nullptr)) return p == nullptr ? 1 : -1;
      if (p == nullptr) return 0;
      return cmp(std::make_tuple(std::string_view(p->name), p->pid),
                 std::make_tuple(std::string_view(q->name), q->pid));
    }
    case rustnet::v1::SORT_FIELD_LOCATION:
      return cmp(LocationKey(a.location.get()), LocationKey(b.location.get()));
    default:
      if (IsNumericSort(f)) return cmp(a.number, b.number);
      return 0;
  }
}

// The remote end's location when the query sorts by it; null otherwise.
std::shared_ptr<const GeoLocation> LocationOf(const ConnectionQuery& query, const Connection& c) {
  if (query.sort != rustnet::v1::SORT_FIELD_LOCATION || query.enrich.geoip == nullptr) {
    return nullptr;
  }
  return query.enrich.geoip->Lookup(AddressOf(c, 1 - c.local));
}

}  // namespace

const ProcessRecord* OwnerOf(const Connection& c, int side) {
  if (!c.attribution) return nullptr;
  const int endpoint = side == 0 ? c.local : 1 - c.local;
  return c.attribution->side[endpoint].process.get();
}

std::string_view ConnectionSubject::Process() const {
  if (process_.empty()) {
    for (int side = 0; side < 2; ++side) {
      const ProcessRecord* p = OwnerOf(c_, side);
      if (p == nullptr || p->name.empty()) continue;
      if (!process_.empty()) process_ += ' ';
      process_ += p->name;
    }
  }
  return process_;
}

uint32_t ConnectionSubject::Pid(int side) const {
  const ProcessRecord* p = OwnerOf(c_, side);
  return p == nullptr ? 0 : p->pid;
}

std::string_view ConnectionSubject::User() const {
  if (user_.empty()) {
    for (int side = 0; side < 2; ++side) {
      const ProcessRecord* p = OwnerOf(c_, side);
      if (p == nullptr || p->user.empty()) continue;
      if (!user_.empty()) user_ += ' ';
      user_ += p->user;
    }
  }
  return user_;
}

std::string_view ConnectionSubject::Joined(std::string ProcessRecord::*field,
                                           std::string* out) const {
  if (out->empty()) {
    for (int side = 0; side < 2; ++side) {
      const ProcessRecord* p = OwnerOf(c_, side);
      if (p == nullptr || (p->*field).empty()) continue;
      if (!out->empty()) *out += ' ';
      *out += p->*field;
    }
  }
  return *out;
}

std::string_view ConnectionSubject::Pod() const { return Joined(&ProcessRecord::k8s_pod, &pod_); }

std::string_view ConnectionSubject::Namespace() const {
  return Joined(&ProcessRecord::k8s_namespace, &namespace_);
}

std::string_view ConnectionSubject::Container() const {
  if (!container_built_) {
    container_built_ = true;
    for (int side = 0; side < 2; ++side) {
      const ProcessRecord* p = OwnerOf(c_, side);
      if (p == nullptr) continue;
      for (const std::string* v : {&p->k8s_container, &p->container_id}) {
        if (v->empty()) continue;
        if (!container_.empty()) container_ += ' ';
        container_ += *v;
      }
    }
  }
  return container_;
}

std::string_view StateName(ConnState state) {
  const auto i = static_cast<size_t>(state);
  return i < std::size(kStateNames) ? kStateNames[i] : "unspecified";
}

const IpAddress& ConnectionSubject::Address(int side) const {
  return AddressOf(c_, side == 0 ? c_.local : 1 - c_.local);
}

uint16_t ConnectionSubject::Port(int side) const {
  if (c_.key.protocol != kIpProtoTcp && c_.key.protocol != kIpProtoUdp) return 0;
  return PortOf(c_, side == 0 ? c_.local : 1 - c_.local);
}

std::string_view ConnectionSubject::Service() const { return ServiceOf(c_); }

FilterLocation ConnectionSubject::RemoteLocation() const {
  if (enrich_ == nullptr || enrich_->geoip == nullptr) return {};
  if (!location_) location_ = enrich_->geoip->Lookup(AddressOf(c_, 1 - c_.local));
  return FilterLocation{location_->country_code, location_->country_name, location_->special,
                        location_->asn, location_->as_org};
}

std::string_view ConnectionSubject::Hosts() const {
  if (!c_.app) return c_.dns_name ? std::string_view(*c_.dns_name) : std::string_view();
  if (hosts_.empty()) {
    if (c_.dns_name) hosts_ = *c_.dns_name;
    const AppRecord& r = *c_.app;
    for (const std::string* h : {&r.tls->sni, &r.http->host, &r.dns->query, &r.dhcp_hostname}) {
      if (h->empty()) continue;
      if (!hosts_.empty()) hosts_ += ' ';
      hosts_ += *h;
    }
  }
  return hosts_;
}

absl::StatusOr<ConnectionQuery> MakeQuery(std::string_view filter, int sort, int order,
                                          uint32_t offset, uint32_t limit, bool hide_loopback,
                                          bool include_closed) {
  ConnectionQuery q;
  auto parsed = ParseFilter(filter);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad filter: ", std::string(parsed.status().message())));
  }
  q.filter = std::move(*parsed);
  if (!rustnet::v1::SortField_IsValid(sort)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown sort field ", sort));
  }
  if (!rustnet::v1::SortOrder_IsValid(order)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown sort order ", order));
  }
  q.sort = static_cast<rustnet::v1::SortField>(sort);
  q.descending = order == rustnet::v1::SORT_ORDER_DESCENDING;
  q.offset = offset;
  q.limit = limit;
  q.hide_loopback = hide_loopback;
  q.include_closed = include_closed;
  return q;
}

bool QueryMatches(const ConnectionQuery& query, const Connection& c, std::string_view interface) {
  if (query.hide_loopback && c.key.addr_a.IsLoopback() && c.key.addr_b.IsLoopback()) {
    return false;
  }
  if (HiddenOwnLookup(query.enrich, c)) return false;  // Without --show-ptr-lookups.
  if (query.filter.empty()) return true;
  return query.filter.Matches(ConnectionSubject(c, interface, &query.enrich));
}

void RunQuery(const ConnectionQuery& query,
              const std::vector<std::shared_ptr<const WorkerSnapshot>>& snapshots,
              std::string_view interface, rustnet::v1::ListConnectionsResponse* out,
              const ClosedHistory::Snapshot* closed) {
  out->Clear();
  if (!query.include_closed) closed = nullptr;
  int64_t now_us = 0;
  size_t total = 0;
  for (const auto& snap : snapshots) {
    if (!snap) continue;
    now_us = std::max(now_us, snap->time_us);
    total += snap->size;
  }
  // The history's ids, to return a connection still in a live snapshot
  // once (live): marked when the live pass meets them.
  absl::flat_hash_map<uint64_t, bool> closed_ids;
  int64_t newest_closed_us = 0;
  if (closed != nullptr) {
    closed_ids.reserve(closed->size());
    closed->ForEach([&](const ClosedEntry& e) {
      closed_ids.emplace(e.connection.id, false);
      newest_closed_us = std::max(newest_closed_us, e.closed_at_us);
    });
  }
  if (now_us == 0) now_us = newest_closed_us;  // No snapshot yet: the history's clock.
  std::vector<Row> rows;
  rows.reserve(query.filter.empty() && !query.hide_loopback ? total : total / 4);
  const bool numeric = IsNumericSort(query.sort);
  for (const auto& snap : snapshots) {
    if (!snap) continue;
    snap->ForEach([&](const Connection& c) {
      if (!closed_ids.empty()) {
        auto it = closed_ids.find(c.id);
        if (it != closed_ids.end()) it->second = true;
      }
      if (!QueryMatches(query, c, interface)) return;
      // Rates as of the newest snapshot time: the same instant ToProto
      // reports them at, so the order matches the values returned.
      rows.push_back(Row{&c, numeric ? NumberOf(query.sort, c, now_us) : 0.0, nullptr,
                         LocationOf(query, c)});
    });
  }
  if (closed != nullptr) {
    closed->ForEach([&](const ClosedEntry& e) {
      if (closed_ids[e.connection.id]) return;  // Still in a live snapshot.
      ++total;
      if (!QueryMatches(query, e.connection, interface)) return;
      // Rates as of the same instant as the live rows' (a snapshot may be
      // older than the connection's last packet: then as of that).
      const int64_t at = std::max(now_us, e.connection.last_seen_us);
      rows.push_back(Row{&e.connection, numeric ? NumberOf(query.sort, e.connection, at) : 0.0, &e,
                         LocationOf(query, e.connection)});
    });
  }
  const size_t matched = rows.size();
  const bool desc = query.descending;
  const auto sort = query.sort;
  auto less = [sort, desc](const Row& a, const Row& b) {
    int r = CompareField(sort, a, b);
    if (r == 0) {
      r = a.c->first_seen_us != b.c->first_seen_us
              ? (a.c->first_seen_us < b.c->first_seen_us ? -1 : 1)
              : (a.c->id < b.c->id ? -1 : (a.c->id > b.c->id ? 1 : 0));
    }
    return desc ? r > 0 : r < 0;
  };
  const size_t begin = std::min<size_t>(query.offset, matched);
  const size_t end = query.limit == 0 ? matched : std::min<size_t>(matched, begin + query.limit);
  if (end < matched) {
    std::partial_sort(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(end), rows.end(), less);
  } else {
    std::sort(rows.begin(), rows.end(), less);
  }
  out->mutable_connections()->Reserve(static_cast<int>(end - begin));
  for (size_t i = begin; i < end; ++i) {
    rustnet::v1::Connection* row = out->add_connections();
    const ClosedEntry* e = rows[i].closed;
    ToProto(*rows[i].c, e == nullptr ? now_us : std::max(now_us, e->connection.last_seen_us),
            interface, row);
    AddEnrichment(query.enrich, *rows[i].c, row);
    if (e == nullptr) {
      // How long it may stay idle (the TUI colours rows close to it).
      SetDurationUs(kTimeoutUs[static_cast<int>(rows[i].c->timeout_class)],
                    row->mutable_idle_timeout());
    } else {
      row->set_closed(true);
      SetTimestampUs(e->closed_at_us, row->mutable_closed_at());
      row->set_close_reason(static_cast<rustnet::v1::CloseReason>(e->reason));
    }
  }
  out->set_total(total);
  out->set_matched(matched);
  out->set_offset(query.offset);
  SetTimestampUs(now_us, out->mutable_snapshot_time());
}

}  // namespace rustnet
