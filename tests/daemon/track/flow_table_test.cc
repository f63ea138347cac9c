#include "daemon/track/flow_table.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;

// Feeds packets built as wire bytes through a real Decoder into a table.
class Harness {
 public:
  explicit Harness(FlowTable::Options o = {}) : table(std::move(o)), decoder(LinkType::kRaw) {}

  void Feed(const Bytes& ip, int64_t ts_us) {
    DecodedPacket p;
    REQUIRE(decoder.Decode(ip, static_cast<uint32_t>(ip.size()), ts_us, &p) == DecodeResult::kOk);
    table.Process(p);
  }
  const Connection* Only() {
    REQUIRE(table.size() == 1);
    const Connection* found = nullptr;
    table.ForEach([&found](const Connection& c) { found = &c; });
    return found;
  }

  FlowTable table;
  Decoder decoder;
};

// A TCP conversation between a client 10.0.0.1:40000 and a server
// 10.0.0.2:80, with sequence numbers kept like a real stack's.
struct Tcp {
  uint32_t client_seq = 1000;
  uint32_t server_seq = 5000;

  Bytes FromClient(uint8_t flags, size_t payload = 0, uint16_t window = 64000) {
    testing::TcpSpec t;
    t.sport = 40000;
    t.dport = 80;
    t.seq = client_seq;
    t.ack = server_seq;
    t.flags = flags;
    t.window = window;
    t.payload = Bytes(payload, 0x61);
    client_seq += static_cast<uint32_t>(payload) + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
    return testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6, testing::TcpSegment(t));
  }
  Bytes FromServer(uint8_t flags, size_t payload = 0, uint16_t window = 64000) {
    testing::TcpSpec t;
    t.sport = 80;
    t.dport = 40000;
    t.seq = server_seq;
    t.ack = client_seq;
    t.flags = flags;
    t.window = window;
    t.payload = Bytes(payload, 0x62);
    server_seq += static_cast<uint32_t>(payload) + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
    return testing::Ipv4Packet("10.0.0.2", "10.0.0.1", 6, testing::TcpSegment(t));
  }
};

constexpr uint8_t kSyn = kTcpSyn;
constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;
constexpr uint8_t kAck = kTcpAck;
constexpr uint8_t kFinAck = kTcpFin | kTcpAck;

// Endpoint index of 10.0.0.1 (the client) in the canonical key.
int ClientSide(const Connection& c) {
  return c.key.addr_a.ToString() == "10.0.0.1" ? 0 : 1;
}

void Handshake(Harness& h, Tcp& tcp, int64_t t0) {
  h.Feed(tcp.FromClient(kSyn), t0);
  h.Feed(tcp.FromServer(kSynAck), t0 + 2000);
  h.Feed(tcp.FromClient(kAck), t0 + 3000);
}

TEST_CASE("flow_table: handshake makes ESTABLISHED with RTT and the initiator", "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromClient(kSyn), 1'000'000);
  CHECK(h.Only()->state == ConnState::kSynSent);
  h.Feed(tcp.FromServer(kSynAck), 1'002'000);
  CHECK(h.Only()->state == ConnState::kSynReceived);
  h.Feed(tcp.FromClient(kAck), 1'003'000);
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kEstablished);
  CHECK(c->handshake_rtt_us == 3000);
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->local == c->initiator);  // No local addresses known: the initiator.
  CHECK(c->first_seen_us == 1'000'000);
  CHECK(c->last_seen_us == 1'003'000);
}

TEST_CASE("flow_table: counts packets and IP bytes per direction", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kAck | kTcpPsh, 100), 1'010'000);
  h.Feed(tcp.FromServer(kAck | kTcpPsh, 1000), 1'020'000);
  const Connection* c = h.Only();
  const int client = ClientSide(*c);
  CHECK(c->packets[client] == 3);
  CHECK(c->packets[1 - client] == 2);
  CHECK(c->bytes[client] == 40 + 40 + 140);       // SYN, ACK, data (IP + TCP + payload)
  CHECK(c->bytes[1 - client] == 40 + 1040);       // SYN+ACK, data
  CHECK(c->rate[1 - client].Rate(1'020'000) > 0);
}

