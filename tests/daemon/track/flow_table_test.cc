#include "daemon/track/flow_table.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Ipv4Packet;
using testing::Ipv6Packet;

constexpr uint8_t kSyn = kTcpSyn;
constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;
constexpr uint8_t kAck = kTcpAck;
constexpr uint8_t kPshAck = kTcpPsh | kTcpAck;
constexpr uint8_t kFinAck = kTcpFin | kTcpAck;
constexpr uint8_t kRstAck = kTcpRst | kTcpAck;

int64_t TimeoutOf(TimeoutClass c) { return kTimeoutUs[static_cast<int>(c)]; }

IpAddress Addr(const std::string& text) {
  const Bytes b = testing::Ip(text);
  return b.size() == 4 ? IpAddress::FromV4(b.data()) : IpAddress::FromV6(b.data());
}

std::shared_ptr<const LocalAddresses> Locals(std::vector<std::string> addrs) {
  auto set = std::make_shared<LocalAddresses>();
  for (const auto& a : addrs) set->insert(Addr(a));
  return set;
}

// Feeds packets built as wire bytes through a real Decoder into a table.
class Harness {
 public:
  explicit Harness(FlowTable::Options o = {})
      : table(std::move(o)), raw(LinkType::kRaw), eth(LinkType::kEthernet) {}

  // Raw IP bytes.
  Connection* Feed(const Bytes& ip, int64_t ts_us) { return FeedWith(raw, ip, ts_us); }
  // An Ethernet frame.
  Connection* FeedEth(const Bytes& frame, int64_t ts_us) { return FeedWith(eth, frame, ts_us); }

  const Connection* Only() {
    REQUIRE(table.size() == 1);
    const Connection* found = nullptr;
    table.ForEach([&found](const Connection& c) { found = &c; });
    return found;
  }
  // The connection of protocol `proto` that has `port` as either port.
  const Connection* With(uint8_t proto, uint16_t port) {
    const Connection* found = nullptr;
    table.ForEach([&](const Connection& c) {
      if (c.key.protocol == proto && (c.key.port_a == port || c.key.port_b == port)) found = &c;
    });
    return found;
  }

  FlowTable table;
  Decoder raw;
  Decoder eth;

 private:
  Connection* FeedWith(Decoder& d, const Bytes& bytes, int64_t ts_us) {
    DecodedPacket p;
    const DecodeResult r = d.Decode(bytes, static_cast<uint32_t>(bytes.size()), ts_us, &p);
    REQUIRE(r == DecodeResult::kOk);
    return table.Process(p);
  }
};

// A TCP conversation between a client 10.0.0.1:40000 and a server
// 10.0.0.2:80 (or the given addresses and ports), with sequence numbers
// kept like a real stack's.
struct Tcp {
  std::string client = "10.0.0.1";
  std::string server = "10.0.0.2";
  uint16_t client_port = 40000;
  uint16_t server_port = 80;
  uint32_t client_seq = 1000;
  uint32_t server_seq = 5000;

  Bytes FromClient(uint8_t flags, size_t payload = 0, uint16_t window = 64000) {
    return Make(true, flags, payload, window);
  }
  Bytes FromServer(uint8_t flags, size_t payload = 0, uint16_t window = 64000) {
    return Make(false, flags, payload, window);
  }

 private:
  Bytes Make(bool from_client, uint8_t flags, size_t payload, uint16_t window) {
    uint32_t& seq = from_client ? client_seq : server_seq;
    testing::TcpSpec t;
    t.sport = from_client ? client_port : server_port;
    t.dport = from_client ? server_port : client_port;
    t.seq = seq;
    t.ack = from_client ? server_seq : client_seq;
    t.flags = flags;
    t.window = window;
    t.payload = Bytes(payload, from_client ? 0x61 : 0x62);
    seq += static_cast<uint32_t>(payload) + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
    const Bytes seg = testing::TcpSegment(t);
    const std::string& src = from_client ? client : server;
    const std::string& dst = from_client ? server : client;
    return src.find(':') == std::string::npos ? Ipv4Packet(src, dst, 6, seg)
                                              : Ipv6Packet(src, dst, 6, seg);
  }
};

// Endpoint index of `addr` in the connection's canonical key.
int Side(const Connection& c, const std::string& addr) {
  return c.key.addr_a == Addr(addr) ? 0 : 1;
}
int ClientSide(const Connection& c) { return Side(c, "10.0.0.1"); }

void Handshake(Harness& h, Tcp& tcp, int64_t t0) {
  h.Feed(tcp.FromClient(kSyn), t0);
  h.Feed(tcp.FromServer(kSynAck), t0 + 2000);
  h.Feed(tcp.FromClient(kAck), t0 + 3000);
}

Bytes Udp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
          size_t payload = 0) {
  return Ipv4Packet(src, dst, 17, testing::UdpDatagram(sport, dport, Bytes(payload, 0)));
}

// ---------------------------------------------------------------------------
// TCP state machine.

TEST_CASE("flow_table: handshake makes ESTABLISHED with RTT and the initiator", "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromClient(kSyn), 1'000'000);
  CHECK(h.Only()->state == ConnState::kSynSent);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpHandshake);
  h.Feed(tcp.FromServer(kSynAck), 1'002'000);
  CHECK(h.Only()->state == ConnState::kSynReceived);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpHandshake);
  CHECK(h.Only()->tcp.handshake_rtt_us == 0);
  h.Feed(tcp.FromClient(kAck), 1'003'000);
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kEstablished);
  CHECK(c->timeout_class == TimeoutClass::kTcpEstablished);
  CHECK(c->tcp.handshake_rtt_us == 3000);
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->local == c->initiator);  // No local addresses known: the initiator.
  CHECK(c->first_seen_us == 1'000'000);
  CHECK(c->last_seen_us == 1'003'000);
  CHECK(c->tcp.retransmissions == 0);
  CHECK(c->tcp.out_of_order == 0);
  CHECK(c->tcp.zero_windows == 0);
  CHECK(h.table.stats().created == 1);
}

TEST_CASE("flow_table: handshake RTT runs from the first SYN, not a retransmitted one",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromClient(kSyn), 1'000'000);
  tcp.client_seq -= 1;
  h.Feed(tcp.FromClient(kSyn), 2'000'000);  // The SYN again after 1 s.
  CHECK(h.Only()->state == ConnState::kSynSent);
  h.Feed(tcp.FromServer(kSynAck), 2'002'000);
  h.Feed(tcp.FromClient(kAck), 2'003'000);
  CHECK(h.Only()->state == ConnState::kEstablished);
  CHECK(h.Only()->tcp.handshake_rtt_us == 1'003'000);
  CHECK(h.Only()->tcp.retransmissions == 1);
}

TEST_CASE("flow_table: a SYN answered by RST is CLOSED", "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromClient(kSyn), 1'000'000);
  h.Feed(tcp.FromServer(kRstAck), 1'000'100);  // Port closed.
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kClosed);
  CHECK(c->reset);
  CHECK(c->timeout_class == TimeoutClass::kTcpClosed);
  CHECK(c->packets[0] + c->packets[1] == 2);
  CHECK(c->tcp.handshake_rtt_us == 0);
}

TEST_CASE("flow_table: counts packets and IP bytes per direction", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kPshAck, 100), 1'010'000);
  h.Feed(tcp.FromServer(kPshAck, 1000), 1'020'000);
  const Connection* c = h.Only();
  const int client = ClientSide(*c);
  CHECK(c->packets[client] == 3);
  CHECK(c->packets[1 - client] == 2);
  CHECK(c->bytes[client] == 40 + 40 + 140);   // SYN, ACK, data (IP + TCP + payload)
  CHECK(c->bytes[1 - client] == 40 + 1040);   // SYN+ACK, data
  CHECK(c->rate[client].Rate(1'020'000) == Approx(220));
  CHECK(c->rate[1 - client].Rate(1'020'000) == Approx(1080));
}

TEST_CASE("flow_table: packets with payload are counted, saturating", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  CHECK(h.Only()->payload_packets == 0);  // SYN, SYN+ACK, ACK carry none.
  h.Feed(tcp.FromClient(kPshAck, 100), 1'010'000);
  h.Feed(tcp.FromServer(kAck), 1'011'000);
  h.Feed(tcp.FromServer(kPshAck, 1000), 1'020'000);
  CHECK(h.Only()->payload_packets == 2);
  for (int i = 0; i < 300; ++i) h.Feed(tcp.FromClient(kPshAck, 10), 1'030'000 + i);
  CHECK(h.Only()->payload_packets == UINT8_MAX);
  // Fresh connections start at zero, UDP counts too.
  const Connection* udp = h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53, 30), 2'000'000);
  REQUIRE(udp != nullptr);
  CHECK(udp->payload_packets == 1);
}

