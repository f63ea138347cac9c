#include "daemon/dpi/engine.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;
using testing::Text;

// A connection as the flow table makes it: client 10.0.0.1:client_port,
// server 10.0.0.2:server_port, the client its initiator.
Connection MakeConnection(uint64_t id, uint8_t protocol, uint16_t client_port,
                          uint16_t server_port) {
  const uint8_t client[4] = {10, 0, 0, 1};
  const uint8_t server[4] = {10, 0, 0, 2};
  Connection c;
  c.in_use = true;
  c.id = id;
  bool client_is_a = false;
  c.key = MakeFlowKey(protocol, 4, IpAddress::FromV4(client), client_port,
                      IpAddress::FromV4(server), server_port, &client_is_a);
  c.initiator = client_is_a ? 0 : 1;
  return c;
}

DecodedPacket PacketOf(const Connection& c, bool from_client, uint32_t seq = 0) {
  DecodedPacket p;
  p.key = c.key;
  p.src_is_a = from_client == (c.initiator == 0);
  p.has_l4_header = true;
  p.seq = seq;
  p.tcp_flags = c.key.protocol == kIpProtoTcp ? kTcpAck : 0;
  return p;
}

void PutName(Bytes& b, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    Put8(b, static_cast<uint8_t>(dot - start));
    PutBytes(b, Text(name.substr(start, dot - start)));
    start = dot + 1;
  }
  Put8(b, 0);
}

// An A query for `name`, or (`answer`) its response with one A record.
Bytes Dns(const std::string& name, bool answer, uint16_t query_type = 1) {
  Bytes b;
  Put16(b, 0x4242);
  Put16(b, answer ? 0x8180 : 0x0100);
  Put16(b, 1);
  Put16(b, answer ? 1 : 0);
  Put16(b, 0);
  Put16(b, 0);
  PutName(b, name);
  Put16(b, query_type);
  Put16(b, 1);
  if (answer) {
    PutName(b, name);
    Put16(b, 1);
    Put16(b, 1);
    Put32(b, 300);
    Put16(b, 4);
    PutBytes(b, {192, 0, 2, 7});
  }
  return b;
}

bool Feed(DpiEngine& e, Connection& c, bool from_client, const Bytes& payload, uint32_t seq = 0) {
  return e.Process(c, PacketOf(c, from_client, seq), payload);
}

// What one pending DNS query costs the engine.
uint64_t PendingQueryBytes() {
  DpiEngine e;
  Connection c = MakeConnection(1, kIpProtoUdp, 40000, 53);
  Feed(e, c, true, Dns("probe.example", false));
  return e.stats().state_bytes;
}

TEST_CASE("dpi_engine: payload no dissector claims costs no state, up to the packet limit",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  Connection c = MakeConnection(1, kIpProtoUdp, 40000, 47000);
  const Bytes noise(64, 0xab);
  for (int i = 1; i < DpiEngine::kMaxPayloadPackets; ++i) {
    CHECK_FALSE(Feed(e, c, i % 2 == 0, noise));
    CHECK_FALSE(c.dpi_done);
    CHECK(c.dpi_state == kNoIndex);
    CHECK(e.stats().active == 0);
    CHECK(e.stats().state_bytes == 0);
  }
  CHECK(c.dpi_packets == DpiEngine::kMaxPayloadPackets - 1);
  Feed(e, c, true, noise);
  CHECK(c.dpi_done);
  CHECK(c.app == nullptr);
  CHECK(e.stats().gave_up == 1);
}

TEST_CASE("dpi_engine: packets without payload and non-TCP/UDP allocate nothing",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  Connection udp = MakeConnection(1, kIpProtoUdp, 40000, 53);
  CHECK_FALSE(Feed(e, udp, true, {}));
  CHECK_FALSE(udp.dpi_done);
  CHECK(udp.dpi_packets == 0);
  Connection icmp = MakeConnection(2, kIpProtoIcmp, 7, 7);
  Feed(e, icmp, true, Bytes(16, 1));
  CHECK(icmp.dpi_done);
  CHECK(e.stats().active == 0);
}

