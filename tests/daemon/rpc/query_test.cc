// Connection queries over hand-built worker snapshots: counting, filtering,
// hiding loopback, every sort field in both orders with its tie-breaks, and
// paging windows.
#include "daemon/rpc/query.h"

#include <arpa/inet.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "rustnet/v1/connection.pb.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;
using Snapshots = std::vector<std::shared_ptr<const WorkerSnapshot>>;

constexpr int64_t kSecond = 1'000'000;
// Snapshot times sit on whole seconds, so a RateWindow whose current second
// is the snapshot's reports exactly its `current` bytes.
constexpr int64_t kNow = 1'700'000'000 * kSecond;

IpAddress Addr(const std::string& text) {
  uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) return IpAddress::FromV4(b);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), b) == 1);
  return IpAddress::FromV6(b);
}

// A connection from local:lport to remote:rport (outbound: local started
// it), keyed canonically by MakeFlowKey.
Connection Conn(uint64_t id, int64_t first_seen_us, uint8_t protocol = kIpProtoTcp,
                const std::string& local = "10.0.0.1", uint16_t lport = 40000,
                const std::string& remote = "93.184.215.14", uint16_t rport = 443,
                bool outbound = true) {
  Connection c;
  const IpAddress l = Addr(local);
  const IpAddress r = Addr(remote);
  bool local_is_a = false;
  c.key = MakeFlowKey(protocol, l.IsV4() ? 4 : 6, l, lport, r, rport, &local_is_a);
  c.local = local_is_a ? 0 : 1;
  c.initiator = outbound ? c.local : static_cast<uint8_t>(1 - c.local);
  c.id = id;
  c.first_seen_us = first_seen_us;
  c.last_seen_us = first_seen_us;
  c.state = protocol == kIpProtoTcp ? ConnState::kEstablished : ConnState::kActive;
  c.in_use = true;
  return c;
}

void SetBytes(Connection* c, uint64_t in, uint64_t out) {
  c->bytes[1 - c->local] = in;
  c->bytes[c->local] = out;
}

// Rates as of `now_us` (on a whole second): exactly `in` and `out` B/s.
void SetRates(Connection* c, uint32_t in, uint32_t out, int64_t now_us = kNow) {
  const auto second = static_cast<uint32_t>(now_us / kSecond);
  c->rate[1 - c->local] = RateWindow{second, in, 0};
  c->rate[c->local] = RateWindow{second, out, 0};
}

std::shared_ptr<const WorkerSnapshot> Snap(int64_t time_us, std::vector<Connection> conns) {
  return SnapshotOf(time_us, conns);
}

ConnectionQuery Query(std::string_view filter = "", int sort = 0, int order = 0,
                      uint32_t offset = 0, uint32_t limit = 0, bool hide_loopback = false) {
  auto q = MakeQuery(filter, sort, order, offset, limit, hide_loopback);
  INFO(q.status().ToString());
  REQUIRE(q.ok());
  return *q;
}

v1::ListConnectionsResponse Run(const ConnectionQuery& q, const Snapshots& snaps,
                                std::string_view iface = "eth0") {
  v1::ListConnectionsResponse out;
  RunQuery(q, snaps, iface, &out);
  return out;
}

std::vector<uint64_t> Ids(const v1::ListConnectionsResponse& r) {
  std::vector<uint64_t> ids;
  for (const auto& c : r.connections()) ids.push_back(c.id());
  return ids;
}

std::vector<uint64_t> Reversed(std::vector<uint64_t> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * kSecond + t.nanos() / 1000;
}

// Two workers: a mix of protocols, directions, v4 and v6, a loopback pair.
Snapshots TwoWorkers() {
  std::vector<Connection> w0;
  w0.push_back(Conn(1, 100, kIpProtoTcp, "10.0.0.1", 40000, "93.184.215.14", 443));
  w0.push_back(Conn(2, 200, kIpProtoUdp, "10.0.0.1", 40001, "1.1.1.1", 53));
  w0.push_back(Conn(3, 300, kIpProtoTcp, "127.0.0.1", 40002, "127.0.0.1", 8080));
  w0.push_back(Conn(4, 400, kIpProtoTcp, "10.0.0.1", 22, "192.0.2.7", 45000, false));
  std::vector<Connection> w1;
  w1.push_back(Conn(5, 150, kIpProtoTcp, "2001:db8::1", 40003, "2606:4700::1111", 443));
  w1.push_back(Conn(6, 250, kIpProtoIcmp, "10.0.0.1", 7, "8.8.8.8", 7));
  w1.push_back(Conn(7, 350, kIpProtoUdp, "::1", 40004, "::1", 5353));
  return {Snap(kNow, std::move(w0)), Snap(kNow - 3 * kSecond, std::move(w1))};
}

