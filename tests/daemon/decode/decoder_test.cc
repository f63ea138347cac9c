#include "daemon/decode/decoder.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::EthernetFrame;
using testing::Ipv4Packet;
using testing::Ipv6Packet;
using testing::PutBytes;

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthPppoe = 0x8864;
constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kNextRouting = 43;
constexpr uint8_t kNextFragment = 44;
constexpr uint8_t kNextAh = 51;
constexpr uint8_t kNextDestOpts = 60;
constexpr uint8_t kNextMobility = 135;

struct Result {
  DecodeResult result;
  DecodedPacket packet;
};

// Decodes `frame`; `wire_length` 0 means "as captured".
Result DecodeOne(Decoder& d, const Bytes& frame, int64_t ts = 1'000'000,
                 uint32_t wire_length = 0) {
  Result r{};
  r.result = d.Decode(frame, wire_length == 0 ? static_cast<uint32_t>(frame.size()) : wire_length,
                      ts, &r.packet);
  return r;
}

uint64_t Count(const Decoder& d, Anomaly a) { return d.anomalies().Get(a); }

uint16_t SrcPort(const DecodedPacket& p) { return p.src_is_a ? p.key.port_a : p.key.port_b; }
uint16_t DstPort(const DecodedPacket& p) { return p.src_is_a ? p.key.port_b : p.key.port_a; }
std::string SrcAddr(const DecodedPacket& p) {
  return (p.src_is_a ? p.key.addr_a : p.key.addr_b).ToString();
}
std::string DstAddr(const DecodedPacket& p) {
  return (p.src_is_a ? p.key.addr_b : p.key.addr_a).ToString();
}

Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags = kTcpSyn, size_t payload = 0) {
  testing::TcpSpec t;
  t.sport = sport;
  t.dport = dport;
  t.flags = flags;
  t.payload = Bytes(payload, 0x42);
  return testing::TcpSegment(t);
}

// A 40-byte IPv4 TCP SYN 10.0.0.1:sport -> 10.0.0.2:dport.
Bytes SynV4(uint16_t sport = 40000, uint16_t dport = 443) {
  return Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Tcp(sport, dport));
}

Bytes UdpV6(uint16_t sport = 5353, uint16_t dport = 5353, size_t payload = 2) {
  return Ipv6Packet("fd00::1", "fd00::2", 17,
                    testing::UdpDatagram(sport, dport, Bytes(payload, 7)));
}

// Sets the IPv4 total length field.
void SetIpv4TotalLength(Bytes& ip, size_t offset, uint16_t total) {
  ip[offset + 2] = static_cast<uint8_t>(total >> 8);
  ip[offset + 3] = static_cast<uint8_t>(total);
}

// ---------------------------------------------------------------------------
// Link layers.

TEST_CASE("decoder: Ethernet IPv4 TCP gives key, every TCP field, lengths and MACs",
          "[decoder]") {
  Decoder d(LinkType::kEthernet);
  testing::TcpSpec t;
  t.sport = 40000;
  t.dport = 443;
  t.seq = 0x01020304;
  t.ack = 0xa0b0c0d0;
  t.flags = kTcpAck | kTcpPsh;
  t.window = 1234;
  t.payload = Bytes(10, 0x42);
  const Bytes ip = Ipv4Packet("10.0.0.1", "10.0.0.2", 6, testing::TcpSegment(t));
  const Result r = DecodeOne(d, EthernetFrame(kEthIpv4, ip), 7'654'321);
  REQUIRE(r.result == DecodeResult::kOk);
  const DecodedPacket& p = r.packet;
  CHECK(p.timestamp_us == 7'654'321);
  CHECK(p.key.protocol == kIpProtoTcp);
  CHECK(p.key.ip_version == 4);
  CHECK(SrcAddr(p) == "10.0.0.1");
  CHECK(DstAddr(p) == "10.0.0.2");
  CHECK(SrcPort(p) == 40000);
  CHECK(DstPort(p) == 443);
  CHECK(p.tcp_flags == (kTcpAck | kTcpPsh));
  CHECK(p.seq == 0x01020304u);
  CHECK(p.ack == 0xa0b0c0d0u);
  CHECK(p.window == 1234);
  CHECK(p.ip_length == 50);
  CHECK(p.has_l4_header);
  CHECK_FALSE(p.is_fragment);
  CHECK(p.vlan_depth == 0);
  CHECK(p.has_macs);
  CHECK(p.src_mac == MacAddress{0x02, 0, 0, 0, 0, 0x01});
  CHECK(p.dst_mac == MacAddress{0x02, 0, 0, 0, 0, 0x02});
  CHECK(p.payload_offset == 14 + 20 + 20);
  CHECK(p.payload_captured == 10);
  CHECK(p.payload_wire == 10);
  CHECK(d.anomalies().Total() == 0);
  CHECK(d.not_ip() == 0);
}

TEST_CASE("decoder: both directions of a flow give the same key", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Result a = DecodeOne(d, SynV4());
  const Result b = DecodeOne(
      d, Ipv4Packet("10.0.0.2", "10.0.0.1", 6, Tcp(443, 40000, kTcpSyn | kTcpAck)));
  REQUIRE(a.result == DecodeResult::kOk);
  REQUIRE(b.result == DecodeResult::kOk);
  CHECK(a.packet.key == b.packet.key);
  CHECK(a.packet.src_is_a != b.packet.src_is_a);
}

TEST_CASE("decoder: each Decode starts from an empty packet", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  DecodedPacket p;
  const Bytes tcp = EthernetFrame(kEthIpv4, SynV4());
  REQUIRE(d.Decode(tcp, static_cast<uint32_t>(tcp.size()), 1, &p) == DecodeResult::kOk);
  REQUIRE(p.tcp_flags == kTcpSyn);
  const Bytes arp = EthernetFrame(kEthArp, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2"));
  REQUIRE(d.Decode(arp, static_cast<uint32_t>(arp.size()), 2, &p) == DecodeResult::kOk);
  CHECK(p.tcp_flags == 0);
  CHECK(p.seq == 0);
  CHECK_FALSE(p.has_l4_header);
  CHECK(p.timestamp_us == 2);
}

TEST_CASE("decoder: Ethernet padding is not counted in the IP length", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  Bytes frame = EthernetFrame(
      kEthIpv4, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(1000, 53, {1, 2})));
  REQUIRE(frame.size() == 44);
  frame.resize(60, 0);  // Minimum Ethernet frame.
  const Result r = DecodeOne(d, frame);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 30);
  CHECK(r.packet.payload_captured == 2);
  CHECK(r.packet.payload_wire == 2);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: a short snaplen is not an anomaly; wire lengths are kept", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Bytes full = EthernetFrame(
      kEthIpv4, Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Tcp(40000, 80, kTcpAck, 100)));
  const Bytes cut(full.begin(), full.begin() + 14 + 20 + 20 + 16);
  const Result r = DecodeOne(d, cut, 1, static_cast<uint32_t>(full.size()));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 140);
  CHECK(r.packet.payload_wire == 100);
  CHECK(r.packet.payload_captured == 16);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: a wire length below the captured length trusts the bytes", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Bytes frame = EthernetFrame(kEthIpv4, SynV4());
  const Result r = DecodeOne(d, frame, 1, 10);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 40);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: link_truncated for short Ethernet headers", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  CHECK(DecodeOne(d, Bytes{}).result == DecodeResult::kMalformed);
  CHECK(DecodeOne(d, Bytes(13, 0)).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 2);
  // 14 bytes of header and nothing after it: the IPv4 header is missing.
  CHECK(DecodeOne(d, EthernetFrame(kEthIpv4, {})).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4Truncated) == 1);
}

