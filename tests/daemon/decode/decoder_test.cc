#include "daemon/decode/decoder.h"

#include <catch2/catch.hpp>
#include <set>
#include <string_view>

#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Ip;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;

struct Result {
  DecodeResult result;
  DecodedPacket packet;
};

Result DecodeOne(Decoder& d, const Bytes& frame, int64_t ts = 1'000'000,
                 uint32_t wire_length = 0) {
  Result r{};
  r.result = d.Decode(frame, wire_length == 0 ? static_cast<uint32_t>(frame.size()) : wire_length,
                      ts, &r.packet);
  return r;
}

uint64_t Count(const Decoder& d, Anomaly a) { return d.anomalies().Get(a); }

Bytes SynV4(uint16_t sport = 40000, uint16_t dport = 443) {
  testing::TcpSpec t;
  t.sport = sport;
  t.dport = dport;
  return testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6, testing::TcpSegment(t));
}

// Linux cooked v1 (DLT_LINUX_SLL): 16 bytes, protocol in the last two.
Bytes Sll(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  Put16(b, 0);       // packet type: to us
  Put16(b, 1);       // ARPHRD_ETHER
  Put16(b, 6);       // address length
  PutBytes(b, {0x02, 0, 0, 0, 0, 0x09, 0, 0});
  Put16(b, protocol);
  PutBytes(b, payload);
  return b;
}

// Linux cooked v2 (DLT_LINUX_SLL2): 20 bytes, protocol first.
Bytes Sll2(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  Put16(b, protocol);
  Put16(b, 0);       // reserved
  Put32(b, 2);       // interface index
  Put16(b, 1);       // ARPHRD_ETHER
  Put8(b, 0);        // packet type
  Put8(b, 6);        // address length
  PutBytes(b, {0x02, 0, 0, 0, 0, 0x09, 0, 0});
  PutBytes(b, payload);
  return b;
}

TEST_CASE("decoder: Ethernet IPv4 TCP SYN gives key, flags, lengths and MACs", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Bytes ip = SynV4();
  const Result r = DecodeOne(d, testing::EthernetFrame(0x0800, ip));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.protocol == kIpProtoTcp);
  CHECK(r.packet.key.ip_version == 4);
  CHECK(r.packet.tcp_flags == kTcpSyn);
  CHECK(r.packet.ip_length == ip.size());
  CHECK(r.packet.has_l4_header);
  CHECK(r.packet.has_macs);
  CHECK(r.packet.src_mac == MacAddress{0x02, 0, 0, 0, 0, 0x01});
  // The canonical key holds both ports; the sender is A or B.
  const uint16_t src_port = r.packet.src_is_a ? r.packet.key.port_a : r.packet.key.port_b;
  const uint16_t dst_port = r.packet.src_is_a ? r.packet.key.port_b : r.packet.key.port_a;
  CHECK(src_port == 40000);
  CHECK(dst_port == 443);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: both directions of a flow give the same key", "[decoder]") {
  Decoder d(LinkType::kRaw);
  testing::TcpSpec back;
  back.sport = 443;
  back.dport = 40000;
  back.flags = kTcpSyn | kTcpAck;
  const Result a = DecodeOne(d, SynV4());
  const Result b =
      DecodeOne(d, testing::Ipv4Packet("10.0.0.2", "10.0.0.1", 6, testing::TcpSegment(back)));
  REQUIRE(a.result == DecodeResult::kOk);
  REQUIRE(b.result == DecodeResult::kOk);
  CHECK(a.packet.key == b.packet.key);
  CHECK(a.packet.src_is_a != b.packet.src_is_a);
}

TEST_CASE("decoder: 802.1Q and QinQ tags are followed", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Result one = DecodeOne(d, testing::EthernetFrame(0x0800, SynV4(), {0x8100}));
  REQUIRE(one.result == DecodeResult::kOk);
  CHECK(one.packet.vlan_depth == 1);
  const Result two = DecodeOne(d, testing::EthernetFrame(0x0800, SynV4(), {0x88a8, 0x8100}));
  REQUIRE(two.result == DecodeResult::kOk);
  CHECK(two.packet.vlan_depth == 2);
}

