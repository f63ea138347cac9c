// The API's enrichment: locations and MAC vendors on the rows a query
// returns, country:/asn:/org: filters and the location sort over a test
// GeoIP database, GetStats' enrich section.
#include "daemon/rpc/enrichment.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/rpc/query.h"
#include "daemon/snapshot/snapshot_store.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;

constexpr int64_t kNow = 1'700'000'000'000'000;

IpAddress Addr(const std::string& text) {
  uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) return IpAddress::FromV4(b);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), b) == 1);
  return IpAddress::FromV6(b);
}

Connection Conn(uint64_t id, const std::string& local, const std::string& remote) {
  Connection c;
  bool local_is_a = false;
  const IpAddress l = Addr(local);
  c.key = MakeFlowKey(kIpProtoTcp, l.IsV4() ? 4 : 6, l, 40000, Addr(remote), 443, &local_is_a);
  c.local = local_is_a ? 0 : 1;
  c.initiator = c.local;
  c.id = id;
  c.first_seen_us = kNow - static_cast<int64_t>(id);
  c.last_seen_us = kNow;
  c.state = ConnState::kEstablished;
  c.in_use = true;
  return c;
}

struct World {
  std::string dir;
  std::unique_ptr<GeoIp> geoip;
  MacVendorTable macs;
  std::vector<std::shared_ptr<const WorkerSnapshot>> snaps;

  World() {
    char tmpl[] = "/tmp/rn_enrich_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    REQUIRE(testing::MakeTestMmdb(
        dir + "/GeoLite2-Country.mmdb", "GeoLite2-Country",
        R"({"81.2.69.0/24":{"country":{"iso_code":"GB","names":{"en":"United Kingdom"}}},)"
        R"("2a02:cf40::/29":{"country":{"iso_code":"DE","names":{"en":"Germany"}}},)"
        R"("1.1.1.0/24":{"country":{"iso_code":"AU","names":{"en":"Australia"}}}})"));
    REQUIRE(testing::MakeTestMmdb(
        dir + "/GeoLite2-ASN.mmdb", "GeoLite2-ASN",
        R"({"81.2.69.0/24":{"autonomous_system_number":20712,)"
        R"("autonomous_system_organization":"Andrews & Arnold Ltd"},)"
        R"("1.1.1.0/24":{"autonomous_system_number":13335,)"
        R"("autonomous_system_organization":"Cloudflare, Inc."}})"));
    GeoIpOptions o;
    o.search_dirs = {dir};
    o.check_interval = absl::ZeroDuration();
    geoip = GeoIp::Start(o);
    macs.AddCsv("MA-L,001122,Acme Networks,\n");
    macs.Finish();
    std::vector<Connection> conns = {
        Conn(1, "192.168.1.10", "81.2.69.142"),     // GB, AS20712
        Conn(2, "192.168.1.10", "1.1.1.1"),         // AU, AS13335
        Conn(3, "2001:db8::5", "2a02:cf40::9"),     // DE, no ASN
        Conn(4, "192.168.1.10", "100.64.0.7"),      // CGNAT
        Conn(5, "192.168.1.10", "8.8.8.8"),         // Not in the test databases
    };
    conns[0].mac[conns[0].local] = MacAddress{0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    conns[0].mac[1 - conns[0].local] = MacAddress{0xda, 0xa1, 0x19, 0, 0, 1};  // Randomised.
    snaps.push_back(SnapshotOf(kNow, conns));
  }
  ~World() { std::filesystem::remove_all(dir); }

  v1::ListConnectionsResponse Run(std::string_view filter, int sort = 0, int order = 0) {
    auto q = MakeQuery(filter, sort, order, 0, 0, false);
    INFO(q.status().ToString());
    REQUIRE(q.ok());
    q->enrich = Enrichment{geoip.get(), &macs};
    v1::ListConnectionsResponse out;
    RunQuery(*q, snaps, "eth0", &out);
    return out;
  }
};

std::vector<uint64_t> Ids(const v1::ListConnectionsResponse& r) {
  std::vector<uint64_t> ids;
  for (const auto& c : r.connections()) ids.push_back(c.id());
  return ids;
}

