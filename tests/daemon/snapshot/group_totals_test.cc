// Group totals: the key of each dimension, sums in and out, the top peer
// (Space-Saving), the bound on groups, and the closed history's totals of
// every connection it was given (also past its capacity, also at 0).
#include "daemon/snapshot/group_totals.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/record/app_record.h"
#include "daemon/record/process_record.h"
#include "daemon/snapshot/closed_history.h"

namespace rustnet {
namespace {

IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  return IpAddress::FromV4(bytes);
}

// 10.0.0.1:port_a (local, initiator) -> remote:port_b over TCP, `out`
// bytes sent and `in` received.
Connection Conn(uint64_t id, IpAddress remote, uint16_t port_a, uint16_t port_b, uint64_t out,
                uint64_t in) {
  Connection c;
  c.id = id;
  c.key.protocol = kIpProtoTcp;
  c.key.ip_version = 4;
  c.key.addr_a = V4(10, 0, 0, 1);
  c.key.addr_b = remote;
  c.key.port_a = port_a;
  c.key.port_b = port_b;
  c.local = 0;
  c.initiator = 0;
  c.packets[0] = 2;
  c.packets[1] = 3;
  c.bytes[0] = out;
  c.bytes[1] = in;
  c.first_seen_us = static_cast<int64_t>(id) * 1'000'000;
  c.last_seen_us = c.first_seen_us + 500'000;
  c.in_use = true;
  return c;
}

std::shared_ptr<const Attribution> Owner(std::string name, std::string exe, std::string user,
                                         std::string unit) {
  auto p = std::make_shared<ProcessRecord>();
  p->pid = 42;
  p->name = std::move(name);
  p->executable = std::move(exe);
  p->user = std::move(user);
  p->unit = std::move(unit);
  p->container_runtime = "docker";
  p->container_id = "abc123";
  auto a = std::make_shared<Attribution>();
  a->side[0].process = p;
  return a;
}

TEST_CASE("group_totals: each dimension's key", "[groups]") {
  Connection c = Conn(1, V4(192, 0, 2, 7), 40000, 443, 100, 2000);
  CHECK(GroupKeyOf(c, GroupDimension::kProcess).empty());  // No owner known.
  CHECK(GroupKeyOf(c, GroupDimension::kApplication).empty());
  c.attribution = Owner("curl", "/usr/bin/curl", "alice", "session-3.scope");
  auto app = std::make_shared<AppRecord>();
  app->protocol = AppProtocol::kTls;
  app->tls->sni = "example.org";
  c.app = app;
  CHECK(GroupKeyOf(c, GroupDimension::kProcess) == "curl /usr/bin/curl");
  CHECK(GroupKeyOf(c, GroupDimension::kUser) == "alice");
  CHECK(GroupKeyOf(c, GroupDimension::kUnit) == "session-3.scope");
  CHECK(GroupKeyOf(c, GroupDimension::kContainer) == "docker:abc123");
  CHECK(GroupKeyOf(c, GroupDimension::kApplication) == "tls");
  CHECK(GroupKeyOf(c, GroupDimension::kRemoteHost) == "example.org");
  CHECK(GroupKeyOf(c, GroupDimension::kRemoteAddress) == "192.0.2.7");
  CHECK(GroupKeyOf(c, GroupDimension::kLocalPort) == "40000");
  CHECK(GroupKeyOf(c, GroupDimension::kProtocol) == "tcp");
  // The local end is B: ports and the remote address swap sides.
  c.local = 1;
  CHECK(GroupKeyOf(c, GroupDimension::kLocalPort) == "443");
  CHECK(GroupKeyOf(c, GroupDimension::kRemoteAddress) == "10.0.0.1");
  c.app = nullptr;
  CHECK(GroupKeyOf(c, GroupDimension::kRemoteHost) == "10.0.0.1");  // No name: the address.
  c.key.protocol = kIpProtoIcmp;
  CHECK(GroupKeyOf(c, GroupDimension::kLocalPort).empty());
  CHECK(GroupKeyOf(c, GroupDimension::kProtocol) == "icmp");
}

TEST_CASE("group_totals: sums in and out, open and closed, first and last seen", "[groups]") {
  GroupTotals g;
  const Connection a = Conn(1, V4(192, 0, 2, 1), 40000, 443, 100, 1000);
  const Connection b = Conn(5, V4(192, 0, 2, 2), 40001, 443, 10, 20);
  g.Add(a, "one", /*open=*/true, a.last_seen_us);
  g.Add(b, "two", /*open=*/false, b.last_seen_us);
  CHECK(g.total == 2);
  CHECK(g.open == 1);
  CHECK(g.bytes_out == 110);
  CHECK(g.bytes_in == 1020);
  CHECK(g.packets_out == 4);
  CHECK(g.packets_in == 6);
  CHECK(g.first_seen_us == a.first_seen_us);
  CHECK(g.last_seen_us == b.last_seen_us);
  CHECK(g.TopPeer().name == "one");
  CHECK(g.TopPeer().bytes == 1100);
  GroupTotals h;
  h.Add(Conn(9, V4(192, 0, 2, 2), 40002, 443, 5000, 0), "two", false, 0);
  g.Merge(h);
  CHECK(g.total == 3);
  CHECK(g.bytes_out == 5110);
  CHECK(g.TopPeer().name == "two");
  CHECK(g.TopPeer().bytes == 5030);
}

TEST_CASE("group_totals: the heaviest peer is found among many small ones", "[groups]") {
  GroupTotals g;
  uint64_t id = 1;
  // 200 light peers interleaved with one that carries a third of the bytes.
  for (int i = 0; i < 200; ++i) {
    g.Add(Conn(id++, V4(192, 0, 2, 1), 40000, 443, 10, 0), absl::StrCat("light", i), false, 0);
    if (i % 2 == 0) g.Add(Conn(id++, V4(192, 0, 2, 9), 40000, 443, 10, 0), "heavy", false, 0);
  }
  CHECK(g.TopPeer().name == "heavy");
  CHECK(g.total == 300);
}

TEST_CASE("group_totals: a table holds at most its bound, the rest in (other)", "[groups]") {
  GroupTable t(4);
  for (int i = 0; i < 10; ++i) t.At(absl::StrCat("k", i)).total += 1;
  CHECK(t.size() == 4);
  CHECK(t.folded() == 7);
  CHECK(t.groups().at(std::string(kOtherGroup)).total == 7);
  t.At("k0").total += 1;  // Known keys keep counting on their own.
  CHECK(t.groups().at("k0").total == 2);
}

TEST_CASE("group_totals: the history totals every closed connection, past its capacity",
          "[groups][history]") {
  for (size_t capacity : {size_t{0}, size_t{3}, size_t{1000}}) {
    ClosedHistory h(capacity);
    std::vector<Connection> conns;
    for (uint64_t id = 1; id <= 50; ++id) {
      Connection c = Conn(id, V4(192, 0, 2, static_cast<uint8_t>(id % 5)), 40000, 443, id, 2 * id);
      c.attribution = Owner(id % 2 == 0 ? "even" : "odd", "", "u", "");
      conns.push_back(c);
    }
    std::vector<ClosedConnection> closed;
    for (const Connection& c : conns) closed.push_back({&c, CloseReason::kFin, c.last_seen_us});
    h.OnClosed(closed, "eth0");
    ClosedHistory::Snapshot s;
    GroupTable t(0);
    ClosedHistory::Stats st;
    h.TakeWithTotals(GroupDimension::kProcess, &s, &t, &st);
    CAPTURE(capacity);
    CHECK(s.size() == std::min<size_t>(capacity, 50));
    REQUIRE(t.size() == 2);
    CHECK(t.groups().at("even").total == 25);
    CHECK(t.groups().at("odd").total == 25);
    // 2 + 4 + ... + 50 = 650 out; twice that in.
    CHECK(t.groups().at("even").bytes_out == 650);
    CHECK(t.groups().at("even").bytes_in == 1300);
    CHECK(t.groups().at("odd").bytes_out == 625);
    CHECK(st.added == 50);
    CHECK(st.dropped == 50 - std::min<size_t>(capacity, 50));
    if (capacity == 3) CHECK(st.dropped_newest_us == conns[46].last_seen_us);
  }
}

}  // namespace
}  // namespace rustnet
