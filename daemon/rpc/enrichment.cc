#include "daemon/rpc/enrichment.h"

#include <algorithm>
#include <string>

#include "daemon/snapshot/convert.h"

namespace rustnet {
namespace {

void SetLocation(const GeoLocation& l, rustnet::v1::Location* out) {
  out->set_country_code(l.country_code);
  out->set_country_name(l.country_name);
  out->set_city(l.city);
  out->set_asn(l.asn);
  out->set_as_org(l.as_org);
  out->set_special(std::string(l.special));
}

bool IsZero(const MacAddress& m) {
  for (uint8_t b : m) {
    if (b != 0) return false;
  }
  return true;
}

void SetVendor(const MacVendorTable& table, const MacAddress& mac, rustnet::v1::MacVendor* out) {
  const MacVendor v = table.Lookup(mac);
  out->set_vendor(std::string(v.vendor));
  out->set_locally_administered(v.locally_administered);
  out->set_multicast(v.multicast);
}

}  // namespace

bool IsOwnLookup(const Enrichment& e, const Connection& c) {
  if (e.reverse_dns == nullptr) return false;
  const bool a_local = c.local == 0;
  const IpAddress& remote = a_local ? c.key.addr_b : c.key.addr_a;
  const uint16_t remote_port = a_local ? c.key.port_b : c.key.port_a;
  const uint16_t local_port = a_local ? c.key.port_a : c.key.port_b;
  return e.reverse_dns->IsOwnSocket(remote, remote_port, local_port);
}

void AddEnrichment(const Enrichment& e, const Connection& c, rustnet::v1::Connection* out) {
  const int local = c.local;
  const int remote = 1 - local;
  const IpAddress& local_addr = local == 0 ? c.key.addr_a : c.key.addr_b;
  const IpAddress& remote_addr = local == 0 ? c.key.addr_b : c.key.addr_a;
  // ARP "connections" have addresses too (the asked-for one is remote).
  if (e.geoip != nullptr) {
    const auto r = e.geoip->Lookup(remote_addr);
    if (!r->empty()) SetLocation(*r, out->mutable_remote_location());
    const auto l = e.geoip->Lookup(local_addr);
    if (!l->empty()) SetLocation(*l, out->mutable_local_location());
  }
  const bool own = IsOwnLookup(e, c);
  if (own) out->set_own_lookup(true);
  // Only where SNI, HTTP Host, a captured DNS answer or DHCP gave no name.
  if (e.reverse_dns != nullptr && !own && out->hostname().empty()) {
    std::string name = e.reverse_dns->Lookup(remote_addr);
    if (!name.empty()) {
      out->set_hostname(std::move(name));
      out->set_hostname_source("ptr");
    }
  }
  if (e.mac_vendors != nullptr) {
    if (!IsZero(c.mac[local])) {
      SetVendor(*e.mac_vendors, c.mac[local], out->mutable_local_mac_vendor());
    }
    if (!IsZero(c.mac[remote])) {
      SetVendor(*e.mac_vendors, c.mac[remote], out->mutable_remote_mac_vendor());
    }
  }
}

void FillEnrichStats(const Enrichment& e, rustnet::v1::EnrichStats* out) {
  out->set_geoip_enabled(e.geoip != nullptr);
  if (e.geoip != nullptr) {
    const GeoIp::Stats s = e.geoip->stats();
    out->set_cache_entries(s.entries);
    out->set_cache_capacity(s.capacity);
    out->set_cache_hits(s.hits);
    out->set_cache_misses(s.misses);
    out->set_cache_evicted(s.evicted);
    out->set_cache_bytes(s.memory_bytes);
    out->set_reloads(s.reloads);
    out->set_load_errors(s.load_errors);
    for (const GeoIp::DbInfo& db : s.databases) {
      auto* d = out->add_databases();
      d->set_role(std::string(GeoDbRoleName(db.role)));
      d->set_path(db.path);
      d->set_type(db.type);
      // A hostile file's epoch is clamped (to the year 5138) before scaling.
      const auto epoch = static_cast<int64_t>(std::min<uint64_t>(db.build_epoch, 100'000'000'000));
      SetTimestampUs(epoch * 1'000'000, d->mutable_built());
    }
  }
  out->set_reverse_dns_enabled(e.reverse_dns != nullptr);
  if (e.reverse_dns != nullptr) {
    const ReverseDns::Stats r = e.reverse_dns->stats();
    out->set_ptr_queries(r.queries);
    out->set_ptr_answered(r.answered);
    out->set_ptr_not_found(r.not_found);
    out->set_ptr_failed(r.failed);
    out->set_ptr_dropped(r.dropped);
    out->set_ptr_cache_hits(r.hits);
    out->set_ptr_cache_entries(r.cache_entries);
    out->set_ptr_queued(r.queued + r.in_flight);
  }
  if (e.mac_vendors != nullptr) {
    const MacVendorTable::Stats& m = e.mac_vendors->stats();
    out->set_mac_vendor_prefixes(m.ma_l + m.ma_m + m.ma_s);
    out->set_mac_vendor_bad_lines(m.bad_lines);
  }
}

}  // namespace rustnet
