// Helpers shared by the unit tests: hand-built wire bytes, the fixture list.
#ifndef RUSTNET_TESTS_TEST_UTIL_H_
#define RUSTNET_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/flow_key.h"

namespace rustnet::testing {

using Bytes = std::vector<uint8_t>;

// Appends big-endian integers.
void Put8(Bytes& b, uint8_t v);
void Put16(Bytes& b, uint16_t v);
void Put32(Bytes& b, uint32_t v);
void PutBytes(Bytes& b, const Bytes& more);

// "10.0.0.1" -> 4 bytes; "2001:db8::1" -> 16 bytes.
Bytes Ip(const std::string& text);
// The same as an IpAddress. Both throw std::invalid_argument on anything
// else (Catch reports it as the test case's failure).
IpAddress Addr(const std::string& text);

struct TcpSpec {
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 1000;
  uint32_t ack = 0;
  uint8_t flags = 0x02;  // SYN
  uint16_t window = 65535;
  Bytes payload;
  // TCP options, a multiple of 4 bytes (the data offset is 5 + size / 4).
  Bytes options;
};

// Transport headers (checksums zero: the decoder does not verify them).
Bytes TcpSegment(const TcpSpec& t);
Bytes UdpDatagram(uint16_t sport, uint16_t dport, const Bytes& payload);
Bytes IcmpEcho(bool request, uint16_t id, uint16_t seq, bool v6 = false);

// IPv4 packet around `l4` (protocol number `proto`); `frag` is the 16-bit
// flags+offset field, `id` the identification.
Bytes Ipv4Packet(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
                 uint16_t id = 1, uint16_t frag = 0);
// IPv6 packet; `ext` is inserted raw between the header and `l4`, and
// `first_next` is the Next Header of the fixed header when ext is non-empty.
Bytes Ipv6Packet(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
                 const Bytes& ext = {}, uint8_t first_next = 0);
// Ethernet frame; vlans are 802.1Q tags (outermost first) with the given
// TPIDs (0x8100 or 0x88a8).
Bytes EthernetFrame(uint16_t ethertype, const Bytes& payload,
                    const std::vector<uint16_t>& vlan_tpids = {});
// ARP over Ethernet/IPv4 (RFC 826); the sender's MAC is 02:00:00:00:00:01
// unless given (6 bytes).
Bytes ArpPacket(uint16_t op, const std::string& sender_ip, const std::string& target_ip,
                const Bytes& sender_mac = {});

// IPv4 packet with header options (a multiple of 4 bytes: IHL = 5 + size / 4).
Bytes Ipv4PacketWithOptions(const std::string& src, const std::string& dst, uint8_t proto,
                            const Bytes& l4, const Bytes& options);

// IPv6 extension headers (RFC 8200 §4). Hop-by-hop or destination options
// of `total` bytes (a multiple of 8, filled with PadN); a type-4 routing
// header with no segments left (8 bytes); a fragment header (offset in
// 8-octet units); an AH header of `total` bytes (a multiple of 4, >= 12).
Bytes Ipv6OptionsHeader(uint8_t next, size_t total = 8);
Bytes Ipv6RoutingHeader(uint8_t next);
Bytes Ipv6FragmentHeader(uint8_t next, uint16_t offset_units, bool more, uint32_t id);
Bytes Ipv6AuthHeader(uint8_t next, size_t total = 12);

// Link-layer framings other than Ethernet. SLL v1 / v2 with an Ethernet
// source address 02:00:00:00:00:09 (hatype ARPHRD_ETHER unless given).
Bytes SllFrame(uint16_t protocol, const Bytes& payload, uint16_t hatype = 1);
Bytes Sll2Frame(uint16_t protocol, const Bytes& payload, uint16_t hatype = 1);
// BSD loopback: a 4-byte address family, little- or big-endian.
Bytes NullFrame(uint32_t family, bool big_endian, const Bytes& payload);
// PPPoE session frame payload (RFC 2516) carrying PPP protocol `ppp`.
Bytes PppoeSession(uint16_t ppp, const Bytes& payload);

// Every capture under tests/fixtures (also dpi/ and ndpi/pcap/), sorted.
std::vector<std::string> FixtureCaptures();

// Writes a MaxMind-format database of `type` ("GeoLite2-Country") to `path`
// (renamed into place) with tests/tools/make_mmdb.pl; `json` maps networks
// to records in MaxMind's layout. False if the writer failed.
bool MakeTestMmdb(const std::string& path, const std::string& type, const std::string& json);

// A fresh directory under /tmp, removed with everything in it when the
// object goes (also when a REQUIRE throws in the middle of a test). Throws
// std::runtime_error when it cannot be made.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "rn_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(std::string_view name) const;
  // Writes `text` to File(name) and returns that path.
  std::string Write(std::string_view name, std::string_view text) const;

 private:
  std::string path_;
};

// One file holding `text` (a configuration file, say) in a TempDir of its own.
class TempFile {
 public:
  explicit TempFile(std::string_view text, std::string_view name = "rustnetd.conf")
      : path_(dir_.Write(name, text)) {}
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_;
};

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_TEST_UTIL_H_