TEST_CASE("decoder: vlan_too_deep past the tag limit", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  std::vector<uint16_t> tags(Decoder::kMaxVlanDepth + 1, 0x8100);
  const Result r = DecodeOne(d, testing::EthernetFrame(0x0800, SynV4(), tags));
  CHECK(r.result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kVlanTooDeep) == 1);
}

TEST_CASE("decoder: Linux cooked v1 and v2", "[decoder]") {
  Decoder v1(LinkType::kLinuxSll);
  CHECK(DecodeOne(v1, Sll(0x0800, SynV4())).result == DecodeResult::kOk);
  Decoder v2(LinkType::kLinuxSll2);
  const Result r = DecodeOne(v2, Sll2(0x86dd, testing::Ipv6Packet(
                                                   "fd00::1", "fd00::2", 17,
                                                   testing::UdpDatagram(5353, 5353, {1, 2}))));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.ip_version == 6);
  CHECK(r.packet.key.protocol == kIpProtoUdp);
  CHECK(DecodeOne(v2, Bytes(19, 0)).result == DecodeResult::kMalformed);
  CHECK(Count(v2, Anomaly::kLinkTruncated) == 1);
}

TEST_CASE("decoder: BSD loopback in host and network byte order", "[decoder]") {
  // DLT_NULL: family 2 (AF_INET) in the capturing host's order; both orders
  // must be understood, since the file may come from another machine.
  for (const Bytes& header : {Bytes{2, 0, 0, 0}, Bytes{0, 0, 0, 2}}) {
    Decoder d(LinkType::kNull);
    Bytes frame = header;
    PutBytes(frame, SynV4());
    CHECK(DecodeOne(d, frame).result == DecodeResult::kOk);
  }
  Decoder loop(LinkType::kLoop);
  Bytes frame = {0, 0, 0, 2};
  PutBytes(frame, SynV4());
  CHECK(DecodeOne(loop, frame).result == DecodeResult::kOk);

  Decoder bad(LinkType::kNull);
  Bytes unknown = {0x77, 0, 0, 0};
  PutBytes(unknown, SynV4());
  CHECK(DecodeOne(bad, unknown).result == DecodeResult::kMalformed);
  CHECK(Count(bad, Anomaly::kNullUnknownFamily) == 1);
}

TEST_CASE("decoder: raw IP picks the version from the first nibble", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, SynV4()).packet.key.ip_version == 4);
  const Bytes v6 = testing::Ipv6Packet("2001:db8::1", "2001:db8::2", 58,
                                       testing::IcmpEcho(true, 7, 1, true));
  const Result r = DecodeOne(d, v6);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.protocol == kIpProtoIcmpv6);
  CHECK(r.packet.icmp_echo);
  CHECK(r.packet.key.port_a == 7);  // Echo id stands in for the ports.
}

TEST_CASE("decoder: non-IP frames are counted as not IP, not malformed", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  CHECK(DecodeOne(d, testing::EthernetFrame(0x88cc, Bytes(40, 0))).result == DecodeResult::kNotIp);
  CHECK(d.not_ip() == 1);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: ipv4_bad_header_length when IHL < 5", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  p[0] = 0x44;
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4BadHeaderLength) == 1);
}

TEST_CASE("decoder: ipv4_total_length_too_small when shorter than the header", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  p[2] = 0;
  p[3] = 19;
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4TotalLengthTooSmall) == 1);
}

TEST_CASE("decoder: ipv4_total_length_past_frame is counted", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  p[2] = 0x10;  // 4096 + 40 bytes claimed.
  DecodeOne(d, p);
  CHECK(Count(d, Anomaly::kIpv4TotalLengthPastFrame) == 1);
}