TEST_CASE("decoder: 802.1Q, 802.1ad and pre-standard QinQ tags are followed", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Result one = DecodeOne(d, EthernetFrame(kEthIpv4, SynV4(), {0x8100}));
  REQUIRE(one.result == DecodeResult::kOk);
  CHECK(one.packet.vlan_depth == 1);
  CHECK(one.packet.payload_offset == 18 + 40);
  const Result qinq = DecodeOne(d, EthernetFrame(kEthIpv4, SynV4(), {0x88a8, 0x8100}));
  REQUIRE(qinq.result == DecodeResult::kOk);
  CHECK(qinq.packet.vlan_depth == 2);
  CHECK(qinq.packet.payload_offset == 22 + 40);
  const Result old = DecodeOne(d, EthernetFrame(kEthIpv6, UdpV6(), {0x9100, 0x8100}));
  REQUIRE(old.result == DecodeResult::kOk);
  CHECK(old.packet.vlan_depth == 2);
  CHECK(old.packet.key.ip_version == 6);
  const Result arp = DecodeOne(
      d, EthernetFrame(kEthArp, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2"), {0x8100}));
  REQUIRE(arp.result == DecodeResult::kOk);
  CHECK(arp.packet.key.protocol == kPseudoProtoArp);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: four tags are followed, vlan_too_deep past them", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const std::vector<uint16_t> four(Decoder::kMaxVlanDepth, 0x8100);
  const Result ok = DecodeOne(d, EthernetFrame(kEthIpv4, SynV4(), four));
  REQUIRE(ok.result == DecodeResult::kOk);
  CHECK(ok.packet.vlan_depth == Decoder::kMaxVlanDepth);
  std::vector<uint16_t> five(Decoder::kMaxVlanDepth + 1, 0x88a8);
  CHECK(DecodeOne(d, EthernetFrame(kEthIpv4, SynV4(), five)).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kVlanTooDeep) == 1);
}

TEST_CASE("decoder: link_truncated for a VLAN tag cut short", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  Bytes f = EthernetFrame(kEthIpv4, {}, {0x8100});  // 12 MACs + TPID + TCI + type
  REQUIRE(f.size() == 18);
  f.resize(17);  // Inner ethertype cut.
  CHECK(DecodeOne(d, f).result == DecodeResult::kMalformed);
  f.resize(15);  // TCI cut.
  CHECK(DecodeOne(d, f).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 2);
}

TEST_CASE("decoder: Linux cooked v1 (SLL)", "[decoder]") {
  Decoder d(LinkType::kLinuxSll);
  const Result v4 = DecodeOne(d, testing::SllFrame(kEthIpv4, SynV4()));
  REQUIRE(v4.result == DecodeResult::kOk);
  CHECK(v4.packet.key.protocol == kIpProtoTcp);
  CHECK(v4.packet.has_macs);
  CHECK(v4.packet.src_mac == MacAddress{0x02, 0, 0, 0, 0, 0x09});
  CHECK(v4.packet.dst_mac == MacAddress{});
  CHECK(v4.packet.payload_offset == 16 + 40);

  const Result v6 = DecodeOne(d, testing::SllFrame(kEthIpv6, UdpV6()));
  REQUIRE(v6.result == DecodeResult::kOk);
  CHECK(v6.packet.key.ip_version == 6);

  const Result arp =
      DecodeOne(d, testing::SllFrame(kEthArp, testing::ArpPacket(2, "10.0.0.2", "10.0.0.1")));
  REQUIRE(arp.result == DecodeResult::kOk);
  CHECK(arp.packet.arp_op == kArpReply);

  // ARPHRD_LOOPBACK (772): the address is not an Ethernet MAC.
  const Result lo = DecodeOne(d, testing::SllFrame(kEthIpv4, SynV4(), 772));
  REQUIRE(lo.result == DecodeResult::kOk);
  CHECK_FALSE(lo.packet.has_macs);

  // 802.2 LLC (protocol 4) is not IP.
  CHECK(DecodeOne(d, testing::SllFrame(0x0004, Bytes(20, 0))).result == DecodeResult::kNotIp);
  CHECK(d.not_ip() == 1);
  CHECK(d.anomalies().Total() == 0);

  CHECK(DecodeOne(d, Bytes(15, 0)).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 1);
}

TEST_CASE("decoder: Linux cooked v2 (SLL2)", "[decoder]") {
  Decoder d(LinkType::kLinuxSll2);
  const Result v6 = DecodeOne(d, testing::Sll2Frame(kEthIpv6, UdpV6(5353, 5353, 2)));
  REQUIRE(v6.result == DecodeResult::kOk);
  CHECK(v6.packet.key.ip_version == 6);
  CHECK(v6.packet.key.protocol == kIpProtoUdp);
  CHECK(v6.packet.has_macs);
  CHECK(v6.packet.src_mac == MacAddress{0x02, 0, 0, 0, 0, 0x09});
  CHECK(v6.packet.payload_offset == 20 + 40 + 8);

  const Result v4 = DecodeOne(d, testing::Sll2Frame(kEthIpv4, SynV4()));
  REQUIRE(v4.result == DecodeResult::kOk);
  CHECK(v4.packet.key.ip_version == 4);

  const Result tun = DecodeOne(d, testing::Sll2Frame(kEthIpv4, SynV4(), 65534));  // ARPHRD_NONE
  REQUIRE(tun.result == DecodeResult::kOk);
  CHECK_FALSE(tun.packet.has_macs);
  CHECK(d.anomalies().Total() == 0);

  CHECK(DecodeOne(d, Bytes(19, 0)).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 1);
}

TEST_CASE("decoder: raw IP picks the version from the first nibble", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, SynV4()).packet.key.ip_version == 4);
  const Result r = DecodeOne(
      d, Ipv6Packet("2001:db8::1", "2001:db8::2", 58, testing::IcmpEcho(true, 7, 1, true)));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.ip_version == 6);
  CHECK(r.packet.key.protocol == kIpProtoIcmpv6);
  CHECK_FALSE(r.packet.has_macs);
  CHECK(d.anomalies().Total() == 0);

  Bytes v5 = SynV4();
  v5[0] = 0x55;
  CHECK(DecodeOne(d, v5).result == DecodeResult::kNotIp);
  CHECK(d.not_ip() == 1);
  CHECK(DecodeOne(d, Bytes{}).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 1);
}

TEST_CASE("decoder: IPv4 and IPv6 link types check the version", "[decoder]") {
  Decoder v4(LinkType::kIpv4);
  CHECK(DecodeOne(v4, SynV4()).result == DecodeResult::kOk);
  CHECK(DecodeOne(v4, UdpV6()).result == DecodeResult::kMalformed);
  CHECK(Count(v4, Anomaly::kIpv4BadVersion) == 1);

  Decoder v6(LinkType::kIpv6);
  const Result r = DecodeOne(v6, UdpV6());
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.ip_version == 6);
  CHECK(DecodeOne(v6, SynV4()).result == DecodeResult::kMalformed);  // 40 bytes, version 4
  CHECK(Count(v6, Anomaly::kIpv6BadVersion) == 1);
}

TEST_CASE("decoder: DLT_NULL families in either byte order", "[decoder]") {
  // DLT_NULL is in the capturing host's order; a file may come from either
  // kind of machine. AF_INET6 differs between systems.
  for (const bool big_endian : {false, true}) {
    Decoder d(LinkType::kNull);
    INFO("big endian " << big_endian);
    const Result v4 = DecodeOne(d, testing::NullFrame(2, big_endian, SynV4()));
    REQUIRE(v4.result == DecodeResult::kOk);
    CHECK(v4.packet.key.ip_version == 4);
    CHECK(v4.packet.payload_offset == 4 + 40);
    for (const uint32_t af6 : {10u, 24u, 28u, 30u}) {
      INFO("AF_INET6 " << af6);
      const Result v6 = DecodeOne(d, testing::NullFrame(af6, big_endian, UdpV6()));
      REQUIRE(v6.result == DecodeResult::kOk);
      CHECK(v6.packet.key.ip_version == 6);
    }
    CHECK(d.anomalies().Total() == 0);
  }
}

TEST_CASE("decoder: DLT_LOOP families are in network order only", "[decoder]") {
  Decoder d(LinkType::kLoop);
  CHECK(DecodeOne(d, testing::NullFrame(2, true, SynV4())).result == DecodeResult::kOk);
  for (const uint32_t af6 : {10u, 24u, 28u, 30u}) {
    CHECK(DecodeOne(d, testing::NullFrame(af6, true, UdpV6())).packet.key.ip_version == 6);
  }
  CHECK(d.anomalies().Total() == 0);
  // Little-endian 2 read in network order is 0x02000000: unknown.
  CHECK(DecodeOne(d, testing::NullFrame(2, false, SynV4())).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kNullUnknownFamily) == 1);
}

