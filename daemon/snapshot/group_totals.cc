#include "daemon/snapshot/group_totals.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/record/app_record.h"
#include "daemon/record/process_record.h"
#include "daemon/snapshot/convert.h"

namespace rustnet {
namespace {

const ProcessRecord* LocalOwner(const Connection& c) {
  if (!c.attribution) return nullptr;
  return c.attribution->side[c.local].process.get();
}

const IpAddress& RemoteAddress(const Connection& c) {
  return c.local == 0 ? c.key.addr_b : c.key.addr_a;
}

}  // namespace

std::string RemotePeerOf(const Connection& c) {
  if (std::optional<Hostname> host = HostnameOf(c); host && !host->name.empty()) {
    return std::move(host->name);
  }
  return RemoteAddress(c).ToString();
}

std::string GroupKeyOf(const Connection& c, GroupDimension d) {
  switch (d) {
    case GroupDimension::kProcess: {
      const ProcessRecord* p = LocalOwner(c);
      if (p == nullptr || p->name.empty()) return {};
      if (p->executable.empty()) return p->name;
      return absl::StrCat(p->name, " ", p->executable);
    }
    case GroupDimension::kUser: {
      const ProcessRecord* p = LocalOwner(c);
      return p == nullptr ? std::string() : p->user;
    }
    case GroupDimension::kUnit: {
      const ProcessRecord* p = LocalOwner(c);
      if (p == nullptr) return {};
      return p->unit.empty() ? p->user_unit : p->unit;
    }
    case GroupDimension::kContainer: {
      const ProcessRecord* p = LocalOwner(c);
      if (p == nullptr || p->container_id.empty()) return {};
      return absl::StrCat(p->container_runtime, ":", p->container_id);
    }
    case GroupDimension::kApplication:
      return c.app ? std::string(AppProtocolName(c.app->protocol)) : std::string();
    case GroupDimension::kRemoteHost:
      return RemotePeerOf(c);
    case GroupDimension::kRemoteAddress:
      return RemoteAddress(c).ToString();
    case GroupDimension::kLocalPort:
      if (c.key.protocol != kIpProtoTcp && c.key.protocol != kIpProtoUdp) return {};
      return absl::StrCat(c.local == 0 ? c.key.port_a : c.key.port_b);
    case GroupDimension::kProtocol:
      return std::string(ProtocolName(c.key.protocol));
  }
  return {};
}

void GroupTotals::Add(const Connection& c, std::string_view peer, bool is_open,
                      int64_t now_us) {
  const int local = c.local;
  const int remote = 1 - local;
  ++total;
  if (is_open) {
    ++open;
    rate_in += c.rate[remote].Rate(now_us);
    rate_out += c.rate[local].Rate(now_us);
  }
  packets_in += c.packets[remote];
  packets_out += c.packets[local];
  bytes_in += c.bytes[remote];
  bytes_out += c.bytes[local];
  first_seen_us = std::min(first_seen_us, c.first_seen_us);
  last_seen_us = std::max(last_seen_us, c.last_seen_us);
  AddPeer(peer, c.bytes[0] + c.bytes[1]);
}

void GroupTotals::Merge(const GroupTotals& other) {
  open += other.open;
  total += other.total;
  packets_in += other.packets_in;
  packets_out += other.packets_out;
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  rate_in += other.rate_in;
  rate_out += other.rate_out;
  first_seen_us = std::min(first_seen_us, other.first_seen_us);
  last_seen_us = std::max(last_seen_us, other.last_seen_us);
  for (const Peer& p : other.peers) {
    if (p.bytes > 0) AddPeer(p.name, p.bytes);
  }
}

const GroupTotals::Peer& GroupTotals::TopPeer() const {
  return *std::max_element(peers.begin(), peers.end(),
                           [](const Peer& a, const Peer& b) { return a.bytes < b.bytes; });
}

void GroupTotals::AddPeer(std::string_view name, uint64_t bytes) {
  // Space-Saving: count on the peer's own slot, else a free one, else take
  // over the smallest counter (inheriting its count as the error bound).
  Peer* smallest = &peers[0];
  for (Peer& p : peers) {
    if (p.bytes > 0 && p.name == name) {
      p.bytes += bytes;
      return;
    }
    if (p.bytes < smallest->bytes) smallest = &p;
  }
  if (bytes == 0 && smallest->bytes > 0) return;  // Nothing to count.
  smallest->name.assign(name);
  smallest->bytes += bytes;
}

GroupTotals& GroupTable::At(std::string_view key) {
  // (Abseil's heterogeneous lookup takes absl::string_view.)
  const absl::string_view k(key.data(), key.size());
  if (auto it = groups_.find(k); it != groups_.end()) return it->second;
  if (groups_.size() + 1 >= max_groups_ && key != kOtherGroup) {
    ++folded_;
    return groups_[std::string(kOtherGroup)];
  }
  return groups_[std::string(key)];
}

}  // namespace rustnet
