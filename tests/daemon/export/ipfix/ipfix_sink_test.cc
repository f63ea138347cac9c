// The IPFIX sink: records per direction or biflow from a connection and
// what was exported before; end to end over UDP to a socket of the test's
// own: active-timeout deltas from snapshots, the end-of-flow record and the
// final table's forced end add up to the connection's counts, with the
// right flowEndReason each; a full queue drops and counts.
#include "daemon/export/ipfix/ipfix_sink.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/snapshot/snapshot_store.h"

namespace rustnet {
namespace {

using ipfix::EndReason;
using ipfix::FlowRecord;

Connection MakeTcp(uint64_t id, uint16_t port_a, uint64_t pa, uint64_t pb, int64_t first_us,
                   int64_t last_us) {
  Connection c;
  const uint8_t a[4] = {10, 0, 0, 1};
  const uint8_t b[4] = {10, 0, 0, 2};
  c.key.addr_a = IpAddress::FromV4(a);
  c.key.addr_b = IpAddress::FromV4(b);
  c.key.port_a = port_a;
  c.key.port_b = 443;
  c.key.protocol = kIpProtoTcp;
  c.key.ip_version = 4;
  c.id = id;
  c.packets[0] = pa;
  c.packets[1] = pb;
  c.bytes[0] = pa * 100;
  c.bytes[1] = pb * 1000;
  c.first_seen_us = first_us;
  c.last_seen_us = last_us;
  c.in_use = true;
  return c;
}

TEST_CASE("ipfix records: one per direction with packets, the initiator's first, deltas") {
  Connection c = MakeTcp(1, 40000, 3, 2, 1'000'000, 9'000'000);
  c.initiator = 1;  // B started it.
  c.tcp_flags_seen = 0x12;
  std::vector<FlowRecord> out;
  MakeFlowRecords(c, ExportedCounters{}, EndReason::kEndOfFlow, false, 7, &out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].src_port == 443);  // B -> A first.
  CHECK(out[0].packets == 2);
  CHECK(out[0].octets == 2000);
  CHECK(out[1].src_port == 40000);
  CHECK(out[1].packets == 3);
  CHECK(out[1].octets == 300);
  CHECK(out[0].start_ms == 1000);
  CHECK(out[0].end_ms == 9000);
  CHECK(out[0].tcp_flags == 0x12);
  CHECK(out[0].ingress_interface == 7);
  CHECK(out[0].end_reason == EndReason::kEndOfFlow);

  out.clear();
  ExportedCounters base;
  base.packets[0] = 3;  // Nothing new A -> B since.
  base.bytes[0] = 300;
  base.packets[1] = 1;
  base.bytes[1] = 1000;
  base.last_seen_us = 5'000'000;
  MakeFlowRecords(c, base, EndReason::kActiveTimeout, false, 0, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].src_port == 443);
  CHECK(out[0].packets == 1);
  CHECK(out[0].octets == 1000);
  CHECK(out[0].start_ms == 5000);  // From the last export on.

  out.clear();
  MakeFlowRecords(c, ExportedCounters{}, EndReason::kEndOfFlow, true, 0, &out);
  REQUIRE(out.size() == 1);  // Biflow: one, the initiator's direction forward.
  CHECK(out[0].src_port == 443);
  CHECK(out[0].packets == 2);
  CHECK(out[0].reverse_packets == 3);
  CHECK(out[0].reverse_octets == 300);
}

TEST_CASE("ipfix records: nothing new means no record; ARP is not exported; ICMP ports 0") {
  Connection c = MakeTcp(1, 40000, 3, 2, 0, 1);
  ExportedCounters all;
  all.packets[0] = 3;
  all.packets[1] = 2;
  std::vector<FlowRecord> out;
  MakeFlowRecords(c, all, EndReason::kIdleTimeout, false, 0, &out);
  CHECK(out.empty());
  c.key.protocol = kPseudoProtoArp;
  MakeFlowRecords(c, ExportedCounters{}, EndReason::kIdleTimeout, false, 0, &out);
  CHECK(out.empty());
  c.key.protocol = kIpProtoIcmp;
  MakeFlowRecords(c, ExportedCounters{}, EndReason::kIdleTimeout, false, 0, &out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].src_port == 0);
  CHECK(out[0].dst_port == 0);
}