TEST_CASE("decoder: null_unknown_family and link_truncated on BSD loopback", "[decoder]") {
  Decoder d(LinkType::kNull);
  CHECK(DecodeOne(d, testing::NullFrame(0x77, false, SynV4())).result ==
        DecodeResult::kMalformed);
  CHECK(DecodeOne(d, testing::NullFrame(0, false, SynV4())).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kNullUnknownFamily) == 2);
  CHECK(DecodeOne(d, Bytes{2, 0, 0}).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 1);
  // A family and no packet: the IPv4 header is missing.
  CHECK(DecodeOne(d, Bytes{2, 0, 0, 0}).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4Truncated) == 1);
}

TEST_CASE("decoder: PPPoE session frames carry IPv4 and IPv6", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Result v4 = DecodeOne(d, EthernetFrame(kEthPppoe, testing::PppoeSession(0x0021, SynV4())));
  REQUIRE(v4.result == DecodeResult::kOk);
  CHECK(v4.packet.key.ip_version == 4);
  CHECK(v4.packet.payload_offset == 14 + 8 + 40);
  const Result v6 = DecodeOne(
      d, EthernetFrame(kEthPppoe, testing::PppoeSession(0x0057, UdpV6()), {0x8100}));
  REQUIRE(v6.result == DecodeResult::kOk);
  CHECK(v6.packet.key.ip_version == 6);
  CHECK(v6.packet.vlan_depth == 1);
  // LCP is PPP's own business.
  CHECK(DecodeOne(d, EthernetFrame(kEthPppoe, testing::PppoeSession(0xc021, Bytes(8, 0))))
            .result == DecodeResult::kNotIp);
  CHECK(d.not_ip() == 1);
  CHECK(d.anomalies().Total() == 0);
  Bytes cut = EthernetFrame(kEthPppoe, testing::PppoeSession(0x0021, {}));
  cut.resize(14 + 7);
  CHECK(DecodeOne(d, cut).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kLinkTruncated) == 1);
}

TEST_CASE("decoder: non-IP frames are counted as not IP, not malformed", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  CHECK(DecodeOne(d, EthernetFrame(0x88cc, Bytes(40, 0))).result == DecodeResult::kNotIp);  // LLDP
  CHECK(DecodeOne(d, EthernetFrame(0x8137, Bytes(40, 0))).result == DecodeResult::kNotIp);  // IPX
  CHECK(d.not_ip() == 2);
  CHECK(d.anomalies().Total() == 0);
}

// ---------------------------------------------------------------------------
// IPv4.

TEST_CASE("decoder: IPv4 options are skipped by IHL", "[decoder]") {
  Decoder d(LinkType::kRaw);
  for (const size_t options : {size_t{4}, size_t{40}}) {
    INFO(options << " bytes of options");
    Bytes opts(options, 1);  // NOPs
    opts.back() = 0;         // EOL
    const Bytes p = testing::Ipv4PacketWithOptions("10.0.0.1", "10.0.0.2", 6,
                                                   Tcp(1234, 80, kTcpAck, 3), opts);
    const Result r = DecodeOne(d, p);
    REQUIRE(r.result == DecodeResult::kOk);
    CHECK(SrcPort(r.packet) == 1234);
    CHECK(DstPort(r.packet) == 80);
    CHECK(r.packet.tcp_flags == kTcpAck);
    CHECK(r.packet.ip_length == 20 + options + 23);
    CHECK(r.packet.payload_offset == 20 + options + 20);
    CHECK(r.packet.payload_wire == 3);
  }
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: ipv4_truncated below 20 bytes", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  p.resize(19);
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  Decoder eth(LinkType::kEthernet);
  CHECK(DecodeOne(eth, EthernetFrame(kEthIpv4, Bytes{0x45, 0, 0, 40})).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4Truncated) == 1);
  CHECK(Count(eth, Anomaly::kIpv4Truncated) == 1);
}

TEST_CASE("decoder: ipv4_bad_version when the ethertype says IPv4", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  CHECK(DecodeOne(d, EthernetFrame(kEthIpv4, UdpV6())).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4BadVersion) == 1);
}

TEST_CASE("decoder: ipv4_bad_header_length when IHL < 5", "[decoder]") {
  Decoder d(LinkType::kRaw);
  for (const uint8_t ihl : {uint8_t{0}, uint8_t{1}, uint8_t{4}}) {
    Bytes p = SynV4();
    p[0] = static_cast<uint8_t>(0x40 | ihl);
    CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  }
  CHECK(Count(d, Anomaly::kIpv4BadHeaderLength) == 3);
}

TEST_CASE("decoder: ipv4_bad_header_length when IHL runs past the captured bytes",
          "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  p[0] = 0x4f;  // 60-byte header in a 40-byte packet.
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  p = SynV4();
  p.resize(23);
  p[0] = 0x46;  // 24-byte header, 23 bytes captured.
  CHECK(DecodeOne(d, p, 1, 40).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4BadHeaderLength) == 2);
}

TEST_CASE("decoder: ipv4_total_length_too_small when shorter than the header", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  SetIpv4TotalLength(p, 0, 19);
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  // With options the header is 24 bytes: a total of 22 is too small too.
  Bytes o = testing::Ipv4PacketWithOptions("10.0.0.1", "10.0.0.2", 6, Tcp(1, 2), {1, 1, 1, 0});
  SetIpv4TotalLength(o, 0, 22);
  CHECK(DecodeOne(d, o).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv4TotalLengthTooSmall) == 2);
}

TEST_CASE("decoder: ipv4_total_length_past_frame is counted and the frame length used",
          "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = SynV4();
  SetIpv4TotalLength(p, 0, 4136);
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 40);
  CHECK(r.packet.payload_wire == 0);
  CHECK(Count(d, Anomaly::kIpv4TotalLengthPastFrame) == 1);
  CHECK(d.anomalies().Total() == 1);
}

TEST_CASE("decoder: ipv4_zero_total_length (TSO) uses the frame length", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  Bytes f = EthernetFrame(kEthIpv4,
                          Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Tcp(40000, 80, kTcpAck, 1000)));
  SetIpv4TotalLength(f, 14, 0);
  const Result r = DecodeOne(d, f);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 1040);
  CHECK(r.packet.payload_wire == 1000);
  CHECK(Count(d, Anomaly::kIpv4ZeroTotalLength) == 1);
  CHECK(d.anomalies().Total() == 1);
}

TEST_CASE("decoder: IP protocols we do not track are not IP, not malformed", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 47, Bytes(8, 0))).result ==
        DecodeResult::kNotIp);  // GRE
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 132, Bytes(12, 0))).result ==
        DecodeResult::kNotIp);  // SCTP
  CHECK(d.not_ip() == 2);
  CHECK(d.anomalies().Total() == 0);
}

// ---------------------------------------------------------------------------
// IPv4 fragments.

TEST_CASE("decoder: IPv4 fragments: later ones take the first one's ports", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0x55));
  const Bytes first_part(udp.begin(), udp.begin() + 24);
  const Bytes rest(udp.begin() + 24, udp.end());
  // MF set, offset 0; then offset 3 (24 bytes), MF clear.
  const Result first =
      DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 77, 0x2000));
  const Result later = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, rest, 77, 3), 1'000'100);
  REQUIRE(first.result == DecodeResult::kOk);
  REQUIRE(later.result == DecodeResult::kOk);
  CHECK(first.packet.is_fragment);
  CHECK(first.packet.has_l4_header);
  CHECK(SrcPort(first.packet) == 5000);
  CHECK(DstPort(first.packet) == 9999);
  CHECK(first.packet.ip_length == 44);
  CHECK(later.packet.is_fragment);
  CHECK_FALSE(later.packet.has_l4_header);
  CHECK(later.packet.key == first.packet.key);
  CHECK(later.packet.src_is_a == first.packet.src_is_a);
  CHECK(later.packet.ip_length == 20 + 24);
  CHECK(later.packet.payload_wire == 0);
  CHECK(later.packet.payload_captured == 0);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: a first UDP fragment's datagram length is not udp_bad_length",
          "[decoder]") {
  // The UDP length covers the whole datagram; the first fragment holds
  // only part of it, so it cannot be held to this packet's payload.
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(1400, 0x55));
  const Bytes first_part(udp.begin(), udp.begin() + 1000);
  const Result r = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 5, 0x2000));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.payload_wire == 1000 - 8);
  CHECK(r.packet.payload_captured == 1000 - 8);
  CHECK(Count(d, Anomaly::kUdpBadLength) == 0);
}