TEST_CASE("decoder: IPv4 options are skipped by IHL", "[decoder]") {
  Decoder d(LinkType::kRaw);
  testing::TcpSpec t;
  t.sport = 1234;
  t.dport = 80;
  const Bytes tcp = testing::TcpSegment(t);
  Bytes p = testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes{});
  // Rebuild with 4 bytes of options (IHL 6).
  p[0] = 0x46;
  PutBytes(p, {1, 1, 1, 0});  // NOP NOP NOP EOL
  PutBytes(p, tcp);
  p[2] = static_cast<uint8_t>((24 + tcp.size()) >> 8);
  p[3] = static_cast<uint8_t>(24 + tcp.size());
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK((r.packet.key.port_a == 80 || r.packet.key.port_b == 80));
  CHECK((r.packet.key.port_a == 1234 || r.packet.key.port_b == 1234));
}

TEST_CASE("decoder: tcp_bad_data_offset below 5 and past the segment", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes low = SynV4();
  low[20 + 12] = 4 << 4;
  CHECK(DecodeOne(d, low).result == DecodeResult::kMalformed);
  Bytes past = SynV4();
  past[20 + 12] = 15 << 4;  // 60-byte header in a 20-byte segment.
  CHECK(DecodeOne(d, past).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kTcpBadDataOffset) == 2);
}

TEST_CASE("decoder: tcp_truncated when the segment is shorter than 20 bytes", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes(12, 0));
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kTcpTruncated) == 1);
}

TEST_CASE("decoder: udp_bad_length is counted, the datagram still tracked", "[decoder]") {
  // The ports are intact, so the conversation is real (as Wireshark shows it
  // too); the lie is counted and the IP payload length is used instead.
  Decoder d(LinkType::kRaw);
  Bytes udp = testing::UdpDatagram(53, 53, {1, 2, 3});
  udp[4] = 0;
  udp[5] = 4;
  CHECK(DecodeOne(d, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp)).result ==
        DecodeResult::kOk);
  CHECK(Count(d, Anomaly::kUdpBadLength) == 1);
  udp[5] = 200;  // Past the IP payload.
  DecodeOne(d, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp));
  CHECK(Count(d, Anomaly::kUdpBadLength) == 2);
}

TEST_CASE("decoder: ipv6_payload_past_frame is counted", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = testing::Ipv6Packet("fd00::1", "fd00::2", 17, testing::UdpDatagram(1, 2, {}));
  p[4] = 0x40;  // 16 KiB payload claimed.
  DecodeOne(d, p);
  CHECK(Count(d, Anomaly::kIpv6PayloadPastFrame) == 1);
}

TEST_CASE("decoder: IPv6 extension headers are walked to the transport", "[decoder]") {
  Decoder d(LinkType::kRaw);
  // Hop-by-hop (0) -> destination options (60) -> routing (43) -> TCP.
  Bytes ext;
  PutBytes(ext, {60, 0, 1, 4, 0, 0, 0, 0});   // HBH: next 60, len 0 (8 bytes), PadN
  PutBytes(ext, {43, 0, 1, 4, 0, 0, 0, 0});   // Dest opts: next 43
  PutBytes(ext, {6, 0, 0, 0, 0, 0, 0, 0});    // Routing: next TCP, segments left 0
  testing::TcpSpec t;
  t.dport = 22;
  const Bytes p = testing::Ipv6Packet("fd00::1", "fd00::2", 6, testing::TcpSegment(t), ext, 0);
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.protocol == kIpProtoTcp);
  CHECK((r.packet.key.port_a == 22 || r.packet.key.port_b == 22));
}

TEST_CASE("decoder: ipv6_extension_truncated and ipv6_too_many_extensions", "[decoder]") {
  Decoder d(LinkType::kRaw);
  // A hop-by-hop header claiming 16 bytes with only 8 present.
  Bytes ext = {6, 1, 0, 0, 0, 0, 0, 0};
  CHECK(DecodeOne(d, testing::Ipv6Packet("fd00::1", "fd00::2", 6, {}, ext, 0)).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6ExtensionTruncated) == 1);

  Bytes chain;
  for (int i = 0; i < Decoder::kMaxIpv6Extensions + 2; ++i) {
    PutBytes(chain, {60, 0, 1, 4, 0, 0, 0, 0});  // Destination options, again and again.
  }
  CHECK(DecodeOne(d, testing::Ipv6Packet("fd00::1", "fd00::2", 6, {}, chain, 60)).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6TooManyExtensions) == 1);
}