TEST_CASE("flow_table: bytes are IP lengths, not frame lengths", "[flow_table]") {
  Harness h;
  // A 30-byte IPv4 UDP packet in a 60-byte (padded) Ethernet frame.
  Bytes frame = testing::EthernetFrame(0x0800, Udp("10.0.0.1", 40000, "10.0.0.2", 53, 2));
  frame.resize(60, 0);
  h.FeedEth(frame, 1);
  // IPv6: header + payload.
  h.Feed(Ipv6Packet("fd00::1", "fd00::2", 17, testing::UdpDatagram(40001, 53, Bytes(12, 0))), 2);
  const Connection* v4 = h.With(kIpProtoUdp, 40000);
  const Connection* v6 = h.With(kIpProtoUdp, 40001);
  REQUIRE(v4 != nullptr);
  REQUIRE(v6 != nullptr);
  CHECK(v4->bytes[0] + v4->bytes[1] == 30);
  CHECK(v6->bytes[0] + v6->bytes[1] == 60);
}

TEST_CASE("flow_table: source MACs are kept per endpoint", "[flow_table]") {
  Harness h;
  h.FeedEth(testing::EthernetFrame(0x0800, Udp("10.0.0.1", 40000, "10.0.0.2", 53)), 1);
  const Connection* c = h.Only();
  const int client = ClientSide(*c);
  CHECK(c->mac[client] == MacAddress{0x02, 0, 0, 0, 0, 0x01});
  CHECK(c->mac[1 - client] == MacAddress{});
}

TEST_CASE("flow_table: local side closes first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kFinAck), 1'100'000);
  CHECK(h.Only()->state == ConnState::kFinWait1);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosing);
  h.Feed(tcp.FromServer(kAck), 1'101'000);
  CHECK(h.Only()->state == ConnState::kFinWait2);
  // Half-closed: the server may go on sending.
  h.Feed(tcp.FromServer(kPshAck, 500), 1'101'500);
  CHECK(h.Only()->state == ConnState::kFinWait2);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosing);
  h.Feed(tcp.FromServer(kFinAck), 1'102'000);
  CHECK(h.Only()->state == ConnState::kTimeWait);
  h.Feed(tcp.FromClient(kAck), 1'103'000);
  CHECK(h.Only()->state == ConnState::kTimeWait);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosed);
  CHECK(h.Only()->tcp.retransmissions == 0);
}

TEST_CASE("flow_table: a FIN+ACK that acknowledges our FIN goes straight to TIME_WAIT",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kFinAck), 1'100'000);
  h.Feed(tcp.FromServer(kFinAck), 1'101'000);
  CHECK(h.Only()->state == ConnState::kTimeWait);
}

TEST_CASE("flow_table: an ACK below the FIN does not acknowledge it", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kFinAck | kTcpPsh, 100), 1'100'000);  // Data and FIN together.
  const uint32_t fin_end = tcp.client_seq;
  tcp.client_seq = fin_end - 1;  // The server acknowledges the data only.
  h.Feed(tcp.FromServer(kAck), 1'101'000);
  CHECK(h.Only()->state == ConnState::kFinWait1);
  tcp.client_seq = fin_end;
  h.Feed(tcp.FromServer(kAck), 1'102'000);
  CHECK(h.Only()->state == ConnState::kFinWait2);
}

TEST_CASE("flow_table: remote side closes first: CLOSE_WAIT, LAST_ACK, CLOSED", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromServer(kFinAck), 1'100'000);
  CHECK(h.Only()->state == ConnState::kCloseWait);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosing);
  h.Feed(tcp.FromClient(kPshAck, 10), 1'100'500);  // Still sending our half.
  CHECK(h.Only()->state == ConnState::kCloseWait);
  h.Feed(tcp.FromClient(kFinAck), 1'101'000);
  CHECK(h.Only()->state == ConnState::kLastAck);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosing);
  h.Feed(tcp.FromServer(kAck), 1'102'000);
  CHECK(h.Only()->state == ConnState::kClosed);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosed);
  CHECK_FALSE(h.Only()->reset);
}

TEST_CASE("flow_table: states are seen from the local endpoint, here the server",
          "[flow_table]") {
  FlowTable::Options o;
  o.local_addresses = Locals({"10.0.0.2"});
  SECTION("the remote client closes first") {
    Harness h(o);
    Tcp tcp;
    Handshake(h, tcp, 1'000'000);
    h.Feed(tcp.FromClient(kFinAck), 1'100'000);
    CHECK(h.Only()->state == ConnState::kCloseWait);
    h.Feed(tcp.FromServer(kFinAck), 1'101'000);
    CHECK(h.Only()->state == ConnState::kLastAck);
    h.Feed(tcp.FromClient(kAck), 1'102'000);
    CHECK(h.Only()->state == ConnState::kClosed);
  }
  SECTION("the local server closes first") {
    Harness h(o);
    Tcp tcp;
    Handshake(h, tcp, 1'000'000);
    h.Feed(tcp.FromServer(kFinAck), 1'100'000);
    CHECK(h.Only()->state == ConnState::kFinWait1);
    h.Feed(tcp.FromClient(kAck), 1'101'000);
    CHECK(h.Only()->state == ConnState::kFinWait2);
    h.Feed(tcp.FromClient(kFinAck), 1'102'000);
    CHECK(h.Only()->state == ConnState::kTimeWait);
  }
}

TEST_CASE("flow_table: simultaneous close goes through CLOSING to TIME_WAIT", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  const uint32_t client_before_fin = tcp.client_seq;
  h.Feed(tcp.FromClient(kFinAck), 1'100'000);
  // The server's FIN crosses the client's: it does not acknowledge it.
  const uint32_t client_after_fin = tcp.client_seq;
  tcp.client_seq = client_before_fin;
  h.Feed(tcp.FromServer(kFinAck), 1'100'100);
  CHECK(h.Only()->state == ConnState::kClosing);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosing);
  // Each side acknowledges the other's FIN.
  tcp.client_seq = client_after_fin;
  h.Feed(tcp.FromClient(kAck), 1'100'200);
  CHECK(h.Only()->state == ConnState::kClosing);
  h.Feed(tcp.FromServer(kAck), 1'100'300);
  CHECK(h.Only()->state == ConnState::kTimeWait);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosed);
}

TEST_CASE("flow_table: simultaneous open goes through SYN_RECEIVED", "[flow_table]") {
  // RFC 9293 §3.5 figure 7: both sides send a SYN, then a SYN+ACK.
  Harness h;
  Tcp tcp;
  tcp.client_port = 5000;
  tcp.server_port = 6000;
  h.Feed(tcp.FromClient(kSyn), 1'000'000);
  CHECK(h.Only()->state == ConnState::kSynSent);
  h.Feed(tcp.FromServer(kSyn), 1'000'100);
  CHECK(h.Only()->state == ConnState::kSynReceived);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpHandshake);
  tcp.client_seq -= 1;
  tcp.server_seq -= 1;
  h.Feed(tcp.FromClient(kSynAck), 1'000'200);
  h.Feed(tcp.FromServer(kSynAck), 1'000'300);
  CHECK(h.Only()->state == ConnState::kSynReceived);
  h.Feed(tcp.FromClient(kAck), 1'000'400);
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kEstablished);
  CHECK(c->initiator == ClientSide(*c));  // The first SYN's sender.
  CHECK(c->tcp.handshake_rtt_us == 400);
}

TEST_CASE("flow_table: RST from either side closes the connection", "[flow_table]") {
  for (const bool from_server : {true, false}) {
    INFO("RST from " << (from_server ? "server" : "client"));
    std::vector<TableEvent> events;
    FlowTable::Options o;
    o.on_event = [&events](const Connection&, TableEvent e) { events.push_back(e); };
    Harness h(o);
    Tcp tcp;
    Handshake(h, tcp, 1'000'000);
    h.Feed(tcp.FromClient(kPshAck, 10), 1'050'000);
    h.Feed(from_server ? tcp.FromServer(kTcpRst, 0, 0) : tcp.FromClient(kRstAck, 0, 0),
           1'100'000);
    const Connection* c = h.Only();
    CHECK(c->state == ConnState::kClosed);
    CHECK(c->reset);
    CHECK(c->timeout_class == TimeoutClass::kTcpClosed);
    CHECK(c->tcp.zero_windows == 0);  // A RST's window is not a zero window.
    REQUIRE(events.size() == 2);
    CHECK(events[1] == TableEvent::kClosedReset);
  }
}