TEST_CASE("query: total, matched and rows over two workers", "[query]") {
  const Snapshots snaps = TwoWorkers();
  auto r = Run(Query(), snaps);
  CHECK(r.total() == 7);
  CHECK(r.matched() == 7);
  CHECK(r.offset() == 0);
  // Default order: first seen, across workers.
  CHECK(Ids(r) == std::vector<uint64_t>{1, 5, 2, 6, 3, 7, 4});
  // Rows are converted with the local end as `local`, and the interface.
  const v1::Connection& first = r.connections(0);
  CHECK(first.local().address() == "10.0.0.1");
  CHECK(first.local().port() == 40000);
  CHECK(first.remote().address() == "93.184.215.14");
  CHECK(first.remote().port() == 443);
  CHECK(first.interface() == "eth0");
}

TEST_CASE("query: filter narrows matched but not total", "[query]") {
  const Snapshots snaps = TwoWorkers();
  struct Case {
    const char* filter;
    std::vector<uint64_t> ids;
  };
  const Case cases[] = {
      {"proto:tcp", {1, 5, 3, 4}},
      {"proto:udp", {2, 7}},
      {"-proto:tcp", {2, 6, 7}},
      {"port:443", {1, 5}},
      {"ip:6", {5, 7}},
      {"laddr:10.0.0.0/8", {1, 2, 6, 4}},
      {"raddr:2606:4700::/32", {5}},
      {"dir:in", {4}},
      {"dir:out port:1-1023", {1, 5, 2}},  // ICMP has no ports.
      {"service:ssh", {4}},
      {"service:domain", {2}},
      {"state:active", {2, 6, 7}},
      {"1.1.1.1:53", {2}},
      {"iface:eth0", {1, 5, 2, 6, 3, 7, 4}},
      {"iface:wlan", {}},
      {"nothing-matches-this", {}},
  };
  for (const Case& c : cases) {
    INFO("filter: " << c.filter);
    auto r = Run(Query(c.filter), snaps);
    CHECK(r.total() == 7);
    CHECK(r.matched() == c.ids.size());
    CHECK(Ids(r) == c.ids);
  }
}

TEST_CASE("query: an ICMP echo id is not a port for filters", "[query]") {
  std::vector<Connection> w;
  w.push_back(Conn(1, 1, kIpProtoIcmp, "10.0.0.1", 443, "8.8.8.8", 443));
  w.push_back(Conn(2, 2, kIpProtoTcp, "10.0.0.1", 40000, "8.8.8.8", 443));
  const Snapshots snaps = {Snap(kNow, std::move(w))};
  CHECK(Ids(Run(Query("port:443"), snaps)) == std::vector<uint64_t>{2});
  CHECK(Ids(Run(Query("-port:443"), snaps)) == std::vector<uint64_t>{1});
}

TEST_CASE("query: hide_loopback leaves out loopback-only connections", "[query]") {
  Snapshots snaps = TwoWorkers();
  std::vector<Connection> w2;
  // One loopback end only: kept.
  w2.push_back(Conn(8, 50, kIpProtoTcp, "127.0.0.1", 40005, "10.0.0.2", 80));
  // Any two 127/8 addresses are loopback.
  w2.push_back(Conn(9, 60, kIpProtoTcp, "127.0.0.5", 40006, "127.1.2.3", 80));
  snaps.push_back(Snap(kNow, std::move(w2)));
  auto shown = Run(Query("", 0, 0, 0, 0, false), snaps);
  CHECK(shown.total() == 9);
  CHECK(shown.matched() == 9);
  auto hidden = Run(Query("", 0, 0, 0, 0, true), snaps);
  CHECK(hidden.total() == 9);
  CHECK(hidden.matched() == 6);
  CHECK(Ids(hidden) == std::vector<uint64_t>{8, 1, 5, 2, 6, 4});
  // Together with a filter.
  auto both = Run(Query("proto:udp", 0, 0, 0, 0, true), snaps);
  CHECK(Ids(both) == std::vector<uint64_t>{2});
  CHECK(both.matched() == 1);
}

TEST_CASE("query: snapshot_time is the newest worker time; null slots are skipped", "[query]") {
  const Snapshots two = TwoWorkers();  // kNow and kNow - 3 s.
  Snapshots snaps(two.size() + 2);     // Null first and last.
  std::copy(two.begin(), two.end(), snaps.begin() + 1);
  auto r = Run(Query(), snaps);
  CHECK(r.total() == 7);
  CHECK(r.matched() == 7);
  CHECK(Micros(r.snapshot_time()) == kNow);
  // The newest may be any slot.
  Snapshots reversed = {nullptr, snaps[2], nullptr, snaps[1]};
  CHECK(Micros(Run(Query(), reversed).snapshot_time()) == kNow);
  Snapshots older = {snaps[2], nullptr};
  CHECK(Micros(Run(Query(), older).snapshot_time()) == kNow - 3 * kSecond);
  CHECK(Run(Query(), older).total() == 3);
}