// A UDP socket of the test's own, and the data records of template 256
// (IPv4, per direction) it receives: src port, packets, octets, reason.
struct Received {
  uint16_t src_port;
  uint64_t packets;
  uint64_t octets;
  uint8_t reason;
};

uint64_t Be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

void ParseMessage(const uint8_t* m, size_t len, std::vector<Received>* out) {
  REQUIRE(len >= 16);
  REQUIRE(Be(m, 2) == 10);
  REQUIRE(Be(m + 2, 2) == len);
  size_t at = 16;
  while (at + 4 <= len) {
    const uint64_t id = Be(m + at, 2);
    const size_t set_len = Be(m + at + 2, 2);
    REQUIRE(set_len >= 4);
    REQUIRE(at + set_len <= len);
    if (id == 256) {
      size_t r = at + 4;
      while (r < at + set_len) {
        const uint8_t* p = m + r;
        out->push_back(Received{static_cast<uint16_t>(Be(p + 8, 2)), Be(p + 22, 8), Be(p + 14, 8),
                                p[47]});
        size_t q = r + 58;  // The fixed part; then the enterprise fields.
        for (int f = 0; f < 8; ++f) {
          if (f == 4) {  // processId, 4 bytes.
            q += 4;
            continue;
          }
          size_t n = m[q++];
          if (n == 255) {
            n = Be(m + q, 2);
            q += 2;
          }
          q += n;
        }
        r = q;
      }
    }
    at += set_len;
  }
}

TEST_CASE("ipfix sink end to end over UDP: active deltas, end of flow, forced end add up") {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  socklen_t sl = sizeof(sa);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &sl) == 0);
  timeval tv{10, 0};  // A bound on a wait, not a threshold checked.
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  IpfixSinkOptions o;
  o.collectors = {absl::StrCat("udp://127.0.0.1:", ntohs(sa.sin_port))};
  o.active_timeout_us = 10'000'000;
  auto sink = IpfixSink::Open(o);
  REQUIRE(sink.ok());

  const int64_t s = 1'000'000;
  // Flow 1 (port 1001): long-lived, ends with FIN. Flow 2 (1002): open at
  // the end.
  (*sink)->OnSnapshot(0, SnapshotOf(5 * s, {MakeTcp(1, 1001, 2, 1, 1 * s, 5 * s)}));
  (*sink)->OnSnapshot(0, SnapshotOf(12 * s, {MakeTcp(1, 1001, 5, 4, 1 * s, 12 * s),
                                               MakeTcp(2, 1002, 1, 0, 11 * s, 11 * s)}));
  (*sink)->OnSnapshot(0, SnapshotOf(18 * s, {MakeTcp(1, 1001, 6, 4, 1 * s, 18 * s),
                                               MakeTcp(2, 1002, 2, 0, 11 * s, 17 * s)}));
  (*sink)->OnSnapshot(0, SnapshotOf(25 * s, {MakeTcp(1, 1001, 9, 7, 1 * s, 25 * s),
                                               MakeTcp(2, 1002, 3, 1, 11 * s, 24 * s)}));
  const Connection closed = MakeTcp(1, 1001, 10, 8, 1 * s, 26 * s);
  const ClosedConnection cc{&closed, CloseReason::kFin, 26 * s};
  (*sink)->OnClosed({&cc, 1}, "test");
  const Connection open = MakeTcp(2, 1002, 4, 1, 11 * s, 27 * s);
  const Connection* rows[] = {&open};
  (*sink)->OnFinalTable(FinalTable{rows, 28 * s, "test"});

  // Flow 1: active at 12 s (5+4 packets, since 1 s), at 25 s (4+3 more;
  // 18 s is only 6 s after), FIN at 26 s (1+1). Flow 2: active at 24 s
  // (3+1: 13 s since its start), forced end at 28 s (1+0).
  std::vector<Received> got;
  uint8_t buf[65536];
  while (got.size() < 9) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    ParseMessage(buf, static_cast<size_t>(n), &got);
  }
  close(fd);
  std::map<uint16_t, std::vector<std::pair<uint64_t, uint8_t>>> by_port;
  std::map<uint16_t, uint64_t> packets;
  for (const Received& r : got) {
    by_port[r.src_port].push_back({r.packets, r.reason});
    packets[r.src_port] += r.packets;
  }
  using V = std::vector<std::pair<uint64_t, uint8_t>>;
  CHECK(by_port[1001] == V{{5, 2}, {4, 2}, {1, 3}});
  CHECK(by_port[1002] == V{{3, 2}, {1, 4}});
  CHECK(packets[443] == 8 + 1);  // The reverse directions of both.
  CHECK(packets[1001] == 10);
  CHECK(packets[1002] == 4);
  const IpfixSink::Stats st = (*sink)->stats();
  CHECK(st.records == got.size());
  REQUIRE(st.collectors.size() == 1);
  CHECK(st.collectors[0].records == got.size());
  CHECK(st.collectors[0].dropped == 0);
  CHECK(st.queue_dropped == 0);
}

