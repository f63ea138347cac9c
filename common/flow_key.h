// Flow keys: the identity of a connection, independent of packet direction.
//
// A FlowKey holds its two endpoints in canonical order (the lower address,
// then the lower port, is endpoint A), so both directions of a conversation
// produce the same key and the same hash. Which side a packet came from is
// carried beside the key, not in it.
//
// Thread-safety: plain values.
#ifndef RUSTNET_COMMON_FLOW_KEY_H_
#define RUSTNET_COMMON_FLOW_KEY_H_

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace rustnet {

// IP protocol numbers we key on, plus a pseudo number for ARP (which has no
// IP header). 255 is IANA-reserved, so it cannot collide with a real one.
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kPseudoProtoArp = 255;

// An IPv4 or IPv6 address. IPv4 is stored as an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) so keys have one fixed layout.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};

  static IpAddress FromV4(const uint8_t* four) {
    IpAddress a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, four, 4);
    return a;
  }
  static IpAddress FromV6(const uint8_t* sixteen) {
    IpAddress a;
    std::memcpy(a.bytes.data(), sixteen, 16);
    return a;
  }
  bool IsV4() const {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), kPrefix, 12) == 0;
  }
  // 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
  bool IsLoopback() const;
  // RFC 5952 text for IPv6, dotted quad for IPv4.
  std::string ToString() const;
  // The same text written to `buf` (kMaxTextSize bytes at least; no NUL
  // added); returns its length. No allocation, no printf.
  static constexpr size_t kMaxTextSize = 46;  // INET6_ADDRSTRLEN
  size_t Format(char* buf) const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.bytes);
  }
};

// A MAC address; all zero means "unknown".
using MacAddress = std::array<uint8_t, 6>;
std::string MacToString(const MacAddress& mac);

// "tcp", "udp", "icmp", "icmpv6", "arp"; "other" for anything else.
std::string_view ProtocolName(uint8_t protocol);
// The same "aa:bb:cc:dd:ee:ff" written to `buf` (kMacTextSize bytes).
inline constexpr size_t kMacTextSize = 17;
void FormatMac(const MacAddress& mac, char* buf);

struct FlowKey {
  IpAddress addr_a;
  IpAddress addr_b;
  // Ports for TCP/UDP; for ICMP echo, port_a = port_b = echo identifier;
  // otherwise 0.
  uint16_t port_a = 0;
  uint16_t port_b = 0;
  uint8_t protocol = 0;    // kIpProto* or kPseudoProtoArp.
  uint8_t ip_version = 0;  // 4 or 6.
  uint16_t reserved = 0;   // Keeps the struct free of padding; always 0.

  bool operator==(const FlowKey&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const FlowKey& k) {
    return H::combine_contiguous(std::move(h), reinterpret_cast<const unsigned char*>(&k),
                                 sizeof(FlowKey));
  }
  // A well-mixed 64-bit hash; equal for both directions by construction.
  uint64_t Hash() const;
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must have no padding");

// Builds the canonical key for a packet from src to dst. Sets *src_is_a to
// whether the packet's source is endpoint A of the returned key.
FlowKey MakeFlowKey(uint8_t protocol, uint8_t ip_version, const IpAddress& src,
                    uint16_t src_port, const IpAddress& dst, uint16_t dst_port,
                    bool* src_is_a);

}  // namespace rustnet

#endif  // RUSTNET_COMMON_FLOW_KEY_H_