TEST_CASE("flow_table: local side closes first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromClient(kFinAck), 1'100'000);
  CHECK(h.Only()->state == ConnState::kFinWait1);
  h.Feed(tcp.FromServer(kAck), 1'101'000);
  CHECK(h.Only()->state == ConnState::kFinWait2);
  h.Feed(tcp.FromServer(kFinAck), 1'102'000);
  h.Feed(tcp.FromClient(kAck), 1'103'000);
  CHECK(h.Only()->state == ConnState::kTimeWait);
  CHECK(h.Only()->timeout_class == TimeoutClass::kTcpClosed);
}

TEST_CASE("flow_table: remote side closes first: CLOSE_WAIT, LAST_ACK, CLOSED", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromServer(kFinAck), 1'100'000);
  CHECK(h.Only()->state == ConnState::kCloseWait);
  h.Feed(tcp.FromClient(kFinAck), 1'101'000);
  CHECK(h.Only()->state == ConnState::kLastAck);
  h.Feed(tcp.FromServer(kAck), 1'102'000);
  CHECK(h.Only()->state == ConnState::kClosed);
}

TEST_CASE("flow_table: simultaneous close goes through CLOSING", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  Tcp snapshot = tcp;
  h.Feed(tcp.FromClient(kFinAck), 1'100'000);
  // The server's FIN crosses the client's: it does not acknowledge it.
  tcp.client_seq = snapshot.client_seq;
  h.Feed(tcp.FromServer(kTcpFin | kTcpAck), 1'100'100);
  CHECK(h.Only()->state == ConnState::kClosing);
}

TEST_CASE("flow_table: RST closes the connection", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromServer(kTcpRst), 1'100'000);
  CHECK(h.Only()->state == ConnState::kClosed);
  CHECK(h.Only()->reset);
}

TEST_CASE("flow_table: picked up mid-stream is ESTABLISHED, server port decides initiator",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  h.Feed(tcp.FromServer(kAck, 500), 1'000'000);  // First packet from port 80.
  const Connection* c = h.Only();
  CHECK(c->state == ConnState::kEstablished);
  CHECK(c->initiator == ClientSide(*c));
  CHECK(c->handshake_rtt_us == 0);
}

TEST_CASE("flow_table: retransmission, out-of-order and zero window are counted",
          "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  Tcp before = tcp;
  h.Feed(tcp.FromClient(kAck, 100), 1'010'000);
  Tcp again = before;
  h.Feed(again.FromClient(kAck, 100), 1'020'000);  // Same bytes again.
  CHECK(h.Only()->retransmissions == 1);
  tcp.client_seq += 500;                            // A gap of 500 bytes.
  h.Feed(tcp.FromClient(kAck, 100), 1'030'000);
  CHECK(h.Only()->out_of_order == 1);
  h.Feed(tcp.FromServer(kAck, 0, 0), 1'040'000);    // Window 0.
  CHECK(h.Only()->zero_windows == 1);
}

TEST_CASE("flow_table: a SYN on a closed connection's endpoints replaces it", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  h.Feed(tcp.FromServer(kTcpRst), 1'100'000);
  const uint64_t old_id = h.Only()->id;
  Tcp reuse;
  reuse.client_seq = 90000;
  h.Feed(reuse.FromClient(kSyn), 1'200'000);
  CHECK(h.Only()->id != old_id);
  CHECK(h.Only()->state == ConnState::kSynSent);
  CHECK(h.table.stats().replaced == 1);
}

TEST_CASE("flow_table: UDP, ICMP echo and ARP connections", "[flow_table]") {
  Harness h;
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(5353, 53, {1})), 1);
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 1, testing::IcmpEcho(true, 9, 1)), 2);
  h.Feed(testing::Ipv4Packet("10.0.0.2", "10.0.0.1", 1, testing::IcmpEcho(false, 9, 1)), 3);
  CHECK(h.table.size() == 2);
  int udp = 0, icmp = 0;
  h.table.ForEach([&](const Connection& c) {
    if (c.key.protocol == kIpProtoUdp) {
      ++udp;
      CHECK(c.state == ConnState::kUnreplied);
      CHECK(c.initiator == ClientSide(c));
    }
    if (c.key.protocol == kIpProtoIcmp) {
      ++icmp;
      CHECK(c.state == ConnState::kActive);
      CHECK(c.key.port_a == 9);
      CHECK(c.initiator == ClientSide(c));
    }
  });
  CHECK(udp == 1);
  CHECK(icmp == 1);

  FlowTable arp_table{FlowTable::Options{}};
  Decoder eth(LinkType::kEthernet);
  for (uint16_t op : {kArpRequest, kArpReply}) {
    const Bytes frame = testing::EthernetFrame(
        0x0806, op == kArpRequest ? testing::ArpPacket(op, "10.0.0.1", "10.0.0.2")
                                  : testing::ArpPacket(op, "10.0.0.2", "10.0.0.1"));
    DecodedPacket p;
    REQUIRE(eth.Decode(frame, static_cast<uint32_t>(frame.size()), 10, &p) == DecodeResult::kOk);
    arp_table.Process(p);
  }
  REQUIRE(arp_table.size() == 1);
  arp_table.ForEach([](const Connection& c) {
    CHECK(c.arp_requests == 1);
    CHECK(c.arp_replies == 1);
    CHECK(c.state == ConnState::kActive);
  });
}