TEST_CASE("decoder: IPv4 TCP and ICMP echo fragments are attributed", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes seg = Tcp(40000, 80, kTcpAck, 40);
  const Result tcp_first = DecodeOne(
      d, Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes(seg.begin(), seg.begin() + 32), 1, 0x2000));
  const Result tcp_later = DecodeOne(
      d, Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes(seg.begin() + 32, seg.end()), 1, 4));
  REQUIRE(tcp_first.result == DecodeResult::kOk);
  REQUIRE(tcp_later.result == DecodeResult::kOk);
  CHECK(tcp_later.packet.key == tcp_first.packet.key);
  CHECK(tcp_later.packet.tcp_flags == 0);

  // ping -s 2000: the echo id is in the first fragment only.
  const Bytes echo = testing::IcmpEcho(true, 0x4242, 1);
  const Result icmp_first = DecodeOne(
      d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, Bytes(echo.begin(), echo.begin() + 16), 2, 0x2000));
  const Result icmp_later = DecodeOne(
      d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, Bytes(echo.begin() + 16, echo.end()), 2, 2));
  REQUIRE(icmp_first.result == DecodeResult::kOk);
  REQUIRE(icmp_later.result == DecodeResult::kOk);
  CHECK(icmp_later.packet.key.port_a == 0x4242);
  CHECK(icmp_later.packet.key.port_b == 0x4242);
  CHECK(icmp_later.packet.key == icmp_first.packet.key);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: fragment_without_first is untracked, not a crash", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Result r = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(16, 0), 99, 10));
  CHECK(r.result == DecodeResult::kUntracked);
  CHECK(r.packet.is_fragment);
  CHECK(Count(d, Anomaly::kFragmentWithoutFirst) == 1);
}

TEST_CASE("decoder: a later fragment matches only its own first fragment", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0));
  const Bytes first_part(udp.begin(), udp.begin() + 24);
  REQUIRE(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 77, 0x2000)).result ==
          DecodeResult::kOk);
  const Bytes rest(24, 0);
  // Other id, the reverse direction, another source, another protocol.
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, rest, 78, 3)).result ==
        DecodeResult::kUntracked);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.2", "10.0.0.1", 17, rest, 77, 3)).result ==
        DecodeResult::kUntracked);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.3", "10.0.0.2", 17, rest, 77, 3)).result ==
        DecodeResult::kUntracked);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 6, rest, 77, 3)).result ==
        DecodeResult::kUntracked);
  CHECK(Count(d, Anomaly::kFragmentWithoutFirst) == 4);
  // The right one still matches.
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, rest, 77, 3)).result ==
        DecodeResult::kOk);
}

TEST_CASE("decoder: a remembered first fragment expires", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0));
  const Bytes first_part(udp.begin(), udp.begin() + 24);
  const int64_t t0 = 5'000'000;
  REQUIRE(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 7, 0x2000), t0)
              .result == DecodeResult::kOk);
  const Bytes later = Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(24, 0), 7, 3);
  CHECK(DecodeOne(d, later, t0 + Decoder::kFragmentTimeoutUs).result == DecodeResult::kOk);
  CHECK(DecodeOne(d, later, t0 + Decoder::kFragmentTimeoutUs + 1).result ==
        DecodeResult::kUntracked);
  CHECK(Count(d, Anomaly::kFragmentWithoutFirst) == 1);
}

TEST_CASE("decoder: a first fragment at the end of the clock does not overflow its expiry",
          "[decoder]") {
  // Capture timestamps are clamped below INT64_MAX microseconds, not 30 s
  // below it (pcapng allows any 64-bit time): the expiry must saturate.
  Decoder d(LinkType::kRaw);
  const int64_t late = INT64_MAX - 1'000'000;
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0));
  REQUIRE(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17,
                                  Bytes(udp.begin(), udp.begin() + 24), 7, 0x2000),
                    late)
              .result == DecodeResult::kOk);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(24, 0), 7, 3), late + 10)
            .result == DecodeResult::kOk);
}

TEST_CASE("decoder: later fragments of untracked protocols are not IP", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 47, Bytes(16, 0), 9, 0x2000)).result ==
        DecodeResult::kNotIp);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 47, Bytes(16, 0), 9, 2)).result ==
        DecodeResult::kNotIp);
  CHECK(d.not_ip() == 2);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: fragment_table_full when first fragments outnumber the table",
          "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(16, 0));
  // One more live first fragment than slots: at least one slot is shared.
  for (uint32_t id = 0; id <= Decoder::kFragmentTableSize; ++id) {
    DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp, static_cast<uint16_t>(id), 0x2000),
              1'000'000);
  }
  const uint64_t full = Count(d, Anomaly::kFragmentTableFull);
  CHECK(full >= 1);
  // Once the remembered ones have expired, reusing a slot is no loss; nor
  // is a first fragment seen again (a retransmission) in its own slot.
  const int64_t later = 1'000'000 + Decoder::kFragmentTimeoutUs + 1;
  DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp, 0, 0x2000), later);
  DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp, 0, 0x2000), later + 1);
  CHECK(Count(d, Anomaly::kFragmentTableFull) == full);
}

// ---------------------------------------------------------------------------
// IPv6.

TEST_CASE("decoder: IPv6 TCP fields and lengths", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Bytes ip = Ipv6Packet("2001:db8::1", "2001:db8::2", 6, Tcp(40000, 22, kTcpSyn, 4));
  const Result r = DecodeOne(d, EthernetFrame(kEthIpv6, ip));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.ip_version == 6);
  CHECK(r.packet.key.protocol == kIpProtoTcp);
  CHECK(SrcAddr(r.packet) == "2001:db8::1");
  CHECK(DstAddr(r.packet) == "2001:db8::2");
  CHECK(SrcPort(r.packet) == 40000);
  CHECK(DstPort(r.packet) == 22);
  CHECK(r.packet.ip_length == 40 + 24);
  CHECK(r.packet.payload_offset == 14 + 40 + 20);
  CHECK(r.packet.payload_wire == 4);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: ipv6_truncated below the fixed header", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = UdpV6();
  p.resize(39);
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6Truncated) == 1);
}

TEST_CASE("decoder: ipv6_bad_version when the ethertype says IPv6", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  CHECK(DecodeOne(d, EthernetFrame(kEthIpv6, SynV4())).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6BadVersion) == 1);
}

TEST_CASE("decoder: ipv6_payload_past_frame is counted and the frame length used",
          "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = UdpV6(1, 2, 0);
  p[4] = 0x40;  // 16 KiB payload claimed.
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 48);
  CHECK(Count(d, Anomaly::kIpv6PayloadPastFrame) == 1);
}

TEST_CASE("decoder: ipv6_zero_payload_length uses the frame length", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(1, 2, kTcpAck, 100));
  p[4] = 0;
  p[5] = 0;
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 160);
  CHECK(r.packet.payload_wire == 100);
  CHECK(Count(d, Anomaly::kIpv6ZeroPayloadLength) == 1);
}