TEST_CASE("query: no snapshots or only null slots give an empty answer", "[query]") {
  for (const Snapshots& snaps : {Snapshots{}, Snapshots{nullptr, nullptr}}) {
    auto r = Run(Query("", 0, 0, 5, 10), snaps);
    CHECK(r.total() == 0);
    CHECK(r.matched() == 0);
    CHECK(r.connections_size() == 0);
    CHECK(r.offset() == 5);
    CHECK(Micros(r.snapshot_time()) == 0);
  }
}

TEST_CASE("query: RunQuery replaces what was in the response", "[query]") {
  const Snapshots snaps = TwoWorkers();
  v1::ListConnectionsResponse r;
  RunQuery(Query(), snaps, "eth0", &r);
  RunQuery(Query("proto:udp"), snaps, "eth0", &r);
  CHECK(Ids(r) == std::vector<uint64_t>{2, 7});
  CHECK(r.matched() == 2);
}

// --- Sorting ---------------------------------------------------------------

// Checks `ids` for sort field `sort`, and that descending is its exact
// reverse (tie-breaks included).
void CheckSort(const Snapshots& snaps, v1::SortField sort, const std::vector<uint64_t>& ids) {
  INFO("sort: " << v1::SortField_Name(sort));
  auto asc = Run(Query("", sort, v1::SORT_ORDER_ASCENDING), snaps);
  CHECK(Ids(asc) == ids);
  auto unspecified_order = Run(Query("", sort, v1::SORT_ORDER_UNSPECIFIED), snaps);
  CHECK(Ids(unspecified_order) == ids);
  auto desc = Run(Query("", sort, v1::SORT_ORDER_DESCENDING), snaps);
  CHECK(Ids(desc) == Reversed(ids));
}

TEST_CASE("query: first seen order, ties by id", "[query]") {
  // Ids and first-seen times disagree, and 3 ties with 9 and 4 with 2.
  std::vector<Connection> w0 = {Conn(9, 300), Conn(2, 100), Conn(7, 500)};
  std::vector<Connection> w1 = {Conn(3, 300), Conn(4, 100), Conn(1, 900)};
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  const std::vector<uint64_t> order = {2, 4, 3, 9, 7, 1};
  CheckSort(snaps, v1::SORT_FIELD_UNSPECIFIED, order);
  CheckSort(snaps, v1::SORT_FIELD_FIRST_SEEN, order);
}

TEST_CASE("query: last seen order", "[query]") {
  std::vector<Connection> w0 = {Conn(1, 10), Conn(2, 20), Conn(3, 30)};
  std::vector<Connection> w1 = {Conn(4, 5), Conn(5, 40), Conn(6, 1)};
  w0[0].last_seen_us = 500;
  w0[1].last_seen_us = 100;
  w0[2].last_seen_us = 300;
  w1[0].last_seen_us = 300;  // Ties with 3: first seen 5 < 30.
  w1[1].last_seen_us = 100;  // Ties with 2: first seen 20 < 40.
  w1[2].last_seen_us = 900;
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  CheckSort(snaps, v1::SORT_FIELD_LAST_SEEN, {2, 5, 4, 3, 1, 6});
}

TEST_CASE("query: protocol order is by name", "[query]") {
  std::vector<Connection> w0 = {Conn(1, 10, kIpProtoUdp), Conn(2, 20, kIpProtoTcp),
                                Conn(3, 30, kIpProtoIcmpv6, "fd00::1", 0, "fd00::2", 0)};
  std::vector<Connection> w1 = {Conn(4, 40, kPseudoProtoArp, "10.0.0.1", 0, "10.0.0.2", 0),
                                Conn(5, 5, kIpProtoIcmp, "10.0.0.1", 1, "8.8.8.8", 1),
                                Conn(6, 60, 47 /* GRE */), Conn(7, 1, kIpProtoTcp)};
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  // arp < icmp < icmpv6 < other < tcp (7 before 2: first seen) < udp.
  CheckSort(snaps, v1::SORT_FIELD_PROTOCOL, {4, 5, 3, 6, 7, 2, 1});
}