TEST_CASE("flow_table: picked up mid-stream is ESTABLISHED without an RTT", "[flow_table]") {
  SECTION("client data first") {
    Harness h;
    Tcp tcp;
    h.Feed(tcp.FromClient(kPshAck, 100), 1'000'000);
    const Connection* c = h.Only();
    CHECK(c->state == ConnState::kEstablished);
    CHECK(c->initiator == ClientSide(*c));
    h.Feed(tcp.FromServer(kAck), 1'000'100);
    CHECK(h.Only()->state == ConnState::kEstablished);
    CHECK(h.Only()->handshake_done);
    CHECK(h.Only()->tcp.handshake_rtt_us == 0);
  }
  SECTION("server data first: the server's port decides the initiator") {
    Harness h;
    Tcp tcp;
    h.Feed(tcp.FromServer(kAck, 500), 1'000'000);
    const Connection* c = h.Only();
    CHECK(c->state == ConnState::kEstablished);
    CHECK(c->initiator == ClientSide(*c));
    CHECK(c->tcp.handshake_rtt_us == 0);
  }
  SECTION("a known service above 1024 counts as a server port") {
    Harness h;
    Tcp tcp;
    tcp.server_port = 5432;  // postgresql
    h.Feed(tcp.FromServer(kPshAck, 10), 1);
    CHECK(h.Only()->initiator == ClientSide(*h.Only()));
  }
  SECTION("two unknown high ports: the first packet's sender") {
    Harness h;
    Tcp tcp;
    tcp.server_port = 50000;
    h.Feed(tcp.FromServer(kPshAck, 10), 1);
    CHECK(h.Only()->initiator == 1 - ClientSide(*h.Only()));
  }
  SECTION("two server ports: the first packet's sender") {
    Harness h;
    Tcp tcp;
    tcp.client_port = 22;
    tcp.server_port = 80;
    h.Feed(tcp.FromServer(kPshAck, 10), 1);
    CHECK(h.Only()->initiator == 1 - ClientSide(*h.Only()));
  }
}

TEST_CASE("flow_table: a SYN+ACK seen first makes its receiver the initiator",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  tcp.client_seq += 1;  // The SYN went by before the capture started.
  h.Feed(tcp.FromServer(kSynAck), 1'000'000);
  const Connection* c = h.Only();
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->state == ConnState::kSynReceived);
  h.Feed(tcp.FromClient(kAck), 1'000'500);
  CHECK(h.Only()->state == ConnState::kEstablished);
  CHECK(h.Only()->tcp.handshake_rtt_us == 0);  // The SYN was not seen.
}

// ---------------------------------------------------------------------------
// TCP health.

TEST_CASE("flow_table: retransmission, out-of-order and zero window are counted",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  Tcp before = tcp;
  h.Feed(tcp.FromClient(kAck, 100), 1'010'000);
  Tcp again = before;
  h.Feed(again.FromClient(kAck, 100), 1'020'000);  // Same bytes again.
  CHECK(h.Only()->tcp.retransmissions == 1);
  tcp.client_seq += 500;                            // A gap of 500 bytes.
  h.Feed(tcp.FromClient(kAck, 100), 1'030'000);
  CHECK(h.Only()->tcp.out_of_order == 1);
  CHECK(h.Only()->tcp.retransmissions == 1);
  h.Feed(tcp.FromServer(kAck, 0, 0), 1'040'000);    // Window 0.
  CHECK(h.Only()->tcp.zero_windows == 1);
  h.Feed(tcp.FromServer(kAck, 0, 0), 1'050'000);    // Still 0: each packet counts.
  CHECK(h.Only()->tcp.zero_windows == 2);
  h.Feed(tcp.FromServer(kAck, 0, 1000), 1'060'000);
  CHECK(h.Only()->tcp.zero_windows == 2);
}

TEST_CASE("flow_table: a segment filling a gap is counted as a retransmission",
          "[flow_table]") {
  // README: retransmissions are payload at or below the highest sequence
  // already seen; the segment after the gap was out of order.
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 0);
  Tcp hole = tcp;
  tcp.client_seq += 100;
  h.Feed(tcp.FromClient(kAck, 100), 10'000);
  h.Feed(hole.FromClient(kAck, 100), 20'000);
  CHECK(h.Only()->tcp.out_of_order == 1);
  CHECK(h.Only()->tcp.retransmissions == 1);
}

TEST_CASE("flow_table: a partly overlapping segment is a retransmission and moves the edge",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 0);
  Tcp base = tcp;
  h.Feed(tcp.FromClient(kAck, 100), 10'000);
  Tcp overlap = base;
  overlap.client_seq += 50;
  h.Feed(overlap.FromClient(kAck, 100), 20'000);  // 50 old bytes, 50 new ones.
  CHECK(h.Only()->tcp.retransmissions == 1);
  h.Feed(overlap.FromClient(kAck, 100), 30'000);  // Continues from the new edge.
  CHECK(h.Only()->tcp.retransmissions == 1);
  CHECK(h.Only()->tcp.out_of_order == 0);
}

TEST_CASE("flow_table: keep-alives and pure ACKs are not retransmissions", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 0);
  h.Feed(tcp.FromClient(kPshAck, 100), 10'000);
  // Keep-alive: one byte (or none) at the last sequence number minus one.
  Tcp ka = tcp;
  ka.client_seq -= 1;
  h.Feed(ka.FromClient(kAck, 1), 20'000);
  ka = tcp;
  ka.client_seq -= 1;
  h.Feed(ka.FromClient(kAck, 0), 30'000);
  // Duplicate pure ACKs carry no sequence space.
  for (int i = 0; i < 3; ++i) h.Feed(tcp.FromServer(kAck), 40'000 + i);
  CHECK(h.Only()->tcp.retransmissions == 0);
  CHECK(h.Only()->tcp.out_of_order == 0);
}

TEST_CASE("flow_table: sequence numbers wrap around without false counts", "[flow_table]") {
  Harness h;
  Tcp tcp;
  tcp.client_seq = 0xffffff00u;
  Handshake(h, tcp, 0);
  for (int i = 0; i < 5; ++i) h.Feed(tcp.FromClient(kPshAck, 100), 10'000 + i);
  CHECK(tcp.client_seq < 0x1000u);  // It did wrap.
  CHECK(h.Only()->tcp.retransmissions == 0);
  CHECK(h.Only()->tcp.out_of_order == 0);
}

TEST_CASE("flow_table: a SYN's zero window is not counted", "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromClient(kSyn, 0, 0), 0);
  CHECK(h.Only()->tcp.zero_windows == 0);
}

// ---------------------------------------------------------------------------
// UDP, ICMP, ARP.

TEST_CASE("flow_table: UDP is UNREPLIED until both directions are seen", "[flow_table]") {
  Harness h;
  const Connection* c = h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53, 30), 1);
  REQUIRE(c != nullptr);
  CHECK(c->state == ConnState::kUnreplied);
  CHECK(c->timeout_class == TimeoutClass::kUdp);
  CHECK(c->initiator == ClientSide(*c));
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53, 30), 2);
  CHECK(h.Only()->state == ConnState::kUnreplied);
  h.Feed(Udp("10.0.0.2", 53, "10.0.0.1", 40000, 100), 3);
  c = h.Only();
  CHECK(c->state == ConnState::kActive);
  CHECK(c->timeout_class == TimeoutClass::kUdp);
  CHECK(c->packets[ClientSide(*c)] == 2);
  CHECK(c->packets[1 - ClientSide(*c)] == 1);
  CHECK(c->bytes[ClientSide(*c)] == 2 * 58);
  CHECK(c->bytes[1 - ClientSide(*c)] == 128);
}

TEST_CASE("flow_table: UDP initiator from the server-looking port", "[flow_table]") {
  Harness h;
  h.Feed(Udp("10.0.0.2", 53, "10.0.0.1", 40000), 1);        // A reply seen first.
  h.Feed(Udp("10.0.0.2", 3478, "10.0.0.1", 50000), 2);      // STUN: known service > 1024.
  h.Feed(Udp("10.0.0.2", 5353, "10.0.0.1", 5353), 3);       // Both well-known: the sender.
  h.Feed(Udp("10.0.0.2", 41000, "10.0.0.1", 42000), 4);     // Neither: the sender.
  const Connection* dns = h.With(kIpProtoUdp, 53);
  const Connection* stun = h.With(kIpProtoUdp, 3478);
  const Connection* mdns = h.With(kIpProtoUdp, 5353);
  const Connection* high = h.With(kIpProtoUdp, 41000);
  REQUIRE((dns && stun && mdns && high));
  CHECK(dns->initiator == ClientSide(*dns));
  CHECK(stun->initiator == ClientSide(*stun));
  CHECK(mdns->initiator == 1 - ClientSide(*mdns));
  CHECK(high->initiator == 1 - ClientSide(*high));
}

TEST_CASE("flow_table: ICMP echo: one connection per echo id, requester initiates",
          "[flow_table]") {
  Harness h;
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 1, testing::IcmpEcho(true, 9, 1)), 1);
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kUnreplied);
  CHECK(c->timeout_class == TimeoutClass::kIcmp);
  CHECK(c->icmp.type == 8);
  h.Feed(Ipv4Packet("10.0.0.2", "10.0.0.1", 1, testing::IcmpEcho(false, 9, 1)), 2);
  c = h.Only();
  CHECK(c->state == ConnState::kActive);
  CHECK(c->key.port_a == 9);
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->icmp.type == 0);  // The last message's type.
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 1, testing::IcmpEcho(true, 10, 1)), 3);
  CHECK(h.table.size() == 2);
}