TEST_CASE("decoder: IPv6 payload length below the frame drops the trailer", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes p = UdpV6(1, 2, 4);
  PutBytes(p, Bytes(10, 0xee));  // Trailer past the payload length.
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 52);
  CHECK(r.packet.payload_captured == 4);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: IPv6 extension headers are walked to the transport", "[decoder]") {
  Decoder d(LinkType::kRaw);
  // Hop-by-hop -> destination options (16 bytes) -> routing -> TCP.
  Bytes ext = testing::Ipv6OptionsHeader(kNextDestOpts);
  PutBytes(ext, testing::Ipv6OptionsHeader(kNextRouting, 16));
  PutBytes(ext, testing::Ipv6RoutingHeader(6));
  const Bytes p = Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(40000, 22, kTcpAck, 5), ext,
                             kNextHopByHop);
  const Result r = DecodeOne(d, p);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.protocol == kIpProtoTcp);
  CHECK(SrcPort(r.packet) == 40000);
  CHECK(DstPort(r.packet) == 22);
  CHECK(r.packet.tcp_flags == kTcpAck);
  CHECK_FALSE(r.packet.is_fragment);
  CHECK(r.packet.ip_length == 40 + 32 + 25);
  CHECK(r.packet.payload_offset == 40 + 32 + 20);
  CHECK(r.packet.payload_wire == 5);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: AH counts 4-octet units, mobility 8-octet units", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes ah = testing::Ipv6AuthHeader(17, 24);
  const Result r = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 17, testing::UdpDatagram(500, 500, {1, 2, 3}), ah,
                    kNextAh));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.protocol == kIpProtoUdp);
  CHECK(SrcPort(r.packet) == 500);
  CHECK(r.packet.payload_offset == 40 + 24 + 8);
  CHECK(r.packet.payload_wire == 3);

  const Result m = DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 17,
                                           testing::UdpDatagram(1, 2, {}),
                                           testing::Ipv6OptionsHeader(17, 16), kNextMobility));
  REQUIRE(m.result == DecodeResult::kOk);
  CHECK(m.packet.payload_offset == 40 + 16 + 8);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: ESP and No Next Header are not tracked", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 50, Bytes(16, 0))).result ==
        DecodeResult::kNotIp);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 59, {}, testing::Ipv6OptionsHeader(59),
                                kNextDestOpts))
            .result == DecodeResult::kNotIp);
  CHECK(d.not_ip() == 2);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: ipv6_extension_truncated for headers past the payload", "[decoder]") {
  Decoder d(LinkType::kRaw);
  // A hop-by-hop header claiming 16 bytes with only 8 present.
  Bytes claims16 = testing::Ipv6OptionsHeader(6);
  claims16[1] = 1;
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 6, {}, claims16, kNextHopByHop)).result ==
        DecodeResult::kMalformed);
  // Only the Next Header byte of a header.
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 6, {}, Bytes{6}, kNextDestOpts)).result ==
        DecodeResult::kMalformed);
  // A fragment header cut after 4 of its 8 bytes.
  Bytes frag = testing::Ipv6FragmentHeader(17, 0, true, 1);
  frag.resize(4);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 17, {}, frag, kNextFragment)).result ==
        DecodeResult::kMalformed);
  // The payload length stops the walk, even with bytes captured beyond it.
  Bytes p = Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(1, 2), testing::Ipv6OptionsHeader(6, 16),
                       kNextDestOpts);
  p[4] = 0;
  p[5] = 8;
  CHECK(DecodeOne(d, p).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6ExtensionTruncated) == 4);
}

TEST_CASE("decoder: eight extension headers are followed, ipv6_too_many_extensions past them",
          "[decoder]") {
  Decoder d(LinkType::kRaw);
  auto chain = [](int n) {
    Bytes c;
    for (int i = 0; i < n; ++i) {
      PutBytes(c, testing::Ipv6OptionsHeader(i + 1 < n ? kNextDestOpts : uint8_t{6}));
    }
    return c;
  };
  const Result ok = DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(1, 2),
                                            chain(Decoder::kMaxIpv6Extensions), kNextDestOpts));
  REQUIRE(ok.result == DecodeResult::kOk);
  CHECK(ok.packet.payload_offset == 40 + 8 * Decoder::kMaxIpv6Extensions + 20);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(1, 2),
                                chain(Decoder::kMaxIpv6Extensions + 1), kNextDestOpts))
            .result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6TooManyExtensions) == 1);
}

TEST_CASE("decoder: IPv6 fragments: first, later and atomic", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0x55));
  const Bytes first_part(udp.begin(), udp.begin() + 24);
  const Bytes rest(udp.begin() + 24, udp.end());
  const Result first = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 17, first_part,
                    testing::Ipv6FragmentHeader(17, 0, true, 0xdeadbeef), kNextFragment));
  REQUIRE(first.result == DecodeResult::kOk);
  CHECK(first.packet.is_fragment);
  CHECK(first.packet.has_l4_header);
  CHECK(SrcPort(first.packet) == 5000);
  CHECK(Count(d, Anomaly::kUdpBadLength) == 0);

  const Result later = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 17, rest,
                    testing::Ipv6FragmentHeader(17, 3, false, 0xdeadbeef), kNextFragment));
  REQUIRE(later.result == DecodeResult::kOk);
  CHECK(later.packet.is_fragment);
  CHECK_FALSE(later.packet.has_l4_header);
  CHECK(later.packet.key == first.packet.key);
  CHECK(later.packet.ip_length == 40 + 8 + 24);

  // RFC 8200 §4.5 atomic fragment: offset 0, M clear: a whole datagram.
  const Result atomic = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 17, udp, testing::Ipv6FragmentHeader(17, 0, false, 5),
                    kNextFragment));
  REQUIRE(atomic.result == DecodeResult::kOk);
  CHECK_FALSE(atomic.packet.is_fragment);
  CHECK(atomic.packet.has_l4_header);
  CHECK(atomic.packet.payload_wire == 40);
  CHECK(d.anomalies().Total() == 0);

  const Result orphan = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 17, rest,
                    testing::Ipv6FragmentHeader(17, 3, false, 0x1234), kNextFragment));
  CHECK(orphan.result == DecodeResult::kUntracked);
  CHECK(Count(d, Anomaly::kFragmentWithoutFirst) == 1);
}

TEST_CASE("decoder: IPv6 ICMPv6 echo fragments keep the echo id", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Bytes echo = testing::IcmpEcho(true, 0x0777, 1, true);
  const Result first = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 58, Bytes(echo.begin(), echo.begin() + 16),
                    testing::Ipv6FragmentHeader(58, 0, true, 9), kNextFragment));
  const Result later = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 58, Bytes(echo.begin() + 16, echo.end()),
                    testing::Ipv6FragmentHeader(58, 2, false, 9), kNextFragment));
  REQUIRE(first.result == DecodeResult::kOk);
  REQUIRE(later.result == DecodeResult::kOk);
  CHECK(later.packet.key.port_a == 0x0777);
  CHECK(later.packet.key == first.packet.key);
}

TEST_CASE("decoder: a later IPv6 fragment's data is not parsed as extension headers",
          "[decoder]") {
  // After a later fragment's header come fragment data, not headers, even
  // when its Next Header names an extension (RFC 8200 §4.5: destination
  // options may sit in the fragmentable part).
  Decoder d(LinkType::kRaw);
  Bytes data(32, 0);
  data[0] = 6;
  data[1] = 200;  // Read as a header, it would claim 1608 bytes.
  const Result r = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 17, data,
                    testing::Ipv6FragmentHeader(kNextDestOpts, 100, false, 3), kNextFragment));
  CHECK(r.result != DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIpv6ExtensionTruncated) == 0);
  CHECK(Count(d, Anomaly::kIpv6TooManyExtensions) == 0);
}

// ---------------------------------------------------------------------------
// TCP.

TEST_CASE("decoder: TCP options move the payload by the data offset", "[decoder]") {
  Decoder d(LinkType::kRaw);
  testing::TcpSpec t;
  t.options = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 1, 1, 0};  // MSS, NOP NOP SACK-permitted, ...
  t.payload = Bytes(5, 0x11);
  const Result r = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 6, testing::TcpSegment(t)));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.payload_offset == 20 + 32);
  CHECK(r.packet.payload_captured == 5);
  CHECK(r.packet.payload_wire == 5);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: tcp_bad_data_offset below 5 and past the segment", "[decoder]") {
  Decoder d(LinkType::kRaw);
  for (const uint8_t off : {uint8_t{0}, uint8_t{4}}) {
    Bytes low = SynV4();
    low[20 + 12] = static_cast<uint8_t>(off << 4);
    CHECK(DecodeOne(d, low).result == DecodeResult::kMalformed);
  }
  Bytes past = SynV4();
  past[20 + 12] = 15 << 4;  // 60-byte header in a 20-byte segment.
  CHECK(DecodeOne(d, past).result == DecodeResult::kMalformed);
  // Past the segment the IP header bounds, even with more bytes captured.
  Bytes padded = SynV4();
  padded[20 + 12] = 6 << 4;
  PutBytes(padded, Bytes(8, 0));  // Link padding after the IP packet.
  CHECK(DecodeOne(d, padded).result == DecodeResult::kMalformed);
  Bytes v6 = Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(1, 2));
  v6[40 + 12] = 3 << 4;
  CHECK(DecodeOne(d, v6).result == DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kTcpBadDataOffset) == 5);
}