TEST_CASE("enrichment_rows_carry_locations_and_mac_vendors", "[enrich][query]") {
  World w;
  const auto r = w.Run("");
  REQUIRE(r.connections_size() == 5);
  for (const v1::Connection& c : r.connections()) {
    INFO(c.ShortDebugString());
    switch (c.id()) {
      case 1:
        CHECK(c.remote_location().country_code() == "GB");
        CHECK(c.remote_location().country_name() == "United Kingdom");
        CHECK(c.remote_location().asn() == 20712);
        CHECK(c.remote_location().as_org() == "Andrews & Arnold Ltd");
        CHECK(c.local_location().special() == "private");
        CHECK(c.local_mac_vendor().vendor() == "Acme Networks");
        CHECK_FALSE(c.local_mac_vendor().locally_administered());
        CHECK(c.remote_mac_vendor().vendor().empty());
        CHECK(c.remote_mac_vendor().locally_administered());
        break;
      case 3:
        CHECK(c.remote_location().country_code() == "DE");
        CHECK(c.remote_location().asn() == 0);
        CHECK(c.local_location().special() == "documentation");
        CHECK_FALSE(c.has_local_mac_vendor());
        break;
      case 4:
        CHECK(c.remote_location().special() == "CGNAT");
        CHECK(c.remote_location().country_code().empty());
        break;
      case 5:
        CHECK_FALSE(c.has_remote_location());  // Nothing known: absent.
        break;
      default:
        break;
    }
  }
}

TEST_CASE("enrichment_filters_country_asn_org", "[enrich][query]") {
  World w;
  CHECK(Ids(w.Run("country:gb")) == std::vector<uint64_t>{1});
  CHECK(Ids(w.Run("country:germany")) == std::vector<uint64_t>{3});
  CHECK(Ids(w.Run("country:cgnat")) == std::vector<uint64_t>{4});
  CHECK(Ids(w.Run("asn:13335")) == std::vector<uint64_t>{2});
  CHECK(Ids(w.Run("asn:AS20000-21000")) == std::vector<uint64_t>{1});
  CHECK(Ids(w.Run("org:cloudflare")) == std::vector<uint64_t>{2});
  CHECK(Ids(w.Run("-country:gb -country:au")) == std::vector<uint64_t>{5, 4, 3});  // Oldest first.
  // The local end's location does not count: every local here is private.
  CHECK(w.Run("country:private").connections_size() == 0);
}

TEST_CASE("enrichment_sort_by_location", "[enrich][query]") {
  World w;
  // Located (AU, DE, GB), then special (CGNAT), then unknown.
  CHECK(Ids(w.Run("", v1::SORT_FIELD_LOCATION, v1::SORT_ORDER_ASCENDING)) ==
        std::vector<uint64_t>{2, 3, 1, 4, 5});
  CHECK(Ids(w.Run("", v1::SORT_FIELD_LOCATION, v1::SORT_ORDER_DESCENDING)) ==
        std::vector<uint64_t>{5, 4, 1, 3, 2});
}

TEST_CASE("enrichment_stats", "[enrich][query]") {
  World w;
  w.Run("");
  w.Run("");
  v1::EnrichStats s;
  FillEnrichStats(Enrichment{w.geoip.get(), &w.macs}, &s);
  CHECK(s.geoip_enabled());
  CHECK(s.cache_misses() == 7);  // 5 remote + 2 distinct local addresses.
  CHECK(s.cache_hits() == 13);   // 3 repeated locals on the first pass, all 10 on the second.
  CHECK(s.cache_entries() == 7);
  CHECK(s.cache_bytes() > 0);
  REQUIRE(s.databases_size() == 2);
  CHECK(s.databases(0).role() == "country");
  CHECK(s.databases(1).role() == "asn");
  CHECK(s.databases(1).type() == "GeoLite2-ASN");
  CHECK(s.databases(0).built().seconds() > 1'600'000'000);
  CHECK(s.mac_vendor_prefixes() == 1);
  v1::EnrichStats off;
  FillEnrichStats(Enrichment{}, &off);
  CHECK_FALSE(off.geoip_enabled());
  CHECK(off.databases_size() == 0);
}

}  // namespace
}  // namespace rustnet