TEST_CASE("decoder: IPv4 fragments: later ones take the first one's ports", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0x55));
  const Bytes first_part(udp.begin(), udp.begin() + 24);
  const Bytes rest(udp.begin() + 24, udp.end());
  // MF set, offset 0; then offset 3 (24 bytes), MF clear.
  const Result first =
      DecodeOne(d, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 77, 0x2000));
  const Result later =
      DecodeOne(d, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, rest, 77, 3), 1'000'100);
  REQUIRE(first.result == DecodeResult::kOk);
  REQUIRE(later.result == DecodeResult::kOk);
  CHECK(first.packet.is_fragment);
  CHECK(later.packet.is_fragment);
  CHECK_FALSE(later.packet.has_l4_header);
  CHECK(later.packet.key == first.packet.key);
}

TEST_CASE("decoder: fragment_without_first is untracked, not a crash", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Result r = DecodeOne(
      d, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(16, 0), 99, 10));
  CHECK(r.result == DecodeResult::kUntracked);
  CHECK(Count(d, Anomaly::kFragmentWithoutFirst) == 1);
}

TEST_CASE("decoder: ARP who-has and is-at", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Result req =
      DecodeOne(d, testing::EthernetFrame(0x0806, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2")));
  REQUIRE(req.result == DecodeResult::kOk);
  CHECK(req.packet.key.protocol == kPseudoProtoArp);
  CHECK(req.packet.arp_op == kArpRequest);
  CHECK(req.packet.ip_length == 28);
  const Result rep =
      DecodeOne(d, testing::EthernetFrame(0x0806, testing::ArpPacket(2, "10.0.0.2", "10.0.0.1")));
  REQUIRE(rep.result == DecodeResult::kOk);
  CHECK(rep.packet.arp_op == kArpReply);
  CHECK(rep.packet.key == req.packet.key);

  Bytes truncated = testing::ArpPacket(1, "10.0.0.1", "10.0.0.2");
  truncated.resize(20);
  CHECK(DecodeOne(d, testing::EthernetFrame(0x0806, truncated)).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kArpTruncated) == 1);
}

TEST_CASE("decoder: every truncation of valid packets is decoded or counted", "[decoder]") {
  testing::TcpSpec t;
  t.payload = Bytes(30, 0x42);
  const std::vector<Bytes> packets = {
      testing::EthernetFrame(0x0800, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6,
                                                         testing::TcpSegment(t))),
      testing::EthernetFrame(0x86dd, testing::Ipv6Packet("fd00::1", "fd00::2", 17,
                                                         testing::UdpDatagram(1, 2, {9, 9}))),
      testing::EthernetFrame(0x0800, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 1,
                                                         testing::IcmpEcho(true, 1, 1)),
                             {0x8100}),
      testing::EthernetFrame(0x0806, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2")),
  };
  for (const Bytes& full : packets) {
    for (size_t n = 0; n <= full.size(); ++n) {
      Decoder d(LinkType::kEthernet);
      const Bytes cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
      // The wire length stays the full one: a short snaplen, not a lie.
      DecodedPacket out;
      const DecodeResult r = d.Decode(cut, static_cast<uint32_t>(full.size()), 1, &out);
      INFO("prefix " << n << " of " << full.size());
      if (r == DecodeResult::kMalformed) {
        CHECK(d.anomalies().Total() >= 1);
      } else {
        CHECK((r == DecodeResult::kOk || r == DecodeResult::kNotIp ||
               r == DecodeResult::kUntracked));
      }
    }
  }
}

TEST_CASE("decoder: anomaly names are unique snake_case", "[decoder]") {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kAnomalyCount; ++i) {
    const std::string_view n = AnomalyName(static_cast<Anomaly>(i));
    CHECK_FALSE(n.empty());
    CHECK(n.find(' ') == std::string_view::npos);
    names.insert(n);
  }
  CHECK(names.size() == kAnomalyCount);
}

}  // namespace
}  // namespace rustnet
