// GeoIP: databases written by the test (tests/tools/make_mmdb.pl, Debian's
// libmaxmind-db-writer-perl) with known networks; IPv4 and IPv6 lookups,
// special ranges without a database, the cache's bound and hit counts, a
// database replaced at run time (by the check and by the watcher thread),
// a corrupt or missing file.
#include "daemon/enrich/geoip.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

IpAddress Parse(const std::string& text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return IpAddress::FromV4(buf);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), buf) == 1);
  return IpAddress::FromV6(buf);
}

using testing::TempDir;

void MakeDb(const std::string& path, const std::string& type, const std::string& json) {
  REQUIRE(testing::MakeTestMmdb(path, type, json));
}

const char kCountryJson[] =
    R"({"81.2.69.0/24":{"country":{"iso_code":"GB","names":{"en":"United Kingdom"}}},)"
    R"("2a02:cf40::/29":{"country":{"iso_code":"DE","names":{"en":"Germany"}}},)"
    R"("89.160.20.112/28":{"country":{"iso_code":"SE","names":{"en":"Sweden"}}}})";
const char kCityJson[] =
    R"({"81.2.69.0/24":{"country":{"iso_code":"GB","names":{"en":"United Kingdom"}},)"
    R"("city":{"names":{"en":"London"}}}})";
const char kAsnJson[] =
    R"({"81.2.69.0/24":{"autonomous_system_number":20712,)"
    R"("autonomous_system_organization":"Andrews & Arnold Ltd"},)"
    R"("2a02:cf40::/29":{"autonomous_system_number":64500,)"
    R"("autonomous_system_organization":"Example IPv6 AS"}})";

GeoIpOptions OptionsFor(const TempDir& dir) {
  GeoIpOptions o;
  o.search_dirs = {dir.path()};
  o.check_interval = absl::ZeroDuration();
  return o;
}

