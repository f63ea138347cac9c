// Helpers shared by the unit tests: hand-built wire bytes.
#ifndef RUSTNET_TESTS_TEST_UTIL_H_
#define RUSTNET_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rustnet::testing {

using Bytes = std::vector<uint8_t>;

// Appends big-endian integers.
void Put8(Bytes& b, uint8_t v);
void Put16(Bytes& b, uint16_t v);
void Put32(Bytes& b, uint32_t v);
void PutBytes(Bytes& b, const Bytes& more);

// "10.0.0.1" -> 4 bytes; "2001:db8::1" -> 16 bytes.
Bytes Ip(const std::string& text);

struct TcpSpec {
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 1000;
  uint32_t ack = 0;
  uint8_t flags = 0x02;  // SYN
  uint16_t window = 65535;
  Bytes payload;
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
Bytes ArpPacket(uint16_t op, const std::string& sender_ip, const std::string& target_ip);

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_TEST_UTIL_H_