TEST_CASE("decoder: TCP options cut by the snaplen are not tcp_bad_data_offset",
          "[decoder]") {
  // tcpdump -s 64: the fixed TCP header is captured, its options are not.
  // The ports, flags and sequence numbers are all there; the segment is
  // tracked and nothing is malformed.
  Decoder d(LinkType::kEthernet);
  testing::TcpSpec t;
  t.options = Bytes(20, 1);
  const Bytes full = EthernetFrame(kEthIpv4, Ipv4Packet("10.0.0.1", "10.0.0.2", 6,
                                                        testing::TcpSegment(t)));
  REQUIRE(full.size() == 74);
  const Bytes cut(full.begin(), full.begin() + 64);
  const Result r = DecodeOne(d, cut, 1, 74);
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.tcp_flags == kTcpSyn);
  CHECK(r.packet.seq == 1000);
  CHECK(r.packet.payload_captured == 0);
  CHECK(r.packet.payload_wire == 0);
  CHECK(r.packet.payload_offset <= cut.size());
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: tcp_truncated when the segment is shorter than 20 bytes", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 6, Bytes(12, 0))).result ==
        DecodeResult::kMalformed);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 6, Bytes(19, 0))).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kTcpTruncated) == 2);
}

// ---------------------------------------------------------------------------
// UDP.

TEST_CASE("decoder: UDP ports and payload", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Result r = DecodeOne(
      d, Ipv4Packet("192.168.1.10", "8.8.8.8", 17, testing::UdpDatagram(51000, 53, Bytes(29, 1))));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.key.protocol == kIpProtoUdp);
  CHECK(SrcAddr(r.packet) == "192.168.1.10");
  CHECK(DstAddr(r.packet) == "8.8.8.8");
  CHECK(SrcPort(r.packet) == 51000);
  CHECK(DstPort(r.packet) == 53);
  CHECK(r.packet.payload_offset == 28);
  CHECK(r.packet.payload_captured == 29);
  CHECK(r.packet.payload_wire == 29);
  CHECK(r.packet.ip_length == 57);
}

TEST_CASE("decoder: a UDP length below the IP payload bounds the payload", "[decoder]") {
  // The bytes past the UDP length are not the datagram's: neither its wire
  // length nor the captured payload handed to DPI include them.
  Decoder d(LinkType::kRaw);
  Bytes udp = testing::UdpDatagram(53, 40000, Bytes(4, 1));
  PutBytes(udp, Bytes(6, 0xee));  // Inside the IP payload, past the UDP length.
  const Result r = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.ip_length == 38);
  CHECK(r.packet.payload_wire == 4);
  CHECK(r.packet.payload_captured == 4);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: udp_bad_length is counted, the datagram still tracked", "[decoder]") {
  // The ports are intact, so the conversation is real (as Wireshark shows it
  // too); the lie is counted and the IP payload length is used instead.
  Decoder d(LinkType::kRaw);
  Bytes udp = testing::UdpDatagram(53, 53, {1, 2, 3});
  udp[4] = 0;
  udp[5] = 4;  // Below the 8-byte header.
  const Result small = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp));
  REQUIRE(small.result == DecodeResult::kOk);
  CHECK(small.packet.payload_wire == 3);
  CHECK(Count(d, Anomaly::kUdpBadLength) == 1);
  udp[5] = 200;  // Past the IP payload.
  const Result past = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp));
  REQUIRE(past.result == DecodeResult::kOk);
  CHECK(past.packet.payload_wire == 3);
  CHECK(Count(d, Anomaly::kUdpBadLength) == 2);
  udp[5] = 0;  // Zero over IPv4: not a jumbogram.
  DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, udp));
  CHECK(Count(d, Anomaly::kUdpBadLength) == 3);
}

TEST_CASE("decoder: UDP length 0 over IPv6 (jumbogram) is not udp_bad_length", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes udp = testing::UdpDatagram(1, 2, Bytes(10, 0));
  udp[4] = 0;
  udp[5] = 0;
  const Result r = DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 17, udp));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.payload_wire == 10);
  CHECK(Count(d, Anomaly::kUdpBadLength) == 0);
}

TEST_CASE("decoder: udp_truncated below 8 bytes", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 17, Bytes(7, 0))).result ==
        DecodeResult::kMalformed);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 17, Bytes{})).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kUdpTruncated) == 2);
}

// ---------------------------------------------------------------------------
// ICMP and ICMPv6.

TEST_CASE("decoder: ICMP echo request and reply share a key by echo id", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Result req =
      DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, testing::IcmpEcho(true, 0x1234, 1)));
  const Result rep =
      DecodeOne(d, Ipv4Packet("10.0.0.2", "10.0.0.1", 1, testing::IcmpEcho(false, 0x1234, 1)));
  const Result other =
      DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, testing::IcmpEcho(true, 0x1235, 1)));
  REQUIRE(req.result == DecodeResult::kOk);
  REQUIRE(rep.result == DecodeResult::kOk);
  CHECK(req.packet.key.protocol == kIpProtoIcmp);
  CHECK(req.packet.icmp_type == 8);
  CHECK(req.packet.icmp_code == 0);
  CHECK(req.packet.icmp_echo);
  CHECK(req.packet.key.port_a == 0x1234);
  CHECK(req.packet.key.port_b == 0x1234);
  CHECK(req.packet.payload_offset == 20 + 8);
  CHECK(req.packet.payload_wire == 16);
  CHECK(rep.packet.icmp_type == 0);
  CHECK(rep.packet.key == req.packet.key);
  CHECK(rep.packet.src_is_a != req.packet.src_is_a);
  CHECK(other.packet.key != req.packet.key);
}

TEST_CASE("decoder: ICMP errors have no echo id", "[decoder]") {
  Decoder d(LinkType::kRaw);
  Bytes unreachable = {3, 3, 0, 0, 0, 0, 0, 0};  // Port unreachable, then the original header.
  PutBytes(unreachable, Ipv4Packet("10.0.0.2", "10.0.0.1", 17, testing::UdpDatagram(1, 2, {})));
  const Result r = DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, unreachable));
  REQUIRE(r.result == DecodeResult::kOk);
  CHECK(r.packet.icmp_type == 3);
  CHECK(r.packet.icmp_code == 3);
  CHECK_FALSE(r.packet.icmp_echo);
  CHECK(r.packet.key.port_a == 0);
  CHECK(r.packet.key.port_b == 0);
  CHECK(r.packet.payload_offset == 20 + 4);
}

