#include "common/flow_key.h"

#include <arpa/inet.h>

#include <cstdio>

namespace rustnet {

bool IpAddress::IsLoopback() const {
  if (IsV4()) return bytes[12] == 127;
  static constexpr uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(bytes.data(), kLoop6, 16) == 0;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsV4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof(buf));
  } else {
    // glibc's inet_ntop follows RFC 5952: lowercase, longest zero run
    // compressed, no single-group compression.
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

std::string MacToString(const MacAddress& mac) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                mac[3], mac[4], mac[5]);
  return buf;
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

}  // namespace rustnet
