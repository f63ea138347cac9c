#include "common/flow_key.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace rustnet {

bool IpAddress::IsLoopback() const {
  if (IsV4()) return bytes[12] == 127;
  static constexpr uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(bytes.data(), kLoop6, 16) == 0;
}

static_assert(IpAddress::kMaxTextSize >= INET6_ADDRSTRLEN);

size_t IpAddress::Format(char* buf) const {
  if (IsV4()) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, which showed
    // in profiles of the JSON dump and of the API's address filters.
    size_t n = 0;
    for (int i = 12; i < 16; ++i) {
      const unsigned v = bytes[static_cast<size_t>(i)];
      if (i > 12) buf[n++] = '.';
      if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
      buf[n++] = static_cast<char>('0' + v % 10);
    }
    return n;
  }
  // glibc's inet_ntop follows RFC 5952: lowercase, longest zero run
  // compressed, no single-group compression.
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
  const size_t n = std::strlen(text);
  std::copy(text, text + n, buf);  // Without the NUL.
  return n;
}

std::string IpAddress::ToString() const {
  char buf[kMaxTextSize];
  return {buf, Format(buf)};
}

void FormatMac(const MacAddress& mac, char* buf) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < mac.size(); ++i) {
    buf[3 * i] = kHex[mac[i] >> 4];
    buf[3 * i + 1] = kHex[mac[i] & 0xf];
    if (i + 1 < mac.size()) buf[3 * i + 2] = ':';
  }
}

std::string MacToString(const MacAddress& mac) {
  char buf[kMacTextSize];
  FormatMac(mac, buf);
  return {buf, sizeof(buf)};
}

namespace {
// Endpoint order: address first, then port.
bool EndpointLess(const IpAddress& a, uint16_t pa, const IpAddress& b, uint16_t pb) {
  const int c = std::memcmp(a.bytes.data(), b.bytes.data(), 16);
  return c < 0 || (c == 0 && pa < pb);
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// 64-bit finaliser from MurmurHash3 (public domain): full avalanche.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
}  // namespace

uint64_t FlowKey::Hash() const {
  const auto* p = reinterpret_cast<const uint8_t*>(this);
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < sizeof(FlowKey); i += 8) h = Mix(h ^ Load64(p + i));
  return h;
}

FlowKey MakeFlowKey(uint8_t protocol, uint8_t ip_version, const IpAddress& src,
                    uint16_t src_port, const IpAddress& dst, uint16_t dst_port,
                    bool* src_is_a) {
  FlowKey k;
  k.protocol = protocol;
  k.ip_version = ip_version;
  const bool a = !EndpointLess(dst, dst_port, src, src_port);
  *src_is_a = a;
  if (a) {
    k.addr_a = src;
    k.port_a = src_port;
    k.addr_b = dst;
    k.port_b = dst_port;
  } else {
    k.addr_a = dst;
    k.port_a = dst_port;
    k.addr_b = src;
    k.port_b = src_port;
  }
  return k;
}

std::string_view ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case kIpProtoTcp: return "tcp";
    case kIpProtoUdp: return "udp";
    case kIpProtoIcmp: return "icmp";
    case kIpProtoIcmpv6: return "icmpv6";
    case kPseudoProtoArp: return "arp";
    default: return "other";
  }
}

}  // namespace rustnet
