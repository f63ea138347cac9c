#include "daemon/rpc/group_query.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "daemon/enrich/special_ranges.h"
#include "daemon/rpc/query.h"
#include "daemon/snapshot/convert.h"

namespace rustnet {
namespace {

void FillGroup(const std::string& key, const GroupTotals& g, rustnet::v1::ConnectionGroup* out) {
  out->set_key(key);
  out->set_open_connections(g.open);
  out->set_total_connections(g.total);
  out->set_packets_in(g.packets_in);
  out->set_packets_out(g.packets_out);
  out->set_bytes_in(g.bytes_in);
  out->set_bytes_out(g.bytes_out);
  out->set_rate_in(g.rate_in);
  out->set_rate_out(g.rate_out);
  if (g.total > 0) {
    SetTimestampUs(g.first_seen_us, out->mutable_first_seen());
    SetTimestampUs(g.last_seen_us, out->mutable_last_seen());
  }
  const GroupTotals::Peer& top = g.TopPeer();
  if (top.bytes > 0) {
    out->set_top_remote(top.name);
    out->set_top_remote_bytes(top.bytes);
  }
}

// The key of a remote-address group along country or AS.
std::string LocationKey(const Enrichment& enrich, const std::string& address, bool asn) {
  uint8_t bytes[16];
  IpAddress a;
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
    a = IpAddress::FromV4(bytes);
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    a = IpAddress::FromV6(bytes);
  } else {
    return address;  // "(other)" or "".
  }
  if (enrich.geoip == nullptr) return std::string(SpecialRangeName(a));
  const std::shared_ptr<const GeoLocation> g = enrich.geoip->Lookup(a);
  if (!asn) return g->country_code.empty() ? std::string(g->special) : g->country_code;
  if (g->asn == 0) return std::string(g->special);
  return g->as_org.empty() ? absl::StrCat("AS", g->asn) : absl::StrCat("AS", g->asn, " ", g->as_org);
}

}  // namespace

absl::StatusOr<rustnet::v1::GroupConnectionsResponse> RunGroupQuery(
    const rustnet::v1::GroupConnectionsRequest& request,
    const std::vector<std::shared_ptr<const WorkerSnapshot>>& live,
    std::string_view interface, const ClosedHistory* history, const Enrichment& enrich) {
  if (request.group_by() == rustnet::v1::GROUP_BY_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "group_by is required (GROUP_BY_PROCESS, GROUP_BY_REMOTE_HOST, ...)");
  }
  const bool by_location = request.group_by() == rustnet::v1::GROUP_BY_COUNTRY ||
                           request.group_by() == rustnet::v1::GROUP_BY_ASN;
  if (!IsGroupDimension(request.group_by()) && !by_location) {
    return absl::InvalidArgumentError(absl::StrCat("unknown group_by ", request.group_by()));
  }
  if (request.limit() > kMaxGroupLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit ", request.limit(), " is over ", kMaxGroupLimit));
  }
  absl::StatusOr<ConnectionQuery> query =
      MakeQuery(request.filter(), 0, 0, 0, 0, request.hide_loopback());
  if (!query.ok()) return query.status();
  query->enrich = enrich;
  // Country and AS: by remote address first, renamed below.
  const auto dim = by_location ? GroupDimension::kRemoteAddress
                               : static_cast<GroupDimension>(request.group_by());
  const int64_t since_us = request.has_since() ? TimestampToUs(request.since()) : 0;
  // The totals of every closed connection answer only an unrestricted query.
  // With reverse DNS the resolver's own connections are left out (unless
  // --show-ptr-lookups), so each one is looked at.
  const bool hide_own = enrich.reverse_dns != nullptr && !enrich.show_ptr_lookups;
  const bool restricted =
      !request.filter().empty() || since_us > 0 || request.hide_loopback() || hide_own;

  int64_t now_us = 0;
  for (const auto& snap : live) {
    if (snap) now_us = std::max(now_us, snap->time_us);
  }

  rustnet::v1::GroupConnectionsResponse out;
  GroupTable groups(kMaxQueryGroups);
  ClosedHistory::Snapshot closed;
  ClosedHistory::Stats closed_stats;
  absl::flat_hash_set<uint64_t> closed_ids;
  const bool with_closed = request.include_closed() && history != nullptr;
  if (with_closed) {
    GroupTable closed_totals(0);
    history->TakeWithTotals(dim, &closed, &closed_totals, &closed_stats);
    closed_ids.reserve(closed.size());
    closed.ForEach([&](const ClosedEntry& e) { closed_ids.insert(e.connection.id); });
    if (restricted) {
      closed.ForEach([&](const ClosedEntry& e) {
        if (e.closed_at_us < since_us || !QueryMatches(*query, e.connection, interface)) return;
        groups.At(GroupKeyOf(e.connection, dim))
            .Add(e.connection, RemotePeerOf(e.connection), /*open=*/false, now_us);
      });
      const bool dropped_matter = closed_stats.dropped > 0 &&
                                  (since_us == 0 || closed_stats.dropped_newest_us >= since_us);
      out.set_complete(!dropped_matter);
      if (dropped_matter) out.set_closed_not_counted(closed_stats.dropped);
    } else {
      for (const auto& [key, totals] : closed_totals.groups()) groups.At(key).Merge(totals);
      out.set_complete(true);
    }
  } else {
    out.set_complete(!request.include_closed());
  }

  for (const auto& snap : live) {
    if (!snap) continue;
    snap->ForEach([&](const Connection& c) {
      if (closed_ids.contains(c.id)) return;  // Closed since: counted as such.
      if (c.last_seen_us < since_us) return;
      if (restricted && !QueryMatches(*query, c, interface)) return;
      groups.At(GroupKeyOf(c, dim)).Add(c, RemotePeerOf(c), /*open=*/true, now_us);
    });
  }

  if (by_location) {
    GroupTable renamed(kMaxQueryGroups);
    const bool asn = request.group_by() == rustnet::v1::GROUP_BY_ASN;
    for (const auto& [key, g] : groups.groups()) {
      renamed.At(LocationKey(enrich, key, asn)).Merge(g);
    }
    groups = std::move(renamed);
  }

  std::vector<std::pair<const std::string*, const GroupTotals*>> order;
  order.reserve(groups.size());
  for (const auto& [key, g] : groups.groups()) order.emplace_back(&key, &g);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const uint64_t x = a.second->bytes_in + a.second->bytes_out;
    const uint64_t y = b.second->bytes_in + b.second->bytes_out;
    return x != y ? x > y : *a.first < *b.first;
  });
  const size_t limit = request.limit() == 0 ? kMaxGroupLimit : request.limit();
  out.set_total_groups(order.size());
  for (size_t i = 0; i < order.size() && i < limit; ++i) {
    FillGroup(*order[i].first, *order[i].second, out.add_groups());
  }
  if (now_us > 0) SetTimestampUs(now_us, out.mutable_snapshot_time());
  return out;
}

}  // namespace rustnet