TEST_CASE("decoder: ICMPv6 echo and neighbour discovery", "[decoder]") {
  Decoder d(LinkType::kRaw);
  const Result req = DecodeOne(
      d, Ipv6Packet("fd00::1", "fd00::2", 58, testing::IcmpEcho(true, 0x55, 1, true)));
  const Result rep = DecodeOne(
      d, Ipv6Packet("fd00::2", "fd00::1", 58, testing::IcmpEcho(false, 0x55, 1, true)));
  REQUIRE(req.result == DecodeResult::kOk);
  REQUIRE(rep.result == DecodeResult::kOk);
  CHECK(req.packet.icmp_type == 128);
  CHECK(rep.packet.icmp_type == 129);
  CHECK(req.packet.icmp_echo);
  CHECK(rep.packet.key == req.packet.key);
  CHECK(req.packet.key.port_a == 0x55);

  Bytes ns = {135, 0, 0, 0, 0, 0, 0, 0};  // Neighbour solicitation.
  PutBytes(ns, testing::Ip("fd00::2"));
  const Result nd = DecodeOne(d, Ipv6Packet("fd00::1", "ff02::1:ff00:2", 58, ns));
  REQUIRE(nd.result == DecodeResult::kOk);
  CHECK(nd.packet.icmp_type == 135);
  CHECK_FALSE(nd.packet.icmp_echo);
  CHECK(nd.packet.key.port_a == 0);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: icmp_truncated below 4 bytes, or an echo without its id", "[decoder]") {
  Decoder d(LinkType::kRaw);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, Bytes{8, 0, 0})).result ==
        DecodeResult::kMalformed);
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, Bytes{8, 0, 0, 0, 0x12})).result ==
        DecodeResult::kMalformed);
  CHECK(DecodeOne(d, Ipv6Packet("fd00::1", "fd00::2", 58, Bytes{128, 0, 0, 0, 1})).result ==
        DecodeResult::kMalformed);
  CHECK(Count(d, Anomaly::kIcmpTruncated) == 3);
  // A 4-byte non-echo message is whole.
  CHECK(DecodeOne(d, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, Bytes{11, 0, 0, 0})).result ==
        DecodeResult::kOk);
}

// ---------------------------------------------------------------------------
// ARP.

TEST_CASE("decoder: ARP who-has and is-at", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Result req =
      DecodeOne(d, EthernetFrame(kEthArp, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2")));
  REQUIRE(req.result == DecodeResult::kOk);
  CHECK(req.packet.key.protocol == kPseudoProtoArp);
  CHECK(req.packet.key.ip_version == 4);
  CHECK(req.packet.arp_op == kArpRequest);
  CHECK(req.packet.arp_sender_mac == MacAddress{0x02, 0, 0, 0, 0, 0x01});
  CHECK(req.packet.ip_length == 28);
  CHECK(SrcAddr(req.packet) == "10.0.0.1");
  CHECK(DstAddr(req.packet) == "10.0.0.2");
  CHECK(req.packet.key.port_a == 0);
  CHECK_FALSE(req.packet.has_l4_header);

  Bytes frame = EthernetFrame(
      kEthArp, testing::ArpPacket(2, "10.0.0.2", "10.0.0.1", {0x02, 0xaa, 0, 0, 0, 0x02}));
  frame.resize(60, 0);  // Padding after the 28 bytes.
  const Result rep = DecodeOne(d, frame);
  REQUIRE(rep.result == DecodeResult::kOk);
  CHECK(rep.packet.arp_op == kArpReply);
  CHECK(rep.packet.arp_sender_mac == MacAddress{0x02, 0xaa, 0, 0, 0, 0x02});
  CHECK(rep.packet.key == req.packet.key);
  CHECK(rep.packet.src_is_a != req.packet.src_is_a);
  CHECK(rep.packet.ip_length == 28);
  CHECK(d.anomalies().Total() == 0);
}

TEST_CASE("decoder: arp_truncated before and after the fixed part", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Bytes arp = testing::ArpPacket(1, "10.0.0.1", "10.0.0.2");
  for (const size_t keep : {size_t{0}, size_t{7}, size_t{8}, size_t{20}, size_t{27}}) {
    INFO("keep " << keep);
    const Bytes cut(arp.begin(), arp.begin() + static_cast<std::ptrdiff_t>(keep));
    CHECK(DecodeOne(d, EthernetFrame(kEthArp, cut)).result == DecodeResult::kMalformed);
  }
  CHECK(Count(d, Anomaly::kArpTruncated) == 5);
}

TEST_CASE("decoder: arp_unsupported for other hardware or protocol types", "[decoder]") {
  Decoder d(LinkType::kEthernet);
  const Bytes base = testing::ArpPacket(1, "10.0.0.1", "10.0.0.2");
  // Bounds-checked patching (plain operator[] on a copy makes GCC 12 at -O3
  // warn of a null dereference it cannot rule out).
  auto patched = [&base](std::initializer_list<std::pair<size_t, uint8_t>> edits) {
    Bytes out = base;
    for (const auto& [at, value] : edits) {
      if (at < out.size()) out[at] = value;
    }
    return out;
  };
  const Bytes ieee802 = patched({{1, 6}});
  const Bytes ipv6 = patched({{2, 0x86}, {3, 0xdd}});
  const Bytes hlen = patched({{4, 8}});
  const Bytes plen = patched({{5, 16}});
  for (const Bytes& p : {ieee802, ipv6, hlen, plen}) {
    CHECK(DecodeOne(d, EthernetFrame(kEthArp, p)).result == DecodeResult::kMalformed);
  }
  CHECK(Count(d, Anomaly::kArpUnsupported) == 4);
  CHECK(Count(d, Anomaly::kArpTruncated) == 0);
}

// ---------------------------------------------------------------------------
// Every truncation, and random corruption.

struct Sample {
  std::string name;
  LinkType link;
  Bytes frame;
  Bytes prime;  // Decoded first (a first fragment), when not empty.
};

std::vector<Sample> Samples() {
  std::vector<Sample> s;
  testing::TcpSpec t;
  t.options = Bytes(12, 1);
  t.payload = Bytes(30, 0x42);
  const Bytes tcp_opts = testing::TcpSegment(t);
  s.push_back({"eth ipv4 options tcp options", LinkType::kEthernet,
               EthernetFrame(kEthIpv4, testing::Ipv4PacketWithOptions("10.0.0.1", "10.0.0.2", 6,
                                                                      tcp_opts, Bytes(8, 1))),
               {}});
  s.push_back({"eth vlan icmp echo", LinkType::kEthernet,
               EthernetFrame(kEthIpv4, Ipv4Packet("10.0.0.1", "10.0.0.2", 1,
                                                  testing::IcmpEcho(true, 1, 1)),
                             {0x8100}),
               {}});
  Bytes ext = testing::Ipv6OptionsHeader(kNextRouting);
  PutBytes(ext, testing::Ipv6RoutingHeader(kNextDestOpts));
  PutBytes(ext, testing::Ipv6OptionsHeader(17, 16));
  s.push_back({"eth qinq ipv6 extensions udp", LinkType::kEthernet,
               EthernetFrame(kEthIpv6,
                             Ipv6Packet("fd00::1", "fd00::2", 17,
                                        testing::UdpDatagram(1, 2, {9, 9}), ext, kNextHopByHop),
                             {0x88a8, 0x8100}),
               {}});
  s.push_back({"eth arp", LinkType::kEthernet,
               EthernetFrame(kEthArp, testing::ArpPacket(1, "10.0.0.1", "10.0.0.2")), {}});
  s.push_back({"eth pppoe ipv4 udp", LinkType::kEthernet,
               EthernetFrame(kEthPppoe,
                             testing::PppoeSession(0x0021, Ipv4Packet("10.0.0.1", "10.0.0.2", 17,
                                                                      testing::UdpDatagram(
                                                                          1, 2, {1, 2, 3})))),
               {}});
  s.push_back({"sll ipv4 tcp", LinkType::kLinuxSll,
               testing::SllFrame(kEthIpv4, Ipv4Packet("10.0.0.1", "10.0.0.2", 6,
                                                      Tcp(1, 2, kTcpAck, 10))),
               {}});
  s.push_back({"sll2 ipv6 tcp", LinkType::kLinuxSll2,
               testing::Sll2Frame(kEthIpv6, Ipv6Packet("fd00::1", "fd00::2", 6,
                                                       Tcp(1, 2, kTcpAck, 10))),
               {}});
  s.push_back({"raw ipv6 icmpv6 echo", LinkType::kRaw,
               Ipv6Packet("fd00::1", "fd00::2", 58, testing::IcmpEcho(false, 3, 3, true)), {}});
  s.push_back({"ipv4 tcp", LinkType::kIpv4, SynV4(), {}});
  s.push_back({"ipv6 ah udp", LinkType::kIpv6,
               Ipv6Packet("fd00::1", "fd00::2", 17, testing::UdpDatagram(1, 2, {5}),
                          testing::Ipv6AuthHeader(17, 16), kNextAh),
               {}});
  Bytes unreachable = {3, 1, 0, 0, 0, 0, 0, 0};
  PutBytes(unreachable, SynV4());
  s.push_back({"null le ipv4 icmp error", LinkType::kNull,
               testing::NullFrame(2, false, Ipv4Packet("10.0.0.1", "10.0.0.2", 1, unreachable)),
               {}});
  s.push_back({"null be ipv6 tcp", LinkType::kNull,
               testing::NullFrame(30, true, Ipv6Packet("fd00::1", "fd00::2", 6, Tcp(5, 6))), {}});
  s.push_back({"loop ipv6 udp", LinkType::kLoop, testing::NullFrame(24, true, UdpV6()), {}});
  const Bytes udp = testing::UdpDatagram(5000, 9999, Bytes(40, 0x55));
  const Bytes first_part(udp.begin(), udp.begin() + 24);
  const Bytes rest(udp.begin() + 24, udp.end());
  s.push_back({"raw ipv4 first fragment", LinkType::kRaw,
               Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 9, 0x2000), {}});
  s.push_back({"raw ipv4 later fragment", LinkType::kRaw,
               Ipv4Packet("10.0.0.1", "10.0.0.2", 17, rest, 9, 3),
               Ipv4Packet("10.0.0.1", "10.0.0.2", 17, first_part, 9, 0x2000)});
  s.push_back({"raw ipv6 later fragment", LinkType::kRaw,
               Ipv6Packet("fd00::1", "fd00::2", 17, rest,
                          testing::Ipv6FragmentHeader(17, 3, false, 9), kNextFragment),
               Ipv6Packet("fd00::1", "fd00::2", 17, first_part,
                          testing::Ipv6FragmentHeader(17, 0, true, 9), kNextFragment)});
  return s;
}

// What must hold for any input: a result is explained by a counter, and a
// decoded packet's payload lies within the captured bytes.
void CheckConsistent(const Decoder& d, const AnomalyCounters& before, uint64_t not_ip_before,
                     DecodeResult r, const DecodedPacket& out, size_t captured) {
  switch (r) {
    case DecodeResult::kMalformed:
      CHECK(d.anomalies().Total() > before.Total());
      break;
    case DecodeResult::kNotIp:
      CHECK(d.not_ip() == not_ip_before + 1);
      break;
    case DecodeResult::kUntracked:
      CHECK(d.anomalies().Get(Anomaly::kFragmentWithoutFirst) ==
            before.Get(Anomaly::kFragmentWithoutFirst) + 1);
      break;
    case DecodeResult::kOk:
      CHECK((out.key.ip_version == 4 || out.key.ip_version == 6));
      CHECK(out.payload_offset <= captured);
      CHECK(out.payload_offset + out.payload_captured <= captured);
      CHECK(out.payload_captured <= out.payload_wire);
      CHECK(out.key.reserved == 0);
      break;
  }
}

TEST_CASE("decoder: every truncation of valid packets is decoded or counted", "[decoder]") {
  for (const Sample& s : Samples()) {
    INFO(s.name);
    // The whole packet decodes cleanly.
    Decoder whole(s.link);
    DecodedPacket ref;
    if (!s.prime.empty()) {
      REQUIRE(whole.Decode(s.prime, static_cast<uint32_t>(s.prime.size()), 1, &ref) ==
              DecodeResult::kOk);
    }
    REQUIRE(whole.Decode(s.frame, static_cast<uint32_t>(s.frame.size()), 1, &ref) ==
            DecodeResult::kOk);
    REQUIRE(whole.anomalies().Total() == 0);

    for (size_t n = 0; n <= s.frame.size(); ++n) {
      // Wire length the full one (a short snaplen), then the cut one (the
      // frame really is that short, and its headers lie).
      for (const bool snaplen : {true, false}) {
        INFO("prefix " << n << " of " << s.frame.size() << (snaplen ? " (snaplen)" : " (short)"));
        Decoder d(s.link);
        DecodedPacket out;
        if (!s.prime.empty()) {
          REQUIRE(d.Decode(s.prime, static_cast<uint32_t>(s.prime.size()), 1, &out) ==
                  DecodeResult::kOk);
        }
        const AnomalyCounters before = d.anomalies();
        const uint64_t not_ip_before = d.not_ip();
        const Bytes cut(s.frame.begin(), s.frame.begin() + static_cast<std::ptrdiff_t>(n));
        const uint32_t wire = snaplen ? static_cast<uint32_t>(s.frame.size())
                                      : static_cast<uint32_t>(n);
        const DecodeResult r = d.Decode(cut, wire, 1, &out);
        CHECK(r != DecodeResult::kNotIp);
        CheckConsistent(d, before, not_ip_before, r, out, n);
        if (r == DecodeResult::kOk) {
          // Whatever was decoded from a prefix is what the whole says.
          CHECK(out.key == ref.key);
          CHECK(out.src_is_a == ref.src_is_a);
          CHECK(out.ip_length <= ref.ip_length);
          if (snaplen) CHECK(out.ip_length == ref.ip_length);
        }
        if (n == s.frame.size()) {
          CHECK(r == DecodeResult::kOk);
          CHECK(d.anomalies().Total() == before.Total());
        }
      }
    }
  }
}

TEST_CASE("decoder: random corruption of valid packets stays in bounds", "[decoder]") {
  // Deterministic: a fixed seed. ASan/UBSan builds catch any stray read;
  // the checks catch results that no counter explains.
  std::mt19937 rng(20240601);
  for (const Sample& s : Samples()) {
    INFO(s.name);
    Decoder d(s.link);
    DecodedPacket out;
    if (!s.prime.empty()) d.Decode(s.prime, static_cast<uint32_t>(s.prime.size()), 1, &out);
    for (int i = 0; i < 2000; ++i) {
      Bytes f = s.frame;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        f[rng() % f.size()] = static_cast<uint8_t>(rng());
      }
      if (rng() % 3 == 0) f.resize(rng() % (f.size() + 1));
      if (rng() % 5 == 0) PutBytes(f, Bytes(rng() % 16, static_cast<uint8_t>(rng())));
      const uint32_t wire = rng() % 2 == 0 ? static_cast<uint32_t>(f.size())
                                           : static_cast<uint32_t>(rng() % 2000);
      const AnomalyCounters before = d.anomalies();
      const uint64_t not_ip_before = d.not_ip();
      const DecodeResult r = d.Decode(f, wire, 1 + i, &out);
      INFO("iteration " << i);
      CheckConsistent(d, before, not_ip_before, r, out, f.size());
    }
  }
}

