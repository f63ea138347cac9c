// Special address ranges are named without a database.
#include "daemon/enrich/special_ranges.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <string>

namespace rustnet {
namespace {

IpAddress Parse(const std::string& text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return IpAddress::FromV4(buf);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), buf) == 1);
  return IpAddress::FromV6(buf);
}

TEST_CASE("special_ranges_named", "[enrich][geoip]") {
  CHECK(SpecialRangeName(Parse("10.1.2.3")) == "private");
  CHECK(SpecialRangeName(Parse("172.16.0.1")) == "private");
  CHECK(SpecialRangeName(Parse("172.31.255.255")) == "private");
  CHECK(SpecialRangeName(Parse("172.32.0.1")).empty());
  CHECK(SpecialRangeName(Parse("192.168.1.1")) == "private");
  CHECK(SpecialRangeName(Parse("100.64.0.1")) == "CGNAT");
  CHECK(SpecialRangeName(Parse("100.127.255.255")) == "CGNAT");
  CHECK(SpecialRangeName(Parse("100.128.0.1")).empty());
  CHECK(SpecialRangeName(Parse("127.0.0.1")) == "loopback");
  CHECK(SpecialRangeName(Parse("::1")) == "loopback");
  CHECK(SpecialRangeName(Parse("169.254.10.1")) == "link-local");
  CHECK(SpecialRangeName(Parse("fe80::1")) == "link-local");
  CHECK(SpecialRangeName(Parse("fc00::1")) == "unique-local");
  CHECK(SpecialRangeName(Parse("fd12:3456::1")) == "unique-local");
  CHECK(SpecialRangeName(Parse("224.0.0.251")) == "multicast");
  CHECK(SpecialRangeName(Parse("ff02::fb")) == "multicast");
  CHECK(SpecialRangeName(Parse("192.0.2.1")) == "documentation");
  CHECK(SpecialRangeName(Parse("198.51.100.7")) == "documentation");
  CHECK(SpecialRangeName(Parse("203.0.113.9")) == "documentation");
  CHECK(SpecialRangeName(Parse("2001:db8::1")) == "documentation");
  CHECK(SpecialRangeName(Parse("255.255.255.255")) == "broadcast");
  CHECK(SpecialRangeName(Parse("240.0.0.1")) == "reserved");
  CHECK(SpecialRangeName(Parse("0.0.0.0")) == "this-network");
  CHECK(SpecialRangeName(Parse("::")) == "unspecified");
  CHECK(SpecialRangeName(Parse("198.19.0.1")) == "benchmarking");
  // Public addresses are left for GeoIP.
  CHECK(SpecialRangeName(Parse("8.8.8.8")).empty());
  CHECK(SpecialRangeName(Parse("81.2.69.142")).empty());
  CHECK(SpecialRangeName(Parse("2a00:1450::1")).empty());
  CHECK(SpecialRangeName(Parse("2001:db9::1")).empty());
}

}  // namespace
}  // namespace rustnet