TEST_CASE("flow_table: local addresses decide the local endpoint", "[flow_table]") {
  FlowTable::Options o;
  auto local = std::make_shared<LocalAddresses>();
  const Bytes server = testing::Ip("10.0.0.2");
  local->insert(IpAddress::FromV4(server.data()));
  o.local_addresses = local;
  Harness h(o);
  Tcp tcp;
  Handshake(h, tcp, 1'000'000);
  const Connection* c = h.Only();
  CHECK(c->local == 1 - ClientSide(*c));     // The server is us...
  CHECK(c->initiator == ClientSide(*c));     // ...and the remote client started it.
}

TEST_CASE("flow_table: --no-localhost skips loopback", "[flow_table]") {
  FlowTable::Options o;
  o.no_localhost = true;
  Harness h(o);
  h.Feed(testing::Ipv4Packet("127.0.0.1", "127.0.0.1", 17, testing::UdpDatagram(1, 2, {})), 1);
  h.Feed(testing::Ipv6Packet("::1", "::1", 17, testing::UdpDatagram(1, 2, {})), 2);
  CHECK(h.table.size() == 0);
  CHECK(h.table.stats().localhost_skipped == 2);
}

TEST_CASE("flow_table: expiry follows each class's timeout", "[flow_table]") {
  Harness h;
  Tcp tcp;
  Handshake(h, tcp, 0);
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.9", 17, testing::UdpDatagram(1, 2, {})), 0);
  const int64_t udp_timeout = kTimeoutUs[static_cast<int>(TimeoutClass::kUdp)];
  CHECK(h.table.Expire(udp_timeout) == 0);              // Not yet past.
  CHECK(h.table.Expire(udp_timeout + 10) == 1);         // UDP gone...
  CHECK(h.table.size() == 1);                           // ...TCP established stays.
  const int64_t tcp_timeout = kTimeoutUs[static_cast<int>(TimeoutClass::kTcpEstablished)];
  CHECK(h.table.Expire(tcp_timeout + 3010) == 1);
  CHECK(h.table.size() == 0);
  CHECK(h.table.stats().expired == 2);
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
    h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(port, 53, {})),
           port * 1000);
  }
  // Refresh port 1 so port 2 is now the longest idle.
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(1, 53, {})), 5000);
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(4, 53, {})), 6000);
  CHECK(h.table.size() == 3);
  CHECK(h.table.stats().evicted == 1);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].second == RemovalReason::kEvicted);
  bool port2_left = false;
  h.table.ForEach([&](const Connection& c) {
    if (c.key.port_a == 2 || c.key.port_b == 2) port2_left = true;
  });
  CHECK_FALSE(port2_left);
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
}

TEST_CASE("flow_table: connection ids follow start and stride", "[flow_table]") {
  FlowTable::Options o;
  o.id_start = 3;
  o.id_stride = 4;
  Harness h(o);
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(1, 53, {})), 1);
  h.Feed(testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(2, 53, {})), 2);
  std::vector<uint64_t> ids;
  h.table.ForEach([&ids](const Connection& c) { ids.push_back(c.id); });
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<uint64_t>{3, 7});
}

TEST_CASE("rate: one-second sliding window from two buckets", "[flow_table]") {
  RateWindow r;
  r.Add(10'000'000, 1000);
  r.Add(10'500'000, 1000);
  CHECK(r.Rate(10'900'000) == Approx(2000));
  // Half-way into the next second, half of the previous bucket still counts.
  CHECK(r.Rate(11'500'000) == Approx(1000));
  CHECK(r.Rate(12'100'000) == Approx(0));
}

}  // namespace
}  // namespace rustnet