TEST_CASE("query: local address order is address, then port", "[query]") {
  std::vector<Connection> w0 = {
      Conn(1, 10, kIpProtoTcp, "10.0.0.2", 40000, "1.1.1.1", 443),
      Conn(2, 20, kIpProtoTcp, "10.0.0.1", 40001, "1.1.1.1", 443),
      // Local is endpoint B of the key here (its address is the higher).
      Conn(3, 30, kIpProtoTcp, "10.0.0.1", 40000, "9.9.9.9", 443),
  };
  std::vector<Connection> w1 = {
      Conn(4, 40, kIpProtoTcp, "2001:db8::1", 40000, "2001:db8::2", 443),
      Conn(5, 50, kIpProtoTcp, "::1", 40000, "::1", 443),
      Conn(6, 5, kIpProtoTcp, "10.0.0.1", 40000, "8.8.8.8", 53),  // Ties with 3.
      Conn(7, 70, kIpProtoTcp, "9.255.255.255", 40000, "1.1.1.1", 443),
  };
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  // ::1 < every v4-mapped address < 2001:db8::1; numeric, not text, order
  // (9.255.255.255 < 10.0.0.1).
  CheckSort(snaps, v1::SORT_FIELD_LOCAL_ADDRESS, {5, 7, 6, 3, 2, 1, 4});
  auto r = Run(Query("", v1::SORT_FIELD_LOCAL_ADDRESS), snaps);
  REQUIRE(r.connections_size() == 7);
  CHECK(r.connections(3).local().address() == "10.0.0.1");
  CHECK(r.connections(3).local().port() == 40000);
  CHECK(r.connections(3).remote().address() == "9.9.9.9");
}

TEST_CASE("query: remote address order is address, then port", "[query]") {
  std::vector<Connection> w0 = {
      Conn(1, 10, kIpProtoTcp, "10.0.0.1", 40000, "93.184.215.14", 443),
      Conn(2, 20, kIpProtoTcp, "10.0.0.1", 40001, "93.184.215.14", 80),
      Conn(3, 30, kIpProtoTcp, "200.0.0.1", 40000, "1.1.1.1", 443),  // Local is B.
  };
  std::vector<Connection> w1 = {
      Conn(4, 40, kIpProtoTcp, "2001:db8::1", 40000, "2001:db8::2", 443),
      Conn(5, 5, kIpProtoTcp, "10.0.0.9", 40002, "93.184.215.14", 443),  // Ties with 1.
      Conn(6, 60, kIpProtoTcp, "10.0.0.1", 40000, "100.0.0.1", 443),
  };
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  CheckSort(snaps, v1::SORT_FIELD_REMOTE_ADDRESS, {3, 2, 5, 1, 6, 4});
}

TEST_CASE("query: state order is by state name", "[query]") {
  std::vector<Connection> w0 = {Conn(1, 10), Conn(2, 20), Conn(3, 30)};
  std::vector<Connection> w1 = {Conn(4, 40), Conn(5, 50), Conn(6, 5)};
  w0[0].state = ConnState::kTimeWait;
  w0[1].state = ConnState::kClosed;
  w0[2].state = ConnState::kCloseWait;
  w1[0].state = ConnState::kEstablished;
  w1[1].state = ConnState::kSynSent;
  w1[2].state = ConnState::kEstablished;
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  // close_wait < closed < established (6, then 4) < syn_sent < time_wait.
  CheckSort(snaps, v1::SORT_FIELD_STATE, {3, 2, 6, 4, 5, 1});
}

TEST_CASE("query: service order is by name, unknown first", "[query]") {
  std::vector<Connection> w0 = {
      Conn(1, 10, kIpProtoTcp, "10.0.0.1", 40000, "1.1.1.1", 443),     // https
      Conn(2, 20, kIpProtoUdp, "10.0.0.1", 40000, "1.1.1.1", 53),      // domain
      Conn(3, 30, kIpProtoTcp, "10.0.0.1", 40000, "1.1.1.1", 44444),  // none
  };
  std::vector<Connection> w1 = {
      Conn(4, 40, kIpProtoTcp, "10.0.0.1", 22, "1.1.1.1", 40000, false),  // ssh (inbound)
      Conn(5, 50, kIpProtoTcp, "10.0.0.1", 40000, "1.1.1.1", 80),       // http
      Conn(6, 5, kIpProtoIcmp, "10.0.0.1", 443, "1.1.1.1", 443),        // none: not TCP/UDP
      Conn(7, 7, kIpProtoTcp, "10.0.0.2", 40000, "1.1.1.1", 443),       // https, ties with 1
  };
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  CheckSort(snaps, v1::SORT_FIELD_SERVICE, {6, 3, 2, 5, 7, 1, 4});
}

TEST_CASE("query: application and process sort fall back to first seen, then id",
          "[query]") {
  // No connection has an application or a process: all tie.
  std::vector<Connection> w0 = {Conn(5, 30), Conn(1, 20)};
  std::vector<Connection> w1 = {Conn(3, 10), Conn(2, 20)};
  const Snapshots snaps = {Snap(kNow, w0), Snap(kNow, w1)};
  CheckSort(snaps, v1::SORT_FIELD_APPLICATION, {3, 1, 2, 5});
  CheckSort(snaps, v1::SORT_FIELD_PROCESS, {3, 1, 2, 5});
}