TEST_CASE("ipfix sink: a full queue drops closed connections and counts them") {
  IpfixSinkOptions o;
  o.collectors = {"udp://127.0.0.1:9"};  // Discard; nothing needs to arrive.
  o.queue_capacity = 0;  // Everything is dropped.
  auto sink = IpfixSink::Open(o);
  REQUIRE(sink.ok());
  const Connection c = MakeTcp(1, 1001, 1, 1, 0, 1);
  const ClosedConnection cc[3] = {{&c, CloseReason::kFin, 1},
                                  {&c, CloseReason::kTimeout, 1},
                                  {&c, CloseReason::kEvicted, 1}};
  (*sink)->OnClosed(cc, "test");
  CHECK((*sink)->stats().queue_dropped == 3);
  (*sink)->OnFinalTable(FinalTable{});
  CHECK((*sink)->stats().records == 0);
}

TEST_CASE("ipfix UDP collector resends templates after 4096 messages, whatever the period") {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  socklen_t sl = sizeof(sa);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &sl) == 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto address = ipfix::ParseCollectorUrl(absl::StrCat("udp://127.0.0.1:", ntohs(sa.sin_port)));
  REQUIRE(address.ok());
  ipfix::CollectorOptions co;
  co.template_refresh = absl::Hours(1);
  auto collector = ipfix::Collector::Open(*address, co);
  REQUIRE(collector.ok());
  FlowRecord r;
  r.packets = 1;
  std::vector<size_t> with_templates;
  uint8_t buf[2048];
  for (size_t i = 0; i < 4097 + 10; ++i) {
    (*collector)->Export({&r, 1}, 0);  // One message each; received before the next.
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n > 20);
    if (Be(buf + 16, 2) == 2) with_templates.push_back(i);
  }
  close(fd);
  CHECK(with_templates == std::vector<size_t>{0, 4096});
  CHECK((*collector)->stats().records == 4107);
}

TEST_CASE("ipfix collector URLs: udp and tcp, IPv6 in brackets, mistakes explained") {
  auto a = ipfix::ParseCollectorUrl("udp://127.0.0.1:4739");
  REQUIRE(a.ok());
  CHECK(!a->tcp);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 4739);
  auto b = ipfix::ParseCollectorUrl("tcp://[::1]:2055");
  REQUIRE(b.ok());
  CHECK(b->tcp);
  CHECK(b->host == "::1");
  CHECK(b->port == 2055);
  for (const char* bad : {"127.0.0.1:4739", "udp://127.0.0.1", "udp://:4739", "udp://h:0",
                          "udp://h:65536", "sctp://h:1", "udp://::1:4739", "tcp://[::1]4739"}) {
    INFO(bad);
    auto r = ipfix::ParseCollectorUrl(bad);
    REQUIRE(!r.ok());
    CHECK(std::string(r.status().message()).find("udp://HOST:PORT") != std::string::npos);
  }
}

}  // namespace
}  // namespace rustnet
