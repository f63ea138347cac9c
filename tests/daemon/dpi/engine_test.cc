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

// A flow as the pipeline shows it to the engine (client 10.0.0.1, server
// 10.0.0.2, the client its initiator and endpoint A), with the results the
// engine hands back.
struct TestFlow : DpiCallbacks {
  TestFlow(uint64_t flow_id, uint8_t protocol, uint16_t client, uint16_t server)
      : id(flow_id), transport(protocol), client_port(client), server_port(server) {}

  const AppRecord* app() const override { return record.get(); }
  void SetApp(std::shared_ptr<const AppRecord> r) override {
    CHECK(r != nullptr);
    CHECK(r->protocol != AppProtocol::kUnknown);
    if (record != nullptr) CHECK_FALSE(*record == *r);
    record = std::move(r);
    ++published;
  }
  void Done() override {
    CHECK_FALSE(done);  // At most once.
    done = true;
  }

  uint64_t id;
  uint8_t transport;
  uint16_t client_port;
  uint16_t server_port;
  uint32_t payload_packets = 0;  // As the tracker counts them.
  std::shared_ptr<const AppRecord> record;
  int published = 0;
  bool done = false;
};

// One packet of `f` to the engine; true if it published a new record.
bool Feed(DpiEngine& e, TestFlow& f, bool from_client, const Bytes& payload, uint32_t seq = 0) {
  CHECK_FALSE(f.done);  // The caller's side of the contract.
  if (!payload.empty()) ++f.payload_packets;
  DpiFlow flow;
  flow.id = f.id;
  flow.transport = f.transport;
  flow.client_port = f.client_port;
  flow.server_port = f.server_port;
  flow.direction = from_client ? 0 : 1;
  flow.from_client = from_client;
  flow.stream_seq = seq;
  flow.payload_packets = f.payload_packets;
  const int before = f.published;
  e.Process(flow, payload, f);
  return f.published != before;
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

// What one pending DNS query costs the engine.
uint64_t PendingQueryBytes() {
  DpiEngine e;
  TestFlow c(1, kIpProtoUdp, 40000, 53);
  Feed(e, c, true, Dns("probe.example", false));
  return e.stats().state_bytes;
}

TEST_CASE("dpi_engine: payload no dissector claims costs no state, up to the packet limit",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow c(1, kIpProtoUdp, 40000, 47000);
  const Bytes noise(64, 0xab);
  for (int i = 1; i < DpiEngine::kMaxPayloadPackets; ++i) {
    CHECK_FALSE(Feed(e, c, i % 2 == 0, noise));
    CHECK_FALSE(c.done);
    CHECK(e.stats().active == 0);
    CHECK(e.stats().state_bytes == 0);
  }
  Feed(e, c, true, noise);
  CHECK(c.done);
  CHECK(c.record == nullptr);
  CHECK(e.stats().gave_up == 1);
}

TEST_CASE("dpi_engine: packets without payload and non-TCP/UDP allocate nothing",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow udp(1, kIpProtoUdp, 40000, 53);
  CHECK_FALSE(Feed(e, udp, true, {}));
  CHECK_FALSE(udp.done);
  CHECK(e.stats().active == 0);
  TestFlow icmp(2, kIpProtoIcmp, 7, 7);
  Feed(e, icmp, true, Bytes(16, 1));
  CHECK(icmp.done);
  CHECK(e.stats().active == 0);
}

TEST_CASE("dpi_engine: a query's state lives until its answer; the record is published at once",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow c(1, kIpProtoUdp, 40000, 53);
  CHECK(Feed(e, c, true, Dns("www.example.com", false)));
  REQUIRE(c.record != nullptr);
  CHECK(c.record->protocol == AppProtocol::kDns);
  CHECK(c.record->dns->query == "www.example.com");
  CHECK(c.record->dns->answers.empty());
  CHECK_FALSE(c.done);
  CHECK(e.stats().active == 1);
  // Small: the sessions and bookkeeping, no copy of the record.
  CHECK(e.stats().state_bytes > 0);
  CHECK(e.stats().state_bytes < 256);

  const std::shared_ptr<const AppRecord> first = c.record;
  CHECK(Feed(e, c, false, Dns("www.example.com", true)));
  CHECK(c.done);
  REQUIRE(c.record != nullptr);
  CHECK(c.record != first);  // A new record; the first one is unchanged.
  CHECK(first->dns->answers.empty());
  CHECK(c.record->dns->answers == std::vector<std::string>{"192.0.2.7"});
  CHECK(e.stats().classified == 1);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: Forget frees a flow's state; forgetting twice, or a flow without "
          "state, is harmless",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow a(1, kIpProtoUdp, 40001, 53);
  TestFlow b(2, kIpProtoUdp, 40002, 53);
  Feed(e, a, true, Dns("a.example", false));
  Feed(e, b, true, Dns("b.example", false));
  CHECK(e.stats().active == 2);
  e.Forget(a.id);
  CHECK(e.stats().active == 1);
  e.Forget(a.id);  // Twice is harmless.
  e.Forget(999);   // So is a flow the engine never held.
  CHECK(e.stats().active == 1);

  // A new flow takes the freed room; b is still inspected to the end.
  TestFlow c(3, kIpProtoUdp, 40003, 53);
  Feed(e, c, true, Dns("c.example", false));
  CHECK(e.stats().active == 2);
  CHECK(Feed(e, b, false, Dns("b.example", true)));
  CHECK(b.done);
  REQUIRE(b.record != nullptr);
  CHECK(b.record->dns->answers.size() == 1);
  e.Forget(c.id);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: a record equal to the published one is not published again",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow c(1, kIpProtoUdp, 40000, 53);
  CHECK(Feed(e, c, true, Dns("www.example.com", false)));
  // A retransmitted query adds nothing.
  CHECK_FALSE(Feed(e, c, true, Dns("www.example.com", false)));
  CHECK(c.published == 1);
  CHECK_FALSE(c.done);
  CHECK(Feed(e, c, false, Dns("www.example.com", true)));
  CHECK(c.published == 2);
  CHECK(c.done);
}

TEST_CASE("dpi_engine: TCP is reassembled per direction, each from its own sequence numbers",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow c(1, kIpProtoTcp, 40000, 8080);
  const std::string request = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
  Feed(e, c, true, Text(request.substr(0, 5)), 100);
  Feed(e, c, true, Text(request.substr(0, 5)), 100);  // A retransmission: ignored.
  Feed(e, c, true, Text(request.substr(5)), 105);
  REQUIRE(c.record != nullptr);
  CHECK(c.record->http->host == "a.example");
  CHECK_FALSE(c.done);
  Feed(e, c, false, Text("HTTP/1.1 2"), 7000);
  CHECK(Feed(e, c, false, Text("00 OK\r\nContent-Length: 0\r\n\r\n"), 7010));
  CHECK(c.done);
  CHECK(c.record->http->status == 200);
}

TEST_CASE("dpi_engine: at the state cap the state fed least recently makes room",
          "[dpi][dpi_engine]") {
  const uint64_t one = PendingQueryBytes();
  REQUIRE(one > 0);
  DpiEngine e(3 * one + one / 2);  // Room for three.
  std::vector<TestFlow> c;
  for (uint64_t i = 0; i < 4; ++i) {
    c.emplace_back(i + 1, kIpProtoUdp, static_cast<uint16_t>(40000 + i), 53);
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
  CHECK_FALSE(c[3].done);

  // c[1] keeps what was published; its answer finds no state and ends it.
  REQUIRE(c[1].record != nullptr);
  CHECK_FALSE(Feed(e, c[1], false, Dns("one.example", true)));
  CHECK(c[1].done);
  CHECK(c[1].record->dns->query == "one.example");
  CHECK(c[1].record->dns->answers.empty());
  // The others are still inspected to the end.
  for (const int i : {0, 2, 3}) {
    CHECK(Feed(e, c[static_cast<size_t>(i)], false,
               Dns(c[static_cast<size_t>(i)].record->dns->query, true)));
    CHECK(c[static_cast<size_t>(i)].done);
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
  std::vector<TestFlow> dns;
  for (uint64_t i = 0; i < kQueries; ++i) {
    dns.emplace_back(i + 1, kIpProtoUdp, static_cast<uint16_t>(40000 + i), 53);
    Feed(e, dns.back(), true, Dns(absl::StrCat("n", i, ".example"), false));
  }
  REQUIRE(e.stats().active == kQueries);
  // An HTTP request whose segments keep coming past a gap (one byte
  // missing): the engine holds them until the gap fills.
  TestFlow http(kQueries + 1, kIpProtoTcp, 50000, 80);
  uint32_t seq = 1;
  const Bytes start = Text("GET / HTTP/1.1\r\n");
  Feed(e, http, true, start, seq);
  seq += static_cast<uint32_t>(start.size()) + 1;
  const Bytes line = Text("X-Pad: " + std::string(400, 'a') + "\r\n");
  // Until the total passes the cap (the request alone stays well under it).
  for (int i = 0; i < 20 && e.stats().skipped_state_cap == 0; ++i) {
    Feed(e, http, true, line, seq);
    seq += static_cast<uint32_t>(line.size());
    if (e.stats().state_bytes > cap) FAIL("over the cap after segment " << i);
  }
  CHECK_FALSE(http.done);
  const uint64_t dropped = e.stats().skipped_state_cap;
  CHECK(dropped > 0);
  CHECK(dropped < kQueries);
  // The oldest went first: the first `dropped` queries end unanswered, the
  // rest are still inspected.
  for (size_t i = 0; i < dns.size(); ++i) {
    const std::string name = dns[i].record->dns->query;
    Feed(e, dns[i], false, Dns(name, true));
    CHECK(dns[i].done);
    CHECK(dns[i].record->dns->answers.empty() == (i < dropped));
  }
}

TEST_CASE("dpi_engine: with no room for one state, new connections are skipped and counted",
          "[dpi][dpi_engine]") {
  DpiEngine e(1);
  TestFlow c(1, kIpProtoUdp, 40000, 53);
  CHECK_FALSE(Feed(e, c, true, Dns("www.example.com", false)));
  CHECK(c.done);
  CHECK(c.record == nullptr);
  CHECK(e.stats().skipped_state_cap == 1);
  CHECK(e.stats().active == 0);
}

TEST_CASE("dpi_engine: connections with equal facts share one record", "[dpi][dpi_engine]") {
  DpiEngine e;
  std::vector<TestFlow> c;
  for (uint64_t i = 0; i < 3; ++i) {
    c.emplace_back(i + 1, kIpProtoUdp, static_cast<uint16_t>(40000 + i), 53);
  }
  for (size_t i = 0; i < 3; ++i) {
    const std::string name = i < 2 ? "same.example" : "other.example";
    Feed(e, c[i], true, Dns(name, false));
    Feed(e, c[i], false, Dns(name, true));
    REQUIRE(c[i].done);
  }
  CHECK(c[0].record == c[1].record);
  CHECK(c[0].record != c[2].record);
  CHECK(c[2].record->dns->query == "other.example");
  // A shared record outlives the first connection that held it.
  c[0].record.reset();
  CHECK(c[1].record->dns->query == "same.example");
}

TEST_CASE("dpi_engine: records that differ in one field are not shared, equal ones are",
          "[dpi][dpi_engine]") {
  // A and AAAA answers for one name: the same but for the query type.
  DpiEngine e;
  std::vector<TestFlow> c;
  for (uint64_t i = 0; i < 4; ++i) {
    c.emplace_back(i + 1, kIpProtoUdp, static_cast<uint16_t>(41000 + i), 53);
  }
  const uint16_t types[] = {1, 28, 28, 1};
  for (size_t i = 0; i < c.size(); ++i) {
    Feed(e, c[i], true, Dns("same.example", false, types[i]));
    Feed(e, c[i], false, Dns("same.example", true, types[i]));
    REQUIRE(c[i].record != nullptr);
  }
  CHECK(c[0].record->dns->query_type == "A");
  CHECK(c[1].record->dns->query_type == "AAAA");
  CHECK(c[2].record->dns->query_type == "AAAA");
  CHECK(c[3].record->dns->query_type == "A");
  CHECK(c[0].record != c[1].record);
  CHECK(c[1].record == c[2].record);
  CHECK(c[3].record == c[0].record);
}

TEST_CASE("dpi_engine: TCP bytes past a gap are held, counted, and released in order",
          "[dpi][dpi_engine]") {
  DpiEngine e;
  TestFlow c(1, kIpProtoTcp, 40000, 8888);
  const std::string request =
      "GET /x HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test/1\r\n\r\n";
  const Bytes a = Text(request.substr(0, 10));
  const Bytes b = Text(request.substr(10, 20));
  const Bytes rest = Text(request.substr(30));
  const uint32_t seq = 1000;
  Feed(e, c, true, a, seq);
  REQUIRE_FALSE(c.done);
  const uint64_t before_gap = e.stats().state_bytes;
  Feed(e, c, true, rest, seq + 30);  // Ahead of b.
  CHECK(e.stats().state_bytes >= before_gap + rest.size());
  CHECK(c.record == nullptr);
  Feed(e, c, true, b, seq + 10);  // Fills the gap: all of it is delivered.
  REQUIRE(c.record != nullptr);
  CHECK(c.record->http->host == "www.example.com");
  CHECK(c.record->http->user_agent == "test/1");
  CHECK(Feed(e, c, false, Text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 9000));
  CHECK(c.done);
  CHECK(c.record->http->status == 200);
  CHECK(e.stats().active == 0);
  CHECK(e.stats().state_bytes == 0);
}

TEST_CASE("dpi_engine: a flood of unanswered queries stays under the cap and does not stop "
          "new connections from being classified",
          "[dpi][dpi_engine]") {
  const uint64_t cap = 100 * PendingQueryBytes();
  DpiEngine e(cap);
  std::vector<TestFlow> flood;
  flood.reserve(10'000);
  for (uint64_t i = 0; i < 10'000; ++i) {
    flood.emplace_back(i + 1, kIpProtoUdp, static_cast<uint16_t>(1024 + i), 53);
    Feed(e, flood.back(), true, Dns(absl::StrCat("q", i, ".example"), false));
    if (e.stats().state_bytes > cap) FAIL("over the cap after " << i);
  }
  CHECK(e.stats().active <= 100);
  CHECK(e.stats().skipped_state_cap >= 9'900);
  TestFlow fresh(20'000, kIpProtoUdp, 30000, 53);
  Feed(e, fresh, true, Dns("fresh.example", false));
  Feed(e, fresh, false, Dns("fresh.example", true));
  CHECK(fresh.done);
  REQUIRE(fresh.record != nullptr);
  CHECK(fresh.record->dns->answers.size() == 1);
}

}  // namespace
}  // namespace rustnet