TEST_CASE("flow_table: an echo reply seen first makes its receiver the initiator",
          "[flow_table]") {
  Harness h;
  h.Feed(Ipv4Packet("10.0.0.2", "10.0.0.1", 1, testing::IcmpEcho(false, 9, 1)), 1);
  CHECK(h.Only()->initiator == ClientSide(*h.Only()));
  Harness h6;
  h6.Feed(Ipv6Packet("fd00::2", "fd00::1", 58, testing::IcmpEcho(false, 9, 1, true)), 1);
  CHECK(h6.Only()->initiator == Side(*h6.Only(), "fd00::1"));
  h6.Feed(Ipv6Packet("fd00::1", "fd00::2", 58, testing::IcmpEcho(true, 9, 2, true)), 2);
  CHECK(h6.Only()->state == ConnState::kActive);
  CHECK(h6.Only()->icmp.type == 128);
  CHECK(h6.Only()->timeout_class == TimeoutClass::kIcmp);
}

TEST_CASE("flow_table: ICMP errors are their own connection with type and code",
          "[flow_table]") {
  Harness h;
  Bytes unreachable = {3, 3, 0, 0, 0, 0, 0, 0};
  testing::PutBytes(unreachable, Udp("10.0.0.1", 40000, "10.0.0.2", 33434));
  h.Feed(Ipv4Packet("10.0.0.2", "10.0.0.1", 1, unreachable), 1);
  const Connection* c = h.Only();
  CHECK(c->key.port_a == 0);
  CHECK(c->icmp.type == 3);
  CHECK(c->icmp.code == 3);
  CHECK(c->initiator == 1 - ClientSide(*c));  // Its sender.
}

TEST_CASE("flow_table: ARP who-has and is-at make one connection", "[flow_table]") {
  Harness h;
  const MacAddress asked_mac = {0x02, 0xbb, 0, 0, 0, 0x02};
  h.FeedEth(testing::EthernetFrame(0x0806, testing::ArpPacket(kArpRequest, "10.0.0.1", "10.0.0.2")),
            1'000'000);
  const Connection* c = h.Only();
  CHECK(c->key.protocol == kPseudoProtoArp);
  CHECK(c->state == ConnState::kUnreplied);
  CHECK(c->timeout_class == TimeoutClass::kArp);
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->arp.requests == 1);
  CHECK(c->arp.resolved == MacAddress{});
  CHECK(c->bytes[ClientSide(*c)] == 28);
  h.FeedEth(testing::EthernetFrame(0x0806, testing::ArpPacket(kArpRequest, "10.0.0.1", "10.0.0.2")),
            1'500'000);
  h.FeedEth(testing::EthernetFrame(0x0806,
                                   testing::ArpPacket(kArpReply, "10.0.0.2", "10.0.0.1",
                                                      Bytes(asked_mac.begin(), asked_mac.end()))),
            1'500'100);
  c = h.Only();
  CHECK(c->arp.requests == 2);
  CHECK(c->arp.replies == 1);
  CHECK(c->arp.resolved == asked_mac);
  CHECK(c->state == ConnState::kActive);
  CHECK(c->initiator == ClientSide(*c));
}

TEST_CASE("flow_table: a reused slot starts its protocol's part of the union from zero",
          "[flow_table]") {
  // TCP, ICMP and ARP share their bytes in Connection (one union); a slot a
  // TCP connection left must not hand its counters to the ICMP or ARP
  // connection that takes it next, nor the other way round.
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kAck, 100), 1'010'000);
  h.Feed(tcp.FromServer(kAck, 0, 0), 1'020'000);  // Window 0.
  REQUIRE(h.Only()->tcp.zero_windows == 1);
  REQUIRE(h.Only()->tcp.handshake_rtt_us == 3000);
  // Idle past every timeout: expired, its slot free for the next one.
  const int64_t later = 1'020'000 + TimeoutOf(TimeoutClass::kTcpEstablished) + 1;
  REQUIRE(h.table.Expire(later) == 1);
  h.FeedEth(testing::EthernetFrame(0x0806, testing::ArpPacket(kArpRequest, "10.0.0.1", "10.0.0.2")),
            later + 1);
  const Connection* arp = h.Only();
  CHECK(arp->arp.requests == 1);
  CHECK(arp->arp.replies == 0);
  CHECK(arp->arp.resolved == MacAddress{});
  const int64_t later2 = later + TimeoutOf(TimeoutClass::kArp) + 10;
  REQUIRE(h.table.Expire(later2) == 1);
  Bytes unreachable = {3, 1, 0, 0, 0, 0, 0, 0};
  testing::PutBytes(unreachable, Udp("10.0.0.1", 40000, "10.0.0.2", 33434));
  h.Feed(Ipv4Packet("10.0.0.2", "10.0.0.1", 1, unreachable), later2 + 1);
  const Connection* icmp = h.Only();
  CHECK(icmp->icmp.type == 3);
  CHECK(icmp->icmp.code == 1);
  const int64_t later3 = later2 + TimeoutOf(TimeoutClass::kIcmp) + 10;
  REQUIRE(h.table.Expire(later3) == 1);
  Tcp again;
  h.Feed(again.FromClient(kSyn), later3 + 1);
  const Connection* fresh = h.Only();
  CHECK(fresh->tcp.zero_windows == 0);
  CHECK(fresh->tcp.retransmissions == 0);
  CHECK(fresh->tcp.handshake_rtt_us == 0);
  CHECK_FALSE(fresh->tcp.rtt.has_rtt());
}

TEST_CASE("flow_table: an ARP reply seen first makes the asker the initiator",
          "[flow_table]") {
  Harness h;
  h.FeedEth(testing::EthernetFrame(0x0806, testing::ArpPacket(kArpReply, "10.0.0.2", "10.0.0.1")),
            1);
  const Connection* c = h.Only();
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->arp.replies == 1);
  CHECK(c->arp.requests == 0);
  CHECK(c->state == ConnState::kUnreplied);
}

TEST_CASE("flow_table: fragments are counted in their connection", "[flow_table]") {
  Harness h;
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0x55));
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(udp.begin(), udp.begin() + 24), 7, 0x2000),
         1);
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(udp.begin() + 24, udp.end()), 7, 3), 2);
  const Connection* c = h.Only();
  CHECK(c->fragments == 2);
  CHECK(c->packets[ClientSide(*c)] == 2);
  CHECK(c->bytes[ClientSide(*c)] == 44 + 44);
}

TEST_CASE("flow_table: a later TCP fragment is counted but moves no state", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 0);
  testing::TcpSpec t;
  t.sport = 40000;
  t.dport = 80;
  t.seq = tcp.client_seq;
  t.flags = kFinAck;
  t.payload = Bytes(40, 0);
  const Bytes seg = testing::TcpSegment(t);
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes(seg.begin(), seg.begin() + 32), 3, 0x2000),
         10'000);
  CHECK(h.Only()->state == ConnState::kFinWait1);
  const uint64_t packets = h.Only()->packets[0] + h.Only()->packets[1];
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes(seg.begin() + 32, seg.end()), 3, 4), 20'000);
  CHECK(h.Only()->packets[0] + h.Only()->packets[1] == packets + 1);
  CHECK(h.Only()->state == ConnState::kFinWait1);
  CHECK(h.Only()->tcp.retransmissions == 0);
  CHECK(h.Only()->fragments == 2);
}

// ---------------------------------------------------------------------------
// Local endpoint and --no-localhost.

