#include "common/flow_key.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <array>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/hash/hash.h"

namespace rustnet {
namespace {

IpAddress Addr(const std::string& text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return IpAddress::FromV4(buf);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), buf) == 1);
  return IpAddress::FromV6(buf);
}

struct Endpoint {
  std::string addr;
  uint16_t port;
};

TEST_CASE("flow_key: IPv4 is stored as an IPv4-mapped IPv6 address", "[flow_key]") {
  const IpAddress v4 = Addr("10.1.2.3");
  const std::array<uint8_t, 16> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  CHECK(v4.bytes == mapped);
  CHECK(v4.IsV4());
  CHECK(v4.ToString() == "10.1.2.3");
  // ::ffff:10.1.2.3 written as IPv6 is the same address.
  CHECK(Addr("::ffff:10.1.2.3") == v4);
  CHECK(Addr("::ffff:10.1.2.3").ToString() == "10.1.2.3");
  // IPv4-compatible (::a.b.c.d, deprecated) and ordinary IPv6 are not IPv4.
  CHECK_FALSE(Addr("::10.1.2.3").IsV4());
  CHECK_FALSE(Addr("2001:db8::1").IsV4());
  CHECK_FALSE(Addr("::").IsV4());
}

TEST_CASE("flow_key: address and MAC text as inet_ntop and printf write it", "[flow_key]") {
  std::mt19937 rng(3);
  std::vector<std::array<uint8_t, 4>> v4 = {{0, 0, 0, 0}, {255, 255, 255, 255}, {9, 10, 99, 100}};
  for (int i = 0; i < 5000; ++i) {
    v4.push_back({static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                  static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())});
  }
  for (const auto& a : v4) {
    char want[INET_ADDRSTRLEN];
    REQUIRE(inet_ntop(AF_INET, a.data(), want, sizeof(want)) != nullptr);
    const IpAddress addr = IpAddress::FromV4(a.data());
    char got[IpAddress::kMaxTextSize];
    CHECK(std::string(got, addr.Format(got)) == want);
    CHECK(addr.ToString() == want);
  }
  for (int i = 0; i < 5000; ++i) {
    uint8_t b[16];
    // Sparse bytes, so zero runs of every length appear.
    for (uint8_t& x : b) x = rng() % 3 == 0 ? static_cast<uint8_t>(rng()) : 0;
    const IpAddress addr = IpAddress::FromV6(b);
    char want[INET6_ADDRSTRLEN];
    REQUIRE(inet_ntop(addr.IsV4() ? AF_INET : AF_INET6, addr.IsV4() ? b + 12 : b, want,
                      sizeof(want)) != nullptr);
    CHECK(addr.ToString() == want);
    const MacAddress mac = {b[0], b[1], b[2], b[3], b[4], b[5]};
    char mac_want[18];
    std::snprintf(mac_want, sizeof(mac_want), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                  mac[2], mac[3], mac[4], mac[5]);
    CHECK(MacToString(mac) == mac_want);
  }
}

TEST_CASE("flow_key: IPv6 text follows RFC 5952", "[flow_key]") {
  CHECK(Addr("2001:0DB8:0000:0000:0000:0000:0000:0001").ToString() == "2001:db8::1");
  CHECK(Addr("2001:db8:0:0:1:0:0:1").ToString() == "2001:db8::1:0:0:1");  // First longest run.
  CHECK(Addr("2001:db8:0:1:1:1:1:1").ToString() == "2001:db8:0:1:1:1:1:1");  // No single :: group.
  CHECK(Addr("fe80::1").ToString() == "fe80::1");
  CHECK(Addr("::1").ToString() == "::1");
  CHECK(Addr("::").ToString() == "::");
}

TEST_CASE("flow_key: loopback addresses", "[flow_key]") {
  CHECK(Addr("127.0.0.1").IsLoopback());
  CHECK(Addr("127.255.255.254").IsLoopback());
  CHECK(Addr("127.0.0.53").IsLoopback());
  CHECK(Addr("::1").IsLoopback());
  CHECK(Addr("::ffff:127.0.0.1").IsLoopback());
  CHECK_FALSE(Addr("126.255.255.255").IsLoopback());
  CHECK_FALSE(Addr("128.0.0.1").IsLoopback());
  CHECK_FALSE(Addr("10.0.0.127").IsLoopback());
  CHECK_FALSE(Addr("::2").IsLoopback());
  CHECK_FALSE(Addr("::").IsLoopback());
  CHECK_FALSE(Addr("fe80::1").IsLoopback());
}