TEST_CASE("dpi_engine: a query's state lives until its answer; the record is published at once",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  Connection c = MakeConnection(1, kIpProtoUdp, 40000, 53);
  CHECK(Feed(e, c, true, Dns("www.example.com", false)));
  REQUIRE(c.app != nullptr);
  CHECK(c.app->protocol == AppProtocol::kDns);
  CHECK(c.app->dns.query == "www.example.com");
  CHECK(c.app->dns.answers.empty());
  CHECK_FALSE(c.dpi_done);
  CHECK(c.dpi_state != kNoIndex);
  CHECK(e.stats().active == 1);
  // Small: the sessions and bookkeeping, no copy of the record.
  CHECK(e.stats().state_bytes > 0);
  CHECK(e.stats().state_bytes < 256);

  const std::shared_ptr<const AppRecord> first = c.app;
  CHECK(Feed(e, c, false, Dns("www.example.com", true)));
  CHECK(c.dpi_done);
  CHECK(c.dpi_state == kNoIndex);
  REQUIRE(c.app != nullptr);
  CHECK(c.app != first);  // A new record; the first one is unchanged.
  CHECK(first->dns.answers.empty());
  CHECK(c.app->dns.answers == std::vector<std::string>{"192.0.2.7"});
  CHECK(e.stats().classified == 1);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: Forget frees the state; a reused slot is not freed by a stale copy",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  Connection a = MakeConnection(1, kIpProtoUdp, 40001, 53);
  Connection b = MakeConnection(2, kIpProtoUdp, 40002, 53);
  Feed(e, a, true, Dns("a.example", false));
  Feed(e, b, true, Dns("b.example", false));
  CHECK(e.stats().active == 2);
  const Connection stale_a = a;  // A snapshot's copy, say.
  e.Forget(a);
  CHECK(e.stats().active == 1);
  e.Forget(a);  // Twice is harmless.
  CHECK(e.stats().active == 1);

  Connection c = MakeConnection(3, kIpProtoUdp, 40003, 53);
  Feed(e, c, true, Dns("c.example", false));
  CHECK(c.dpi_state == stale_a.dpi_state);  // The freed slot, reused.
  e.Forget(stale_a);                       // Not its owner any more.
  CHECK(e.stats().active == 2);
  e.Forget(b);
  e.Forget(c);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: at the state cap the state fed least recently makes room",
          "[dpi][dpi_engine]") {
  const uint64_t one = PendingQueryBytes();
  REQUIRE(one > 0);
  DpiEngine e(3 * one + one / 2);  // Room for three.
  std::vector<Connection> c;
  for (uint64_t i = 0; i < 4; ++i) {
    c.push_back(MakeConnection(i + 1, kIpProtoUdp, static_cast<uint16_t>(40000 + i), 53));
  }
  Feed(e, c[0], true, Dns("zero.example", false));
  Feed(e, c[1], true, Dns("one.example", false));
  Feed(e, c[2], true, Dns("two.example", false));
  CHECK(e.stats().active == 3);
  // A retransmitted query: c[0] is now the most recently fed.
  Feed(e, c[0], true, Dns("zero.example", false));
  // A fourth needs room: c[1] goes, the one waiting longest.
  Feed(e, c[3], true, Dns("three.example", false));
  CHECK(e.stats().active == 3);
  CHECK(e.stats().skipped_state_cap == 1);
  CHECK(e.stats().state_bytes <= 3 * one + one / 2);
  CHECK(c[3].dpi_state != kNoIndex);

  // c[1] keeps what was published; its answer finds no state and ends it.
  REQUIRE(c[1].app != nullptr);
  CHECK_FALSE(Feed(e, c[1], false, Dns("one.example", true)));
  CHECK(c[1].dpi_done);
  CHECK(c[1].app->dns.query == "one.example");
  CHECK(c[1].app->dns.answers.empty());
  // The others are still inspected to the end.
  for (const int i : {0, 2, 3}) {
    CHECK(Feed(e, c[static_cast<size_t>(i)], false,
               Dns(c[static_cast<size_t>(i)].app->dns.query, true)));
    CHECK(c[static_cast<size_t>(i)].dpi_done);
  }
  CHECK(e.stats().classified == 3);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: a state that grows makes room by dropping the least recently fed",
          "[dpi][dpi_engine]") {
  const uint64_t one = PendingQueryBytes();
  constexpr size_t kQueries = 100;
  const uint64_t cap = kQueries * one + 4000;
  DpiEngine e(cap);
  std::vector<Connection> dns;
  for (uint64_t i = 0; i < kQueries; ++i) {
    dns.push_back(MakeConnection(i + 1, kIpProtoUdp, static_cast<uint16_t>(40000 + i), 53));
    Feed(e, dns.back(), true, Dns(absl::StrCat("n", i, ".example"), false));
  }
  REQUIRE(e.stats().active == kQueries);
  // An HTTP request whose headers keep coming: its session buffers them.
  Connection http = MakeConnection(100, kIpProtoTcp, 50000, 80);
  uint32_t seq = 1;
  const Bytes start = Text("GET / HTTP/1.1\r\n");
  Feed(e, http, true, start, seq);
  seq += static_cast<uint32_t>(start.size());
  const Bytes line = Text("X-Pad: " + std::string(400, 'a') + "\r\n");
  // Until the total passes the cap (the request alone stays well under it).
  for (int i = 0; i < 20 && e.stats().skipped_state_cap == 0; ++i) {
    Feed(e, http, true, line, seq);
    seq += static_cast<uint32_t>(line.size());
    if (e.stats().state_bytes > cap) FAIL("over the cap after line " << i);
  }
  CHECK_FALSE(http.dpi_done);
  CHECK(http.dpi_state != kNoIndex);
  const uint64_t dropped = e.stats().skipped_state_cap;
  CHECK(dropped > 0);
  CHECK(dropped < kQueries);
  // The oldest went first: the first `dropped` queries end unanswered, the
  // rest are still inspected.
  for (size_t i = 0; i < dns.size(); ++i) {
    const std::string name = dns[i].app->dns.query;
    Feed(e, dns[i], false, Dns(name, true));
    CHECK(dns[i].dpi_done);
    CHECK(dns[i].app->dns.answers.empty() == (i < dropped));
  }
}