TEST_CASE("flow_table: local addresses decide the local endpoint", "[flow_table]") {
  SECTION("the server is us, the remote client started it") {
    FlowTable::Options o;
    o.local_addresses = Locals({"10.0.0.2"});
    Harness h(o);
    Tcp tcp;
    Handshake(h, tcp, 1'000'000);
    const Connection* c = h.Only();
    CHECK(c->local == 1 - ClientSide(*c));
    CHECK(c->initiator == ClientSide(*c));
  }
  SECTION("both local: the initiator") {
    FlowTable::Options o;
    o.local_addresses = Locals({"10.0.0.1", "10.0.0.2"});
    Harness h(o);
    Tcp tcp;
    h.Feed(tcp.FromServer(kSynAck), 1);  // Initiator: the client.
    CHECK(h.Only()->local == ClientSide(*h.Only()));
  }
  SECTION("neither local: the initiator") {
    FlowTable::Options o;
    o.local_addresses = Locals({"192.168.0.1"});
    Harness h(o);
    Tcp tcp;
    h.Feed(tcp.FromServer(kSynAck), 1);
    CHECK(h.Only()->local == ClientSide(*h.Only()));
  }
  SECTION("IPv6") {
    FlowTable::Options o;
    o.local_addresses = Locals({"2001:db8::2"});
    Harness h(o);
    Tcp tcp;
    tcp.client = "2001:db8::1";
    tcp.server = "2001:db8::2";
    Handshake(h, tcp, 1);
    const Connection* c = h.Only();
    CHECK(c->local == Side(*c, "2001:db8::2"));
    CHECK(c->initiator == Side(*c, "2001:db8::1"));
  }
}

TEST_CASE("flow_table: --no-localhost skips loopback", "[flow_table]") {
  FlowTable::Options o;
  o.no_localhost = true;
  Harness h(o);
  CHECK(h.Feed(Udp("127.0.0.1", 1, "127.0.0.1", 2), 1) == nullptr);
  CHECK(h.Feed(Udp("127.1.2.3", 1, "127.0.0.53", 53), 2) == nullptr);
  CHECK(h.Feed(Ipv6Packet("::1", "::1", 17, testing::UdpDatagram(1, 2, {})), 3) == nullptr);
  CHECK(h.Feed(Udp("10.0.0.1", 1, "127.0.0.1", 2), 4) == nullptr);  // One side is enough.
  CHECK(h.table.size() == 0);
  CHECK(h.table.stats().localhost_skipped == 4);
  CHECK(h.table.stats().created == 0);
  CHECK(h.Feed(Udp("10.0.0.1", 1, "10.0.0.2", 2), 5) != nullptr);
  CHECK(h.table.size() == 1);
}

TEST_CASE("flow_table: loopback is tracked without --no-localhost", "[flow_table]") {
  Harness h;
  CHECK(h.Feed(Udp("127.0.0.1", 1, "127.0.0.1", 2), 1) != nullptr);
  CHECK(h.Feed(Ipv6Packet("::1", "::1", 17, testing::UdpDatagram(1, 2, {})), 2) != nullptr);
  CHECK(h.table.size() == 2);
  CHECK(h.table.stats().localhost_skipped == 0);
}

// ---------------------------------------------------------------------------
// Expiry, eviction, reuse.

TEST_CASE("flow_table: expiry follows each class's timeout", "[flow_table]") {
  struct Case {
    const char* name;
    TimeoutClass expected;
    // Builds one connection; returns the time of its last packet.
    std::function<int64_t(Harness&)> build;
  };
  static constexpr int64_t t0 = 1'000'000'000;
  const std::vector<Case> cases = {
      {"SYN_SENT", TimeoutClass::kTcpHandshake,
       [](Harness& h) {
         Tcp tcp;
         h.Feed(tcp.FromClient(kSyn), t0);
         return t0;
       }},
      {"SYN_RECEIVED", TimeoutClass::kTcpHandshake,
       [](Harness& h) {
         Tcp tcp;
         h.Feed(tcp.FromClient(kSyn), t0);
         h.Feed(tcp.FromServer(kSynAck), t0 + 5);
         return t0 + 5;
       }},
      {"ESTABLISHED", TimeoutClass::kTcpEstablished,
       [](Harness& h) {
         Tcp tcp;
         Handshake(h, tcp, t0);
         return t0 + 3000;
       }},
      {"FIN_WAIT_1", TimeoutClass::kTcpClosing,
       [](Harness& h) {
         Tcp tcp;
         Handshake(h, tcp, t0);
         h.Feed(tcp.FromClient(kFinAck), t0 + 4000);
         return t0 + 4000;
       }},
      {"CLOSE_WAIT", TimeoutClass::kTcpClosing,
       [](Harness& h) {
         Tcp tcp;
         Handshake(h, tcp, t0);
         h.Feed(tcp.FromServer(kFinAck), t0 + 4000);
         return t0 + 4000;
       }},
      {"TIME_WAIT", TimeoutClass::kTcpClosed,
       [](Harness& h) {
         Tcp tcp;
         Handshake(h, tcp, t0);
         h.Feed(tcp.FromClient(kFinAck), t0 + 4000);
         h.Feed(tcp.FromServer(kFinAck), t0 + 5000);
         return t0 + 5000;
       }},
      {"CLOSED by RST", TimeoutClass::kTcpClosed,
       [](Harness& h) {
         Tcp tcp;
         Handshake(h, tcp, t0);
         h.Feed(tcp.FromServer(kTcpRst), t0 + 4000);
         return t0 + 4000;
       }},
      {"UDP", TimeoutClass::kUdp,
       [](Harness& h) {
         h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), t0);
         return t0;
       }},
      {"ICMP", TimeoutClass::kIcmp,
       [](Harness& h) {
         h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.2", 1, testing::IcmpEcho(true, 1, 1)), t0);
         return t0;
       }},
      {"ICMPv6", TimeoutClass::kIcmp,
       [](Harness& h) {
         h.Feed(Ipv6Packet("fd00::1", "fd00::2", 58, testing::IcmpEcho(true, 1, 1, true)), t0);
         return t0;
       }},
      {"ARP", TimeoutClass::kArp,
       [](Harness& h) {
         h.FeedEth(testing::EthernetFrame(0x0806, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2")),
                   t0);
         return t0;
       }},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    std::vector<RemovalReason> removed;
    FlowTable::Options o;
    o.on_remove = [&removed](const Connection&, RemovalReason r) { removed.push_back(r); };
    Harness h(o);
    const int64_t last = k.build(h);
    REQUIRE(h.table.size() == 1);
    CHECK(h.Only()->timeout_class == k.expected);
    const int64_t timeout = TimeoutOf(k.expected);
    CHECK(h.table.Expire(last + timeout) == 0);
    CHECK(h.table.size() == 1);
    CHECK(h.table.Expire(last + timeout + 1) == 1);
    CHECK(h.table.size() == 0);
    CHECK(h.table.stats().expired == 1);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0] == RemovalReason::kExpired);
  }
}

TEST_CASE("flow_table: the README's timeouts", "[flow_table]") {
  CHECK(TimeoutOf(TimeoutClass::kTcpHandshake) == 60'000'000);
  CHECK(TimeoutOf(TimeoutClass::kTcpEstablished) == 600'000'000);
  CHECK(TimeoutOf(TimeoutClass::kTcpClosing) == 120'000'000);
  CHECK(TimeoutOf(TimeoutClass::kTcpClosed) == 10'000'000);
  CHECK(TimeoutOf(TimeoutClass::kUdp) == 60'000'000);
  CHECK(TimeoutOf(TimeoutClass::kIcmp) == 20'000'000);
  CHECK(TimeoutOf(TimeoutClass::kArp) == 30'000'000);
}

TEST_CASE("flow_table: timeout class for each protocol and state", "[flow_table]") {
  using S = ConnState;
  for (const S s : {S::kSynSent, S::kSynReceived}) {
    CHECK(TimeoutClassFor(kIpProtoTcp, s) == TimeoutClass::kTcpHandshake);
  }
  CHECK(TimeoutClassFor(kIpProtoTcp, S::kEstablished) == TimeoutClass::kTcpEstablished);
  for (const S s : {S::kFinWait1, S::kFinWait2, S::kCloseWait, S::kClosing, S::kLastAck}) {
    CHECK(TimeoutClassFor(kIpProtoTcp, s) == TimeoutClass::kTcpClosing);
  }
  for (const S s : {S::kTimeWait, S::kClosed}) {
    CHECK(TimeoutClassFor(kIpProtoTcp, s) == TimeoutClass::kTcpClosed);
  }
  CHECK(TimeoutClassFor(kIpProtoUdp, S::kActive) == TimeoutClass::kUdp);
  CHECK(TimeoutClassFor(kIpProtoIcmp, S::kUnreplied) == TimeoutClass::kIcmp);
  CHECK(TimeoutClassFor(kIpProtoIcmpv6, S::kActive) == TimeoutClass::kIcmp);
  CHECK(TimeoutClassFor(kPseudoProtoArp, S::kActive) == TimeoutClass::kArp);
}