// Six connections with distinct in/out/total figures, and ties: local is
// endpoint A for odd ids and B for even ones, so the in/out mapping counts.
Snapshots CounterTable(bool rates) {
  struct Row {
    uint64_t id;
    int64_t first_seen;
    uint32_t in;
    uint32_t out;
  };
  // in:    1:10 2:50 3:30 4:30 5:0  6:20
  // out:   1:60 2:0  3:5  4:5  5:40 6:70
  // total: 1:70 2:50 3:35 4:35 5:40 6:90
  const Row rows[] = {{1, 10, 10, 60}, {2, 20, 50, 0}, {3, 60, 30, 5},
                      {4, 40, 30, 5},  {5, 50, 0, 40}, {6, 5, 20, 70}};
  std::vector<Connection> w[2];
  for (const Row& r : rows) {
    // 10.0.0.1 < 200.0.0.1: local is A when it is 10.0.0.1.
    Connection c = r.id % 2 == 1 ? Conn(r.id, r.first_seen, kIpProtoTcp, "10.0.0.1", 40000,
                                        "200.0.0.1", 443)
                                 : Conn(r.id, r.first_seen, kIpProtoTcp, "200.0.0.1", 40000,
                                        "10.0.0.1", 443);
    REQUIRE(c.local == (r.id % 2 == 1 ? 0 : 1));
    if (rates) {
      SetRates(&c, r.in, r.out);
    } else {
      SetBytes(&c, r.in, r.out);
    }
    w[r.id % 2].push_back(c);
  }
  return {Snap(kNow, w[0]), Snap(kNow, w[1])};
}

TEST_CASE("query: byte counter orders, in and out from the local side", "[query]") {
  const Snapshots snaps = CounterTable(false);
  // 3 and 4 tie on in and on out: 4 was seen first.
  CheckSort(snaps, v1::SORT_FIELD_BYTES_IN, {5, 1, 6, 4, 3, 2});
  CheckSort(snaps, v1::SORT_FIELD_BYTES_OUT, {2, 4, 3, 5, 1, 6});
  CheckSort(snaps, v1::SORT_FIELD_BYTES_TOTAL, {4, 3, 5, 2, 1, 6});
  auto r = Run(Query("", v1::SORT_FIELD_BYTES_IN, v1::SORT_ORDER_DESCENDING), snaps);
  REQUIRE(r.connections_size() == 6);
  CHECK(r.connections(0).id() == 2);
  CHECK(r.connections(0).received().bytes() == 50);
  CHECK(r.connections(0).sent().bytes() == 0);
}