TEST_CASE("geoip_lookups_ipv4_ipv6_from_test_databases", "[enrich][geoip]") {
  TempDir dir;
  MakeDb(dir.File("GeoLite2-Country.mmdb"), "GeoLite2-Country", kCountryJson);
  MakeDb(dir.File("GeoLite2-City.mmdb"), "GeoLite2-City", kCityJson);
  MakeDb(dir.File("GeoLite2-ASN.mmdb"), "GeoLite2-ASN", kAsnJson);
  auto geo = GeoIp::Start(OptionsFor(dir));
  REQUIRE(geo->has_database());

  auto gb = geo->Lookup(Parse("81.2.69.142"));
  CHECK(gb->country_code == "GB");
  CHECK(gb->country_name == "United Kingdom");
  CHECK(gb->city == "London");
  CHECK(gb->asn == 20712);
  CHECK(gb->as_org == "Andrews & Arnold Ltd");
  CHECK(gb->special.empty());

  auto de = geo->Lookup(Parse("2a02:cf40::1"));
  CHECK(de->country_code == "DE");
  CHECK(de->country_name == "Germany");
  CHECK(de->city.empty());
  CHECK(de->asn == 64500);
  CHECK(de->as_org == "Example IPv6 AS");

  auto se = geo->Lookup(Parse("89.160.20.120"));
  CHECK(se->country_code == "SE");
  CHECK(se->asn == 0);
  CHECK(geo->Lookup(Parse("89.160.20.128"))->empty());  // Just past the /28.
  CHECK(geo->Lookup(Parse("8.8.8.8"))->empty());
  CHECK(geo->Lookup(Parse("2001:4860::8888"))->empty());

  auto priv = geo->Lookup(Parse("192.168.1.10"));
  CHECK(priv->special == "private");
  CHECK(priv->country_code.empty());
  CHECK(geo->Lookup(Parse("100.64.1.1"))->special == "CGNAT");
  CHECK(geo->Lookup(Parse("::1"))->special == "loopback");

  // Second lookups come from the cache.
  const GeoIp::Stats before = geo->stats();
  CHECK(before.misses == 9);
  CHECK(before.hits == 0);
  CHECK(geo->Lookup(Parse("81.2.69.142")).get() == gb.get());
  CHECK(geo->Lookup(Parse("2a02:cf40::1"))->country_code == "DE");
  const GeoIp::Stats after = geo->stats();
  CHECK(after.hits == 2);
  CHECK(after.misses == 9);
  CHECK(after.entries == 9);
  CHECK(after.memory_bytes > 0);
  REQUIRE(after.databases.size() == 3);
  CHECK(after.databases[0].type == "GeoLite2-Country");
  CHECK(after.databases[2].path == dir.File("GeoLite2-ASN.mmdb"));
  CHECK(after.databases[0].build_epoch > 1'600'000'000);
}

TEST_CASE("geoip_cache_bounded_lru", "[enrich][geoip]") {
  TempDir dir;
  MakeDb(dir.File("GeoLite2-Country.mmdb"), "GeoLite2-Country", kCountryJson);
  GeoIpOptions o = OptionsFor(dir);
  o.cache_entries = 4;
  auto geo = GeoIp::Start(o);
  for (int i = 0; i < 10; ++i) geo->Lookup(Parse(absl::StrCat("81.2.69.", i)));
  GeoIp::Stats s = geo->stats();
  CHECK(s.entries == 4);
  CHECK(s.evicted == 6);
  CHECK(s.capacity == 4);
  // The four most recent are kept: 6..9 hit, 0 misses again.
  geo->Lookup(Parse("81.2.69.9"));
  geo->Lookup(Parse("81.2.69.6"));
  geo->Lookup(Parse("81.2.69.0"));
  s = geo->stats();
  CHECK(s.hits == 2);
  CHECK(s.misses == 11);
}

TEST_CASE("geoip_database_replaced_at_run_time", "[enrich][geoip]") {
  TempDir dir;
  const std::string path = dir.File("GeoLite2-Country.mmdb");
  MakeDb(path, "GeoLite2-Country", kCountryJson);
  auto geo = GeoIp::Start(OptionsFor(dir));
  CHECK(geo->Lookup(Parse("81.2.69.142"))->country_code == "GB");
  CHECK_FALSE(geo->CheckForChanges());  // Unchanged.
  MakeDb(path, "GeoLite2-Country",
         R"({"81.2.69.0/24":{"country":{"iso_code":"FR","names":{"en":"France"}}}})");
  CHECK(geo->CheckForChanges());
  CHECK(geo->Lookup(Parse("81.2.69.142"))->country_code == "FR");  // The cache was emptied.
  CHECK(geo->stats().reloads == 1);
  // SIGHUP re-opens even an unchanged file.
  geo->Reload();
  CHECK(geo->stats().reloads == 2);
  CHECK(geo->Lookup(Parse("81.2.69.142"))->country_code == "FR");
}

TEST_CASE("geoip_watcher_thread_picks_up_a_new_file", "[enrich][geoip]") {
  TempDir dir;
  GeoIpOptions o = OptionsFor(dir);
  o.check_interval = absl::Milliseconds(20);
  auto geo = GeoIp::Start(o);  // Nothing there yet.
  CHECK_FALSE(geo->has_database());
  CHECK(geo->Lookup(Parse("81.2.69.142"))->empty());
  CHECK(geo->Lookup(Parse("10.0.0.1"))->special == "private");  // Without a database too.
  MakeDb(dir.File("GeoLite2-ASN.mmdb"), "GeoLite2-ASN", kAsnJson);
  // Waits for the event (no assertion on how long it took).
  for (int i = 0; i < 3000 && !geo->has_database(); ++i) usleep(10'000);
  REQUIRE(geo->has_database());
  CHECK(geo->Lookup(Parse("81.2.69.142"))->asn == 20712);
}

TEST_CASE("geoip_corrupt_or_missing_file_runs_without", "[enrich][geoip]") {
  TempDir dir;
  const std::string corrupt = dir.File("corrupt.mmdb");
  {
    std::ofstream out(corrupt, std::ios::binary);
    out << std::string(4096, '\x5a') << "not a database";
  }
  auto opened = GeoIpDatabase::Open(corrupt);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().message().find("is not a MaxMind database") != std::string_view::npos);
  CHECK_FALSE(GeoIpDatabase::Open(dir.File("missing.mmdb")).ok());

  GeoIpOptions o = OptionsFor(dir);
  o.files[static_cast<size_t>(GeoDbRole::kCountry)] = corrupt;
  o.files[static_cast<size_t>(GeoDbRole::kAsn)] = dir.File("missing.mmdb");
  auto geo = GeoIp::Start(o);
  CHECK_FALSE(geo->has_database());
  CHECK(geo->stats().load_errors == 2);
  CHECK(geo->Lookup(Parse("81.2.69.142"))->empty());
  CHECK(geo->Lookup(Parse("127.0.0.1"))->special == "loopback");
  CHECK_FALSE(geo->CheckForChanges());  // The same broken files: not logged again.
  CHECK(geo->stats().load_errors == 2);

  // A good file replaces the corrupt one; a corrupt one then replaces the
  // good one: the good one stays in use.
  MakeDb(corrupt, "GeoLite2-Country", kCountryJson);
  CHECK(geo->CheckForChanges());
  CHECK(geo->Lookup(Parse("81.2.69.142"))->country_code == "GB");
  {
    std::ofstream out(dir.File("bad.tmp"), std::ios::binary);
    out << "\xab\xcd\xefMaxMind.com" << std::string(100, '\0');
  }
  std::filesystem::rename(dir.File("bad.tmp"), corrupt);
  CHECK_FALSE(geo->CheckForChanges());
  CHECK(geo->stats().load_errors == 3);
  CHECK(geo->Lookup(Parse("81.2.69.142"))->country_code == "GB");
}

TEST_CASE("geoip_hostile_database_text_bounded", "[enrich][geoip]") {
  TempDir dir;
  const std::string long_org(1000, 'o');
  MakeDb(dir.File("GeoLite2-ASN.mmdb"), "GeoLite2-ASN",
         absl::StrCat(R"({"81.2.69.0/24":{"autonomous_system_number":1,)",
                      R"("autonomous_system_organization":"a\u0001b\u001b[31m)", long_org,
                      R"("}})"));
  auto geo = GeoIp::Start(OptionsFor(dir));
  auto l = geo->Lookup(Parse("81.2.69.1"));
  CHECK(l->as_org.size() <= kMaxGeoText);
  CHECK(l->as_org.substr(0, 6) == "ab[31m");
}

}  // namespace
}  // namespace rustnet