TEST_CASE("flow_table: a connection moves to its new class's list", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 0);  // SYN at 0: would expire at 60 s if still in the handshake list.
  CHECK(h.table.Expire(TimeoutOf(TimeoutClass::kTcpHandshake) + 10'000) == 0);
  CHECK(h.table.size() == 1);
}

TEST_CASE("flow_table: a packet refreshes the idle time", "[flow_table]") {
  Harness h;
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), 0);
  h.Feed(Udp("10.0.0.1", 40001, "10.0.0.2", 53), 1'000);
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), 50'000'000);
  CHECK(h.table.Expire(61'000'000) == 1);
  REQUIRE(h.table.size() == 1);
  CHECK(h.With(kIpProtoUdp, 40000) != nullptr);
  CHECK(h.table.Expire(110'000'001) == 1);
  CHECK(h.table.size() == 0);
}

TEST_CASE("flow_table: a packet after the timeout starts a new connection before any sweep",
          "[flow_table]") {
  std::vector<RemovalReason> removed;
  FlowTable::Options o;
  o.on_remove = [&removed](const Connection&, RemovalReason r) { removed.push_back(r); };
  Harness h(o);
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), 0);
  h.Feed(Udp("10.0.0.2", 53, "10.0.0.1", 40000), 10);
  const uint64_t old_id = h.Only()->id;
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), 10 + TimeoutOf(TimeoutClass::kUdp) + 1);
  const Connection* c = h.Only();
  CHECK(c->id != old_id);
  CHECK(c->packets[0] + c->packets[1] == 1);
  CHECK(c->state == ConnState::kUnreplied);
  CHECK(c->first_seen_us == 10 + TimeoutOf(TimeoutClass::kUdp) + 1);
  CHECK(h.table.stats().expired == 1);
  CHECK(h.table.stats().created == 2);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0] == RemovalReason::kExpired);
}

TEST_CASE("flow_table: timestamps at both ends of the clock", "[flow_table]") {
  // Capture clamps timestamps to [0, INT64_MAX - 1 s]; nothing may overflow.
  const int64_t end = INT64_MAX - 1'000'000;
  Harness h;
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), 0);
  Tcp tcp;
  Handshake(h, tcp, end - 10'000);
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), end);  // Long expired: a new one.
  CHECK(h.table.stats().expired == 1);
  CHECK(h.With(kIpProtoTcp, 80)->tcp.handshake_rtt_us == 3000);
  CHECK(h.table.Expire(end) == 0);
  CHECK(h.table.size() == 2);
}

TEST_CASE("flow_table: a timestamp going backwards keeps last_seen and a positive RTT",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromClient(kSyn), 5'000'000);
  h.Feed(tcp.FromServer(kSynAck), 4'999'000);
  h.Feed(tcp.FromClient(kAck), 4'999'500);
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kEstablished);
  CHECK(c->last_seen_us == 5'000'000);
  CHECK(c->tcp.handshake_rtt_us == 1);  // Clamped: the handshake was seen, RTT unknown.
}

TEST_CASE("flow_table: at capacity the longest idle is evicted and counted", "[flow_table]") {
  FlowTable::Options o;
  o.max_connections = 3;
  std::vector<std::pair<uint64_t, RemovalReason>> removed;
  o.on_remove = [&removed](const Connection& c, RemovalReason r) {
    removed.emplace_back(c.id, r);
  };
  Harness h(o);
  for (uint16_t port = 1; port <= 3; ++port) {
    h.Feed(Udp("10.0.0.1", port, "10.0.0.2", 53), port * 1000);
  }
  // Refresh port 1 so port 2 is now the longest idle.
  h.Feed(Udp("10.0.0.1", 1, "10.0.0.2", 53), 5000);
  h.Feed(Udp("10.0.0.1", 4, "10.0.0.2", 53), 6000);
  CHECK(h.table.size() == 3);
  CHECK(h.table.stats().evicted == 1);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].second == RemovalReason::kEvicted);
  CHECK(h.With(kIpProtoUdp, 2) == nullptr);
  CHECK(h.With(kIpProtoUdp, 1) != nullptr);
  CHECK(h.With(kIpProtoUdp, 4) != nullptr);
}