TEST_CASE("dpi_engine: with no room for one state, new connections are skipped and counted",
          "[dpi][dpi_engine]") {
  DpiEngine e(1);
  Connection c = MakeConnection(1, kIpProtoUdp, 40000, 53);
  CHECK_FALSE(Feed(e, c, true, Dns("www.example.com", false)));
  CHECK(c.dpi_done);
  CHECK(c.app == nullptr);
  CHECK(e.stats().skipped_state_cap == 1);
  CHECK(e.stats().active == 0);
}

TEST_CASE("dpi_engine: connections with equal facts share one record", "[dpi][dpi_engine]") {
  DpiEngine e;
  std::vector<Connection> c;
  for (uint64_t i = 0; i < 3; ++i) {
    c.push_back(MakeConnection(i + 1, kIpProtoUdp, static_cast<uint16_t>(40000 + i), 53));
  }
  for (size_t i = 0; i < 3; ++i) {
    const std::string name = i < 2 ? "same.example" : "other.example";
    Feed(e, c[i], true, Dns(name, false));
    Feed(e, c[i], false, Dns(name, true));
    REQUIRE(c[i].dpi_done);
  }
  CHECK(c[0].app == c[1].app);
  CHECK(c[0].app != c[2].app);
  CHECK(c[2].app->dns.query == "other.example");
  // A shared record outlives the first connection that held it.
  c[0].app.reset();
  CHECK(c[1].app->dns.query == "same.example");
}

TEST_CASE("dpi_engine: records that differ in one field are not shared, equal ones are",
          "[dpi][dpi_engine]") {
  // A and AAAA answers for one name: the same but for the query type.
  DpiEngine e;
  std::vector<Connection> c;
  for (uint64_t i = 0; i < 4; ++i) {
    c.push_back(MakeConnection(i + 1, kIpProtoUdp, static_cast<uint16_t>(41000 + i), 53));
  }
  const uint16_t types[] = {1, 28, 28, 1};
  for (size_t i = 0; i < c.size(); ++i) {
    Feed(e, c[i], true, Dns("same.example", false, types[i]));
    Feed(e, c[i], false, Dns("same.example", true, types[i]));
    REQUIRE(c[i].app != nullptr);
  }
  CHECK(c[0].app->dns.query_type == "A");
  CHECK(c[1].app->dns.query_type == "AAAA");
  CHECK(c[2].app->dns.query_type == "AAAA");
  CHECK(c[3].app->dns.query_type == "A");
  CHECK(c[0].app != c[1].app);
  CHECK(c[1].app == c[2].app);
  CHECK(c[3].app == c[0].app);
}

TEST_CASE("dpi_engine: TCP bytes past a gap are held, counted, and released in order",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  Connection c = MakeConnection(1, kIpProtoTcp, 40000, 8888);
  const std::string request =
      "GET /x HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test/1\r\n\r\n";
  const Bytes a = Text(request.substr(0, 10));
  const Bytes b = Text(request.substr(10, 20));
  const Bytes rest = Text(request.substr(30));
  const uint32_t seq = 1000;
  Feed(e, c, true, a, seq);
  REQUIRE(c.dpi_state != kNoIndex);
  const uint64_t before_gap = e.stats().state_bytes;
  Feed(e, c, true, rest, seq + 30);  // Ahead of b.
  CHECK(e.stats().state_bytes >= before_gap + rest.size());
  CHECK(c.app == nullptr);
  Feed(e, c, true, b, seq + 10);  // Fills the gap: all of it is delivered.
  REQUIRE(c.app != nullptr);
  CHECK(c.app->http.host == "www.example.com");
  CHECK(c.app->http.user_agent == "test/1");
  CHECK(Feed(e, c, false, Text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 9000));
  CHECK(c.dpi_done);
  CHECK(c.app->http.status == 200);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: a flood of unanswered queries stays under the cap and does not stop "
          "new connections from being classified",
          "[dpi][dpi_engine]") {
  const uint64_t cap = 100 * PendingQueryBytes();
  DpiEngine e(cap);
  std::vector<Connection> flood;
  flood.reserve(10'000);
  for (uint64_t i = 0; i < 10'000; ++i) {
    flood.push_back(MakeConnection(i + 1, kIpProtoUdp, static_cast<uint16_t>(1024 + i), 53));
    Feed(e, flood.back(), true, Dns(absl::StrCat("q", i, ".example"), false));
    if (e.stats().state_bytes > cap) FAIL("over the cap after " << i);
  }
  CHECK(e.stats().active <= 100);
  CHECK(e.stats().skipped_state_cap >= 9'900);
  Connection fresh = MakeConnection(20'000, kIpProtoUdp, 30000, 53);
  Feed(e, fresh, true, Dns("fresh.example", false));
  Feed(e, fresh, false, Dns("fresh.example", true));
  CHECK(fresh.dpi_done);
  REQUIRE(fresh.app != nullptr);
  CHECK(fresh.app->dns.answers.size() == 1);
}

}  // namespace
}  // namespace rustnet