TEST_CASE("flow_key: MAC addresses print as lowercase colon hex", "[flow_key]") {
  CHECK(MacToString(MacAddress{0x02, 0x42, 0xac, 0x11, 0x00, 0x0f}) == "02:42:ac:11:00:0f");
  CHECK(MacToString(MacAddress{}) == "00:00:00:00:00:00");
  CHECK(MacToString(MacAddress{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) == "ff:ff:ff:ff:ff:ff");
}

TEST_CASE("flow_key: the canonical key is the same in both directions", "[flow_key]") {
  const std::vector<std::pair<Endpoint, Endpoint>> pairs = {
      {{"10.0.0.1", 40000}, {"10.0.0.2", 80}},
      {{"10.0.0.2", 80}, {"10.0.0.1", 40000}},
      {{"192.168.1.1", 1}, {"192.168.1.1", 2}},      // Same address: the port decides.
      {{"172.16.0.9", 53}, {"8.8.8.8", 53}},         // Same port: the address decides.
      {{"2001:db8::1", 443}, {"2001:db8::2", 50000}},
      {{"fe80::1", 546}, {"ff02::1:2", 547}},
      {{"::ffff:10.0.0.1", 5}, {"10.0.0.1", 6}},
  };
  for (const auto& [x, y] : pairs) {
    INFO(x.addr << ":" << x.port << " <-> " << y.addr << ":" << y.port);
    const uint8_t version = Addr(x.addr).IsV4() ? 4 : 6;
    bool xy_src_is_a = false;
    bool yx_src_is_a = false;
    const FlowKey xy =
        MakeFlowKey(kIpProtoTcp, version, Addr(x.addr), x.port, Addr(y.addr), y.port, &xy_src_is_a);
    const FlowKey yx =
        MakeFlowKey(kIpProtoTcp, version, Addr(y.addr), y.port, Addr(x.addr), x.port, &yx_src_is_a);
    CHECK(xy == yx);
    CHECK(xy_src_is_a != yx_src_is_a);
    CHECK(xy.Hash() == yx.Hash());
    CHECK(absl::Hash<FlowKey>{}(xy) == absl::Hash<FlowKey>{}(yx));
    CHECK(xy.protocol == kIpProtoTcp);
    CHECK(xy.ip_version == version);
    CHECK(xy.reserved == 0);
    // A is the lower endpoint: address first, then port.
    CHECK((xy.addr_a < xy.addr_b || (xy.addr_a == xy.addr_b && xy.port_a < xy.port_b)));
    // src_is_a says which endpoint sent.
    CHECK((xy_src_is_a ? xy.addr_a : xy.addr_b) == Addr(x.addr));
    CHECK((xy_src_is_a ? xy.port_a : xy.port_b) == x.port);
  }
}

TEST_CASE("flow_key: a packet to itself has one endpoint twice", "[flow_key]") {
  bool src_is_a = false;
  const FlowKey k =
      MakeFlowKey(kIpProtoUdp, 4, Addr("127.0.0.1"), 9, Addr("127.0.0.1"), 9, &src_is_a);
  CHECK(src_is_a);
  CHECK(k.addr_a == k.addr_b);
  CHECK(k.port_a == k.port_b);
}

TEST_CASE("flow_key: protocol, version and ports are part of the key", "[flow_key]") {
  bool s = false;
  const FlowKey tcp = MakeFlowKey(kIpProtoTcp, 4, Addr("10.0.0.1"), 1, Addr("10.0.0.2"), 2, &s);
  const FlowKey udp = MakeFlowKey(kIpProtoUdp, 4, Addr("10.0.0.1"), 1, Addr("10.0.0.2"), 2, &s);
  const FlowKey port = MakeFlowKey(kIpProtoTcp, 4, Addr("10.0.0.1"), 1, Addr("10.0.0.2"), 3, &s);
  // The same IPv4 addresses carried in IPv6 (v4-mapped) are another flow.
  const FlowKey v6 = MakeFlowKey(kIpProtoTcp, 6, Addr("::ffff:10.0.0.1"), 1,
                                 Addr("::ffff:10.0.0.2"), 2, &s);
  CHECK(v6.addr_a == tcp.addr_a);
  const std::vector<FlowKey> keys = {tcp, udp, port, v6};
  std::set<uint64_t> hashes;
  for (size_t i = 0; i < keys.size(); ++i) {
    hashes.insert(keys[i].Hash());
    for (size_t j = i + 1; j < keys.size(); ++j) CHECK_FALSE(keys[i] == keys[j]);
  }
  CHECK(hashes.size() == keys.size());
}

TEST_CASE("flow_key: the hash spreads flows evenly over workers", "[flow_key]") {
  // The capture thread picks a worker by Hash() % workers: sequential ports
  // from one client must not pile onto one worker.
  constexpr int kFlows = 20'000;
  std::set<uint64_t> hashes;
  std::array<int, 4> per_worker{};
  std::array<int, 3> per_worker3{};
  bool s = false;
  for (int i = 0; i < kFlows; ++i) {
    const FlowKey k = MakeFlowKey(kIpProtoTcp, 4, Addr("10.0.0.1"),
                                  static_cast<uint16_t>(30000 + i), Addr("10.0.0.2"), 443, &s);
    hashes.insert(k.Hash());
    ++per_worker[k.Hash() % 4];
    ++per_worker3[k.Hash() % 3];
  }
  CHECK(hashes.size() == kFlows);
  for (const int n : per_worker) CHECK((n > kFlows / 4 * 0.9 && n < kFlows / 4 * 1.1));
  for (const int n : per_worker3) CHECK((n > kFlows / 3 * 0.9 && n < kFlows / 3 * 1.1));
}

}  // namespace
}  // namespace rustnet