TEST_CASE("flow_table: tables sharing a pool keep their total within the capacity",
          "[flow_table]") {
  // Capacity 4: a reserve of 1 each and a pool of 2.
  auto used = std::make_shared<std::atomic<size_t>>(0);
  FlowTable::Options o;
  o.pool_used = used;
  o.pool = 2;
  o.reserve = 1;
  Harness a(o);
  Harness b(o);
  a.Feed(Udp("10.0.0.1", 40000, "10.0.0.4", 53), 10'000);  // a's reserve
  a.Feed(Udp("10.0.0.1", 40001, "10.0.0.4", 53), 20'000);  // pool 1
  a.Feed(Udp("10.0.0.1", 40002, "10.0.0.4", 53), 30'000);  // pool 2
  CHECK(*used == 2);
  CHECK(a.table.stats().evicted == 0);
  // b still has its reserve: it takes it without evicting anything.
  b.Feed(Udp("10.0.0.1", 41000, "10.0.0.4", 53), 35'000);
  CHECK(b.table.stats().evicted == 0);
  CHECK(a.table.size() + b.table.size() == 4);
  // Full: a new connection in b evicts b's own oldest, not one of a's.
  b.Feed(Udp("10.0.0.1", 41001, "10.0.0.4", 53), 40'000);
  CHECK(a.table.size() == 3);
  CHECK(b.table.size() == 1);
  CHECK(b.table.stats().evicted == 1);
  CHECK(b.With(kIpProtoUdp, 41001) != nullptr);
  // And in a, a's own oldest.
  a.Feed(Udp("10.0.0.1", 40003, "10.0.0.4", 53), 50'000);
  CHECK(a.table.size() == 3);
  CHECK(a.table.stats().evicted == 1);
  CHECK(a.With(kIpProtoUdp, 40000) == nullptr);
  CHECK(*used == 2);
  // Expiry gives pool places back; b can grow into them.
  CHECK(a.table.Expire(50'000 + TimeoutOf(TimeoutClass::kUdp) + 1) == 3);
  CHECK(*used == 0);
  b.Feed(Udp("10.0.0.1", 41002, "10.0.0.4", 53), 60'000);
  b.Feed(Udp("10.0.0.1", 41003, "10.0.0.4", 53), 70'000);
  CHECK(b.table.size() == 3);
  CHECK(b.table.stats().evicted == 1);
  CHECK(*used == 2);
}

TEST_CASE("flow_table: without a reserve a table refuses at a full pool", "[flow_table]") {
  auto used = std::make_shared<std::atomic<size_t>>(0);
  FlowTable::Options o;
  o.pool_used = used;
  o.pool = 2;
  o.reserve = 0;
  Harness a(o);
  Harness b(o);
  a.Feed(Udp("10.0.0.1", 40000, "10.0.0.4", 53), 10'000);
  a.Feed(Udp("10.0.0.1", 40001, "10.0.0.4", 53), 20'000);
  b.Feed(Udp("10.0.0.1", 40002, "10.0.0.4", 53), 30'000);
  CHECK(b.table.size() == 0);
  CHECK(b.table.stats().refused == 1);
  CHECK(*used == 2);
  CHECK(a.table.size() == 2);
}

TEST_CASE("flow_table: eviction takes the longest idle across timeout classes",
          "[flow_table]") {
  FlowTable::Options o;
  o.max_connections = 3;
  Harness h(o);
  Tcp tcp;
  Handshake(h, tcp, 0);  // Idle since 3 ms, in the 10-minute class.
  // All answered (nothing embryonic): only idle time decides.
  h.Feed(Ipv4Packet("10.0.0.1", "10.0.0.3", 1, testing::IcmpEcho(true, 1, 1)), 10'000);
  h.Feed(Ipv4Packet("10.0.0.3", "10.0.0.1", 1, testing::IcmpEcho(false, 1, 1)), 11'000);
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.4", 53), 20'000);
  h.Feed(Udp("10.0.0.4", 53, "10.0.0.1", 40000), 21'000);
  h.Feed(Udp("10.0.0.1", 40001, "10.0.0.4", 53), 30'000);
  h.Feed(Udp("10.0.0.4", 53, "10.0.0.1", 40001), 31'000);
  CHECK(h.table.size() == 3);
  CHECK(h.table.stats().evicted == 1);
  CHECK(h.table.stats().evicted_established == 1);
  CHECK(h.With(kIpProtoTcp, 80) == nullptr);
  // And the next one goes in order: the ICMP echo.
  h.Feed(Udp("10.0.0.1", 40002, "10.0.0.4", 53), 40'000);
  CHECK(h.table.stats().evicted == 2);
  CHECK(h.table.stats().evicted_established == 2);
  CHECK(h.With(kIpProtoIcmp, 1) == nullptr);
  CHECK(h.With(kIpProtoUdp, 40000) != nullptr);
  CHECK(h.With(kIpProtoUdp, 40002) != nullptr);
}

TEST_CASE("flow_table: embryonic means one-way, or TCP without a completed handshake",
          "[flow_table]") {
  SECTION("a bare SYN") {
    Harness h;
    Tcp tcp;
    h.Feed(tcp.FromClient(kSyn), 1000);
    CHECK(IsEmbryonic(*h.Only()));
  }
  SECTION("a SYN answered by SYN-ACK, no ACK yet") {
    Harness h;
    Tcp tcp;
    h.Feed(tcp.FromClient(kSyn), 1000);
    h.Feed(tcp.FromServer(kSynAck), 2000);
    CHECK(IsEmbryonic(*h.Only()));
  }
  SECTION("a SYN answered by RST") {
    Harness h;
    Tcp tcp;
    h.Feed(tcp.FromClient(kSyn), 1000);
    h.Feed(tcp.FromServer(kRstAck), 2000);
    CHECK(h.Only()->state == ConnState::kClosed);
    CHECK(IsEmbryonic(*h.Only()));
  }
  SECTION("a completed handshake, and after it closes") {
    Harness h;
    Tcp tcp;
    Handshake(h, tcp, 1000);
    CHECK_FALSE(IsEmbryonic(*h.Only()));
    h.Feed(tcp.FromClient(kFinAck), 10'000);
    h.Feed(tcp.FromServer(kFinAck), 11'000);
    h.Feed(tcp.FromClient(kAck), 12'000);
    CHECK_FALSE(IsEmbryonic(*h.Only()));
  }
  SECTION("TCP picked up mid-stream, data both ways") {
    Harness h;
    Tcp tcp;
    h.Feed(tcp.FromClient(kPshAck, 100), 1000);
    CHECK(IsEmbryonic(*h.Only()));
    h.Feed(tcp.FromServer(kPshAck, 100), 2000);
    CHECK_FALSE(IsEmbryonic(*h.Only()));
  }
  SECTION("UDP one way, then answered") {
    Harness h;
    h.Feed(Udp("10.0.0.1", 40000, "10.0.0.4", 53), 1000);
    CHECK(IsEmbryonic(*h.Only()));
    h.Feed(Udp("10.0.0.4", 53, "10.0.0.1", 40000), 2000);
    CHECK_FALSE(IsEmbryonic(*h.Only()));
  }
}

// Random source address and port, as a SYN flood sends them.
Tcp FloodSyn(uint32_t i) {
  Tcp t;
  t.client = "10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) +
             "." + std::to_string(i & 255);
  t.client_port = static_cast<uint16_t>(1024 + i % 60000);
  t.server = "10.255.0.1";
  t.server_port = static_cast<uint16_t>(1 + i % 1000);
  t.client_seq = i * 2654435761u;
  return t;
}

TEST_CASE("flow_table: a SYN flood evicts only embryonic connections, however recent",
          "[flow_table]") {
  FlowTable::Options o;
  o.max_connections = 100;
  std::vector<RemovalReason> removed;
  o.on_remove = [&removed](const Connection&, RemovalReason r) { removed.push_back(r); };
  Harness h(o);
  // Live traffic from before the flood: the oldest in the table.
  Tcp before;
  before.client_port = 41000;
  Handshake(h, before, 0);
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.4", 53), 10'000);
  h.Feed(Udp("10.0.0.4", 53, "10.0.0.1", 40000), 11'000);
  int64_t t = 1'000'000;
  // The flood: unanswered SYNs, SYNs answered by RST, by a SYN-ACK alone.
  constexpr uint32_t kFlood = 20'000;
  for (uint32_t i = 0; i < kFlood; ++i) {
    Tcp syn = FloodSyn(i);
    h.Feed(syn.FromClient(kSyn), t += 10);
    if (i % 3 == 1) h.Feed(syn.FromServer(kRstAck), t += 10);
    if (i % 3 == 2) h.Feed(syn.FromServer(kSynAck), t += 10);
    // A real connection made during the flood, and data on the old one.
    if (i == kFlood / 2) {
      Tcp during;
      during.client_port = 42000;
      during.server_port = 8080;
      Handshake(h, during, t += 10);
      t += 3000;
      h.Feed(before.FromClient(kPshAck, 10), t += 10);
    }
    REQUIRE(h.table.size() <= 100);
  }
  CHECK(h.table.size() == 100);
  CHECK(h.table.stats().created == kFlood + 3);
  CHECK(h.table.stats().evicted == kFlood + 3 - 100);
  CHECK(h.table.stats().evicted_established == 0);
  CHECK(removed.size() == kFlood + 3 - 100);
  CHECK(std::all_of(removed.begin(), removed.end(),
                    [](RemovalReason r) { return r == RemovalReason::kEvicted; }));
  const Connection* old_tcp = h.With(kIpProtoTcp, 41000);
  REQUIRE(old_tcp != nullptr);
  CHECK(old_tcp->state == ConnState::kEstablished);
  const Connection* during = h.With(kIpProtoTcp, 42000);
  REQUIRE(during != nullptr);
  CHECK(during->state == ConnState::kEstablished);
  CHECK(h.With(kIpProtoUdp, 40000) != nullptr);
  // What is left of the flood is its latest packets (oldest embryonic first).
  size_t embryonic = 0;
  h.table.ForEach([&embryonic](const Connection& c) { embryonic += IsEmbryonic(c) ? 1u : 0u; });
  CHECK(embryonic == 97);
  auto tracked = [&h](uint32_t i) {
    const Tcp syn = FloodSyn(i);
    bool found = false;
    h.table.ForEach([&](const Connection& c) {
      found |= (c.key.addr_a == Addr(syn.client) || c.key.addr_b == Addr(syn.client)) &&
               (c.key.port_a == syn.client_port || c.key.port_b == syn.client_port);
    });
    return found;
  };
  CHECK(tracked(kFlood - 1));
  CHECK(tracked(kFlood - 97));
  CHECK_FALSE(tracked(kFlood - 98));
  CHECK_FALSE(tracked(0));
  // Expiry still reaches both tiers: the flood's half-open connections and
  // the UDP exchange after their timeouts, the established ones only after
  // theirs.
  h.table.Expire(t + TimeoutOf(TimeoutClass::kTcpHandshake) + 1);
  CHECK(h.table.size() == 2);
  h.table.Expire(t + TimeoutOf(TimeoutClass::kTcpEstablished) + 1);
  CHECK(h.table.size() == 0);
}

TEST_CASE("flow_table: a connection that completes its handshake leaves the eviction line",
          "[flow_table]") {
  FlowTable::Options o;
  o.max_connections = 3;
  Harness h(o);
  Tcp a;
  a.client_port = 40001;
  Tcp b;
  b.client_port = 40002;
  Tcp c;
  c.client_port = 40003;
  h.Feed(a.FromClient(kSyn), 1000);  // Embryonic, oldest.
  h.Feed(b.FromClient(kSyn), 2000);
  h.Feed(c.FromClient(kSyn), 3000);
  h.Feed(a.FromServer(kSynAck), 4000);
  h.Feed(a.FromClient(kAck), 5000);  // a is established now.
  Tcp d;
  d.client_port = 40004;
  h.Feed(d.FromClient(kSyn), 6000);
  CHECK(h.With(kIpProtoTcp, 40002) == nullptr);  // b: the oldest embryonic.
  CHECK(h.With(kIpProtoTcp, 40001) != nullptr);
  Tcp e;
  e.client_port = 40005;
  h.Feed(e.FromClient(kSyn), 7000);
  CHECK(h.With(kIpProtoTcp, 40003) == nullptr);
  CHECK(h.With(kIpProtoTcp, 40001) != nullptr);
  CHECK(h.table.stats().evicted == 2);
  CHECK(h.table.stats().evicted_established == 0);
}

TEST_CASE("flow_table: with nothing embryonic left, the longest-idle established goes",
          "[flow_table]") {
  FlowTable::Options o;
  o.max_connections = 2;
  Harness h(o);
  Tcp a;
  a.client_port = 40001;
  Tcp b;
  b.client_port = 40002;
  Handshake(h, a, 0);
  Handshake(h, b, 10'000);
  h.Feed(a.FromClient(kPshAck, 10), 20'000);  // b is now the longest idle.
  Tcp c;
  c.client_port = 40003;
  h.Feed(c.FromClient(kSyn), 30'000);
  CHECK(h.table.size() == 2);
  CHECK(h.With(kIpProtoTcp, 40002) == nullptr);
  CHECK(h.table.stats().evicted == 1);
  CHECK(h.table.stats().evicted_established == 1);
  // The next SYN takes the embryonic c, not the established a.
  Tcp d;
  d.client_port = 40004;
  h.Feed(d.FromClient(kSyn), 40'000);
  CHECK(h.With(kIpProtoTcp, 40003) == nullptr);
  CHECK(h.With(kIpProtoTcp, 40001) != nullptr);
  CHECK(h.table.stats().evicted_established == 1);
}

TEST_CASE("flow_table: a SYN on a closed connection's endpoints replaces it", "[flow_table]") {
  std::vector<RemovalReason> removed;
  FlowTable::Options o;
  o.on_remove = [&removed](const Connection&, RemovalReason r) { removed.push_back(r); };
  SECTION("after RST") {
    Harness h(o);
    Tcp tcp;
    Handshake(h, tcp, 1'000'000);
    h.Feed(tcp.FromServer(kTcpRst), 1'100'000);
    const uint64_t old_id = h.Only()->id;
    Tcp reuse;
    reuse.client_seq = 90000;
    h.Feed(reuse.FromClient(kSyn), 1'200'000);
    CHECK(h.Only()->id != old_id);
    CHECK(h.Only()->state == ConnState::kSynSent);
    CHECK_FALSE(h.Only()->reset);
    CHECK(h.Only()->packets[0] + h.Only()->packets[1] == 1);
    CHECK(h.table.stats().replaced == 1);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0] == RemovalReason::kReplaced);
  }
  SECTION("in TIME_WAIT, and the new one is tracked afresh") {
    Harness h(o);
    Tcp tcp;
    Handshake(h, tcp, 1'000'000);
    h.Feed(tcp.FromClient(kFinAck), 1'100'000);
    h.Feed(tcp.FromServer(kFinAck), 1'100'100);
    h.Feed(tcp.FromClient(kAck), 1'100'200);
    REQUIRE(h.Only()->state == ConnState::kTimeWait);
    const uint64_t old_id = h.Only()->id;
    Tcp reuse;
    reuse.client_seq = 1000;  // Even an old sequence number is no retransmission.
    Handshake(h, reuse, 2'000'000);
    const Connection* c = h.Only();
    CHECK(c->id != old_id);
    CHECK(c->state == ConnState::kEstablished);
    CHECK(c->tcp.handshake_rtt_us == 3000);
    CHECK(c->tcp.retransmissions == 0);
    CHECK(c->first_seen_us == 2'000'000);
    CHECK(h.table.stats().replaced == 1);
  }
}

TEST_CASE("flow_table: only a bare SYN on a closed connection replaces it", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  const uint64_t id = h.Only()->id;
  // A SYN on an open connection is part of it.
  Tcp syn = tcp;
  h.Feed(syn.FromClient(kSyn), 1'050'000);
  CHECK(h.Only()->id == id);
  h.Feed(tcp.FromServer(kTcpRst), 1'100'000);
  // Stragglers after a RST: a SYN+ACK, an ACK.
  h.Feed(tcp.FromServer(kSynAck), 1'100'100);
  h.Feed(tcp.FromClient(kAck), 1'100'200);
  CHECK(h.Only()->id == id);
  CHECK(h.Only()->state == ConnState::kClosed);
  CHECK(h.table.stats().replaced == 0);
}

TEST_CASE("flow_table: on_event reports open once and close once", "[flow_table]") {
  FlowTable::Options o;
  std::vector<TableEvent> events;
  o.on_event = [&events](const Connection&, TableEvent e) { events.push_back(e); };
  Harness h(o);
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromServer(kFinAck), 1'100'000);
  h.Feed(tcp.FromClient(kFinAck), 1'101'000);
  h.Feed(tcp.FromServer(kAck), 1'102'000);
  h.Feed(tcp.FromServer(kAck), 1'103'000);  // A stray ACK after close: no new event.
  REQUIRE(events.size() == 2);
  CHECK(events[0] == TableEvent::kOpened);
  CHECK(events[1] == TableEvent::kClosedFin);
  CHECK(h.Only()->close_reported);
  // UDP never closes: opened only.
  h.Feed(Udp("10.0.0.1", 1, "10.0.0.2", 2), 1'200'000);
  h.Feed(Udp("10.0.0.2", 2, "10.0.0.1", 1), 1'200'001);
  REQUIRE(events.size() == 3);
  CHECK(events[2] == TableEvent::kOpened);
}

TEST_CASE("flow_table: connection ids follow start and stride", "[flow_table]") {
  FlowTable::Options o;
  o.id_start = 3;
  o.id_stride = 4;
  Harness h(o);
  h.Feed(Udp("10.0.0.1", 1, "10.0.0.2", 53), 1);
  h.Feed(Udp("10.0.0.1", 2, "10.0.0.2", 53), 2);
  h.Feed(Udp("10.0.0.1", 3, "10.0.0.2", 53), 3);
  std::vector<uint64_t> ids;
  h.table.ForEach([&ids](const Connection& c) { ids.push_back(c.id); });
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<uint64_t>{3, 7, 11});
}

TEST_CASE("flow_table: Find takes the key from either direction", "[flow_table]") {
  Harness h;
  h.Feed(Udp("10.0.0.1", 40000, "10.0.0.2", 53), 1);
  bool src_is_a = false;
  const FlowKey fwd =
      MakeFlowKey(kIpProtoUdp, 4, Addr("10.0.0.1"), 40000, Addr("10.0.0.2"), 53, &src_is_a);
  const FlowKey rev =
      MakeFlowKey(kIpProtoUdp, 4, Addr("10.0.0.2"), 53, Addr("10.0.0.1"), 40000, &src_is_a);
  const Connection* a = h.table.Find(fwd);
  REQUIRE(a != nullptr);
  CHECK(h.table.Find(rev) == a);
  const FlowKey other =
      MakeFlowKey(kIpProtoTcp, 4, Addr("10.0.0.1"), 40000, Addr("10.0.0.2"), 53, &src_is_a);
  CHECK(h.table.Find(other) == nullptr);
}

TEST_CASE("flow_table: many connections across chunks, removed and reused", "[flow_table]") {
  // More than one storage chunk (4096), then all expire and slots are reused.
  Harness h;
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) {
    h.Feed(Udp("10.0.0.1", static_cast<uint16_t>(10000 + i), "10.0.0.2", 53), i);
  }
  CHECK(h.table.size() == kCount);
  std::vector<Connection> copy;
  h.table.CopyTo(&copy);
  CHECK(copy.size() == kCount);
  bool src_is_a = false;
  for (int i = 0; i < kCount; i += 499) {
    const FlowKey k = MakeFlowKey(kIpProtoUdp, 4, Addr("10.0.0.1"),
                                  static_cast<uint16_t>(10000 + i), Addr("10.0.0.2"), 53,
                                  &src_is_a);
    const Connection* c = h.table.Find(k);
    REQUIRE(c != nullptr);
    CHECK(c->first_seen_us == i);
  }
  // Expire the first half only: the idle list is in time order.
  CHECK(h.table.Expire(kCount / 2 + TimeoutOf(TimeoutClass::kUdp)) == kCount / 2);
  CHECK(h.table.size() == kCount / 2);
  const int64_t t1 = 1'000'000'000;
  for (int i = 0; i < kCount; ++i) {
    h.Feed(Udp("10.0.0.3", static_cast<uint16_t>(10000 + i), "10.0.0.2", 53), t1 + i);
  }
  CHECK(h.table.size() == kCount / 2 + kCount);
  CHECK(h.table.Expire(t1 + kCount + TimeoutOf(TimeoutClass::kUdp)) == kCount / 2 + kCount);
  CHECK(h.table.size() == 0);
  CHECK(h.table.stats().created == 2 * kCount);
  CHECK(h.table.stats().expired == 2 * kCount);
}

}  // namespace
}  // namespace rustnet