TEST_CASE("query: RTT order, and the idle timeout of each row", "[query]") {
  // Handshake RTTs 300, none, 100, 200 µs.
  std::vector<Connection> w;
  const uint32_t rtts[] = {300, 0, 100, 200};
  for (uint64_t id = 1; id <= 4; ++id) {
    Connection c = Conn(id, static_cast<int64_t>(id) * 10);
    c.tcp.handshake_rtt_us = rtts[id - 1];
    c.timeout_class = id == 4 ? TimeoutClass::kTcpHandshake : TimeoutClass::kTcpEstablished;
    w.push_back(c);
  }
  const Snapshots snaps = {Snap(kNow, std::move(w))};
  CheckSort(snaps, v1::SORT_FIELD_RTT, {2, 3, 4, 1});
  auto r = Run(Query("", v1::SORT_FIELD_RTT, v1::SORT_ORDER_DESCENDING), snaps);
  REQUIRE(r.connections_size() == 4);
  CHECK(r.connections(0).id() == 1);
  CHECK(r.connections(0).tcp().handshake_rtt().nanos() == 300'000);
  CHECK(r.connections(0).idle_timeout().seconds() == 600);
  CHECK(r.connections(1).id() == 4);
  CHECK(r.connections(1).idle_timeout().seconds() == 60);
}

TEST_CASE("query: RTT order uses the smoothed RTT where there is one", "[query]") {
  // Handshake RTTs 300, 100, 200 µs; connection 2 later measured 900 µs
  // smoothed (a handshake timed by sequence numbers: legs 600 + 300).
  std::vector<Connection> w;
  const uint32_t rtts[] = {300, 100, 200};
  for (uint64_t id = 1; id <= 3; ++id) {
    Connection c = Conn(id, static_cast<int64_t>(id) * 10);
    c.tcp.handshake_rtt_us = rtts[id - 1];
    if (id == 2) {
      TcpRttSegment s;
      s.dir = 0;
      s.flags = 0x02;
      s.seq_len = 1;
      c.tcp.rtt.OnSegment(s);
      s = {};
      s.timestamp_us = 600;
      s.dir = 1;
      s.flags = 0x12;
      s.ack = 1;
      s.seq_len = 1;
      c.tcp.rtt.OnSegment(s);
      s = {};
      s.timestamp_us = 900;
      s.flags = 0x10;
      s.ack = 1;
      c.tcp.rtt.OnSegment(s);
      REQUIRE(c.tcp.rtt.srtt_us() == 900);
    }
    w.push_back(c);
  }
  const Snapshots snaps = {Snap(kNow, std::move(w))};
  CheckSort(snaps, v1::SORT_FIELD_RTT, {3, 1, 2});
  auto r = Run(Query("", v1::SORT_FIELD_RTT, v1::SORT_ORDER_DESCENDING), snaps);
  REQUIRE(r.connections_size() == 3);
  CHECK(r.connections(0).id() == 2);
  CHECK(r.connections(0).tcp().srtt().nanos() == 900'000);
  CHECK(r.connections(0).tcp().rttvar().nanos() == 450'000);
  CHECK(r.connections(0).tcp().handshake_rtt().nanos() == 100'000);
  CHECK_FALSE(r.connections(1).tcp().has_srtt());
}

TEST_CASE("query: rate orders, in and out from the local side", "[query]") {
  const Snapshots snaps = CounterTable(true);
  CheckSort(snaps, v1::SORT_FIELD_RATE_IN, {5, 1, 6, 4, 3, 2});
  CheckSort(snaps, v1::SORT_FIELD_RATE_OUT, {2, 4, 3, 5, 1, 6});
  CheckSort(snaps, v1::SORT_FIELD_RATE_TOTAL, {4, 3, 5, 2, 1, 6});
  auto r = Run(Query("", v1::SORT_FIELD_RATE_OUT, v1::SORT_ORDER_DESCENDING), snaps);
  REQUIRE(r.connections_size() == 6);
  CHECK(r.connections(0).id() == 6);
  CHECK(r.connections(0).rate_out() == 70.0);
  CHECK(r.connections(0).rate_in() == 20.0);
}

// Regression test (this was a bug): RunQuery sorts by each connection's rate
// as of its own worker's snapshot time but returns rates computed as of the
// newest worker's time, so with workers published at different times the
// rows of a rate sort are not in the order of the rates they show.
TEST_CASE("query: rate order agrees with the rates returned", "[query]") {
  // Worker 0 published half a second into second S, worker 1 half a second
  // into S + 1. Connection 1 sent 1000 B in second S; connection 2 800 B in
  // S + 1. As of worker 0's time, 1 runs at 1000 B/s; as of the newest time
  // (S + 1.5) at 500 B/s, below 2's 800 B/s.
  const int64_t t0 = kNow + kSecond / 2;
  const int64_t t1 = kNow + kSecond + kSecond / 2;
  Connection c1 = Conn(1, 10);
  SetRates(&c1, 1000, 0, kNow);
  Connection c2 = Conn(2, 20);
  SetRates(&c2, 800, 0, kNow + kSecond);
  const Snapshots snaps = {Snap(t0, {c1}), Snap(t1, {c2})};
  auto r = Run(Query("", v1::SORT_FIELD_RATE_IN, v1::SORT_ORDER_DESCENDING), snaps);
  REQUIRE(r.connections_size() == 2);
  INFO("row 0: id " << r.connections(0).id() << " rate_in " << r.connections(0).rate_in()
                    << "; row 1: id " << r.connections(1).id() << " rate_in "
                    << r.connections(1).rate_in());
  CHECK(r.connections(0).rate_in() >= r.connections(1).rate_in());
}

// --- An independent check of every sort over a random table -----------------

std::string ProtocolText(v1::Protocol p) {
  switch (p) {
    case v1::PROTOCOL_TCP: return "tcp";
    case v1::PROTOCOL_UDP: return "udp";
    case v1::PROTOCOL_ICMP: return "icmp";
    case v1::PROTOCOL_ICMPV6: return "icmpv6";
    case v1::PROTOCOL_ARP: return "arp";
    default: return "other";
  }
}

std::string StateText(v1::ConnectionState s) {
  // CONNECTION_STATE_TIME_WAIT -> time_wait.
  return absl::AsciiStrToLower(v1::ConnectionState_Name(s).substr(17));
}

// A sort key computed from the returned message only.
using Key = std::tuple<std::string, IpAddress, uint32_t, double>;

Key KeyOf(v1::SortField f, const v1::Connection& c) {
  auto port = [&c](const v1::Endpoint& e) {
    return c.has_icmp() ? c.icmp().echo_id() : e.port();
  };
  switch (f) {
    case v1::SORT_FIELD_LAST_SEEN: return {"", {}, 0, static_cast<double>(Micros(c.last_seen()))};
    case v1::SORT_FIELD_PROTOCOL: return {ProtocolText(c.protocol()), {}, 0, 0};
    case v1::SORT_FIELD_LOCAL_ADDRESS:
      return {"", Addr(c.local().address()), port(c.local()), 0};
    case v1::SORT_FIELD_REMOTE_ADDRESS:
      return {"", Addr(c.remote().address()), port(c.remote()), 0};
    case v1::SORT_FIELD_STATE: return {StateText(c.state()), {}, 0, 0};
    case v1::SORT_FIELD_SERVICE: return {c.service(), {}, 0, 0};
    case v1::SORT_FIELD_RATE_IN: return {"", {}, 0, c.rate_in()};
    case v1::SORT_FIELD_RATE_OUT: return {"", {}, 0, c.rate_out()};
    case v1::SORT_FIELD_RATE_TOTAL: return {"", {}, 0, c.rate_in() + c.rate_out()};
    case v1::SORT_FIELD_BYTES_IN: return {"", {}, 0, static_cast<double>(c.received().bytes())};
    case v1::SORT_FIELD_BYTES_OUT: return {"", {}, 0, static_cast<double>(c.sent().bytes())};
    case v1::SORT_FIELD_BYTES_TOTAL:
      return {"", {}, 0, static_cast<double>(c.received().bytes() + c.sent().bytes())};
    default: return {"", {}, 0, 0};  // First seen, application, process: all tie.
  }
}

Snapshots RandomTable(uint32_t seed, int workers, int per_worker) {
  std::mt19937 rng(seed);
  const char* v4[] = {"10.0.0.1", "10.0.0.2", "127.0.0.1", "192.168.1.1", "93.184.215.14"};
  const char* v6[] = {"::1", "fd00::1", "2001:db8::1", "2606:4700::1111"};
  const uint16_t ports[] = {443, 80, 53, 22, 40000, 40001, 44444};
  const uint8_t protos[] = {kIpProtoTcp, kIpProtoTcp, kIpProtoUdp, kIpProtoIcmp,
                            kIpProtoIcmpv6, kPseudoProtoArp, 47};
  uint64_t id = 1;
  Snapshots snaps;
  for (int w = 0; w < workers; ++w) {
    std::vector<Connection> conns;
    for (int i = 0; i < per_worker; ++i) {
      const uint8_t proto = protos[rng() % std::size(protos)];
      const bool six = proto == kIpProtoIcmpv6 || (proto != kIpProtoIcmp &&
                                                   proto != kPseudoProtoArp && rng() % 3 == 0);
      auto pick = [&]() -> std::string {
        return six ? v6[rng() % std::size(v6)] : v4[rng() % std::size(v4)];
      };
      const std::string local = pick();
      const std::string remote = pick();
      uint16_t lport = ports[rng() % std::size(ports)];
      uint16_t rport = ports[rng() % std::size(ports)];
      if (proto == kPseudoProtoArp || proto == 47) lport = rport = 0;
      if (proto == kIpProtoIcmp || proto == kIpProtoIcmpv6) rport = lport;  // Echo id.
      Connection c = Conn(id++, static_cast<int64_t>(rng() % 5), proto, local, lport, remote,
                          rport, rng() % 2 == 0);
      c.last_seen_us = 10 + static_cast<int64_t>(rng() % 4);
      c.state = static_cast<ConnState>(rng() % 13);
      SetBytes(&c, rng() % 3 * 100, rng() % 3 * 100);
      SetRates(&c, static_cast<uint32_t>(rng() % 3), static_cast<uint32_t>(rng() % 3));
      conns.push_back(c);
    }
    std::shuffle(conns.begin(), conns.end(), rng);
    snaps.push_back(Snap(kNow, std::move(conns)));  // One time: see the rate test above.
  }
  snaps.insert(snaps.begin() + 1, nullptr);
  return snaps;
}

TEST_CASE("query: every sort field orders by its key, then first seen, then id", "[query]") {
  const Snapshots snaps = RandomTable(7, 2, 40);
  for (int f = v1::SortField_MIN; f <= v1::SortField_MAX; ++f) {
    if (!v1::SortField_IsValid(f)) continue;  // The enum has gaps (LOCATION = 200).
    const auto field = static_cast<v1::SortField>(f);
    for (bool desc : {false, true}) {
      INFO("sort " << v1::SortField_Name(field) << (desc ? " descending" : " ascending"));
      auto r = Run(Query("", f, desc ? v1::SORT_ORDER_DESCENDING : v1::SORT_ORDER_ASCENDING),
                   snaps);
      REQUIRE(r.connections_size() == 80);
      for (int i = 1; i < r.connections_size(); ++i) {
        const v1::Connection& a = r.connections(i - 1);
        const v1::Connection& b = r.connections(i);
        const auto ka = std::tuple_cat(KeyOf(field, a), std::make_tuple(Micros(a.first_seen()), a.id()));
        const auto kb = std::tuple_cat(KeyOf(field, b), std::make_tuple(Micros(b.first_seen()), b.id()));
        INFO("rows " << i - 1 << " (id " << a.id() << ") and " << i << " (id " << b.id() << ")");
        if (desc) {
          CHECK(kb < ka);
        } else {
          CHECK(ka < kb);
        }
      }
    }
  }
}

// --- Windows -------------------------------------------------------------

TEST_CASE("query: offset and limit select a window of the sorted rows", "[query]") {
  const Snapshots snaps = TwoWorkers();
  const std::vector<uint64_t> all = {1, 5, 2, 6, 3, 7, 4};
  struct Case {
    uint32_t offset;
    uint32_t limit;
    std::vector<uint64_t> ids;
  };
  const Case cases[] = {
      {0, 0, all},                   // limit 0: everything.
      {0, 3, {1, 5, 2}},
      {2, 3, {2, 6, 3}},
      {5, 3, {7, 4}},                // Runs off the end.
      {6, 1, {4}},
      {3, 0, {6, 3, 7, 4}},          // limit 0 with an offset: the rest.
      {0, 7, all},
      {0, 100, all},
      {7, 0, {}},                    // Offset at the end.
      {8, 5, {}},                    // Past the end.
      {4000000000u, 4000000000u, {}},
      {1, 4294967295u, {5, 2, 6, 3, 7, 4}},
  };
  for (const Case& c : cases) {
    INFO("offset " << c.offset << " limit " << c.limit);
    auto r = Run(Query("", 0, 0, c.offset, c.limit), snaps);
    CHECK(Ids(r) == c.ids);
    CHECK(r.total() == 7);
    CHECK(r.matched() == 7);
    CHECK(r.offset() == c.offset);  // Echoed as requested, even past the end.
  }
  // The window applies after the filter.
  auto r = Run(Query("proto:tcp", 0, 0, 1, 2), snaps);
  CHECK(Ids(r) == std::vector<uint64_t>{5, 3});
  CHECK(r.matched() == 4);
}

TEST_CASE("query: pages concatenate to the full order for every sort", "[query]") {
  const Snapshots snaps = RandomTable(11, 2, 25);
  for (int f = v1::SortField_MIN; f <= v1::SortField_MAX; ++f) {
    if (!v1::SortField_IsValid(f)) continue;
    for (int order : {v1::SORT_ORDER_ASCENDING, v1::SORT_ORDER_DESCENDING}) {
      INFO("sort " << f << " order " << order);
      const std::vector<uint64_t> full = Ids(Run(Query("", f, order), snaps));
      REQUIRE(full.size() == 50);
      for (uint32_t page : {1u, 3u, 7u, 49u, 50u, 64u}) {
        INFO("page size " << page);
        std::vector<uint64_t> joined;
        for (uint32_t offset = 0; offset < full.size() + page; offset += page) {
          auto r = Run(Query("", f, order, offset, page), snaps);
          CHECK(r.matched() == 50);
          CHECK(static_cast<uint32_t>(r.connections_size()) <= page);
          const auto ids = Ids(r);
          joined.insert(joined.end(), ids.begin(), ids.end());
        }
        CHECK(joined == full);
      }
    }
  }
}

// --- MakeQuery ------------------------------------------------------------

TEST_CASE("query: MakeQuery copies valid fields", "[query]") {
  auto q = MakeQuery("proto:tcp", v1::SORT_FIELD_PROCESS, v1::SORT_ORDER_DESCENDING, 3, 9, true);
  REQUIRE(q.ok());
  CHECK(q->sort == v1::SORT_FIELD_PROCESS);
  CHECK(q->descending);
  CHECK(q->offset == 3);
  CHECK(q->limit == 9);
  CHECK(q->hide_loopback);
  CHECK(q->filter.terms().size() == 1);
  auto asc = MakeQuery("", v1::SORT_FIELD_UNSPECIFIED, v1::SORT_ORDER_ASCENDING, 0, 0, false);
  REQUIRE(asc.ok());
  CHECK_FALSE(asc->descending);
  CHECK(asc->filter.empty());
  auto unspecified = MakeQuery("", 0, v1::SORT_ORDER_UNSPECIFIED, 0, 0, false);
  REQUIRE(unspecified.ok());
  CHECK_FALSE(unspecified->descending);
}

TEST_CASE("query: MakeQuery rejects unknown enum values and bad filters", "[query]") {
  for (int sort : {-1, v1::SortField_MAX + 1, 99, INT32_MIN, INT32_MAX}) {
    INFO("sort " << sort);
    auto q = MakeQuery("", sort, 0, 0, 0, false);
    REQUIRE_FALSE(q.ok());
    CHECK(q.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(q.status().message()) == "unknown sort field " + std::to_string(sort));
  }
  for (int order : {-1, v1::SortOrder_MAX + 1, 42}) {
    INFO("order " << order);
    auto q = MakeQuery("", 0, order, 0, 0, false);
    REQUIRE_FALSE(q.ok());
    CHECK(q.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(q.status().message()) == "unknown sort order " + std::to_string(order));
  }
  auto bad = MakeQuery("proto:tcp prot:udp", 0, 0, 0, 0, false);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(bad.status().message()).starts_with("bad filter: column 11: unknown key"));
  CHECK(MakeQuery("", v1::SortField_MAX, v1::SortOrder_MAX, 0, 0, false).ok());
}

}  // namespace
}  // namespace rustnet