// ---------------------------------------------------------------------------
// Counters.

TEST_CASE("decoder: anomaly names are unique snake_case", "[decoder]") {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kAnomalyCount; ++i) {
    const std::string_view n = AnomalyName(static_cast<Anomaly>(i));
    CHECK_FALSE(n.empty());
    CHECK(n != "unknown");
    for (const char c : n) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    names.insert(n);
  }
  CHECK(names.size() == kAnomalyCount);
  CHECK(AnomalyName(Anomaly::kTcpBadDataOffset) == "tcp_bad_data_offset");
  CHECK(AnomalyName(Anomaly::kIpv4TotalLengthPastFrame) == "ipv4_total_length_past_frame");
}

TEST_CASE("decoder: anomaly counters add, total and merge", "[decoder]") {
  AnomalyCounters a;
  a.Add(Anomaly::kTcpTruncated);
  a.Add(Anomaly::kTcpTruncated);
  a.Add(Anomaly::kArpUnsupported);
  AnomalyCounters b;
  b.Add(Anomaly::kTcpTruncated);
  b.Add(Anomaly::kLinkTruncated);
  a.Merge(b);
  CHECK(a.Get(Anomaly::kTcpTruncated) == 3);
  CHECK(a.Get(Anomaly::kArpUnsupported) == 1);
  CHECK(a.Get(Anomaly::kLinkTruncated) == 1);
  CHECK(a.Get(Anomaly::kUdpTruncated) == 0);
  CHECK(a.Total() == 5);
  CHECK(b.Total() == 2);
}

}  // namespace
}  // namespace rustnet
