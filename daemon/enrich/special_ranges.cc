#include "daemon/enrich/special_ranges.h"

#include <array>
#include <cstdint>

namespace rustnet {
namespace {

struct Range {
  std::array<uint8_t, 16> network;  // IPv4 ranges in the v4-mapped form.
  int bits;                         // Over the 128-bit form.
  std::string_view name;
};

constexpr std::array<uint8_t, 16> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}
constexpr std::array<uint8_t, 16> V6(uint8_t b0, uint8_t b1, uint8_t b2 = 0, uint8_t b3 = 0) {
  return {b0, b1, b2, b3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
}

// Most specific first where ranges nest (255.255.255.255 inside 240/4).
// IANA IPv4 / IPv6 Special-Purpose Address Registries.
constexpr Range kRanges[] = {
    {V4(255, 255, 255, 255), 96 + 32, "broadcast"},
    {V4(0, 0, 0, 0), 96 + 8, "this-network"},          // RFC 791
    {V4(10, 0, 0, 0), 96 + 8, "private"},              // RFC 1918
    {V4(100, 64, 0, 0), 96 + 10, "CGNAT"},             // RFC 6598
    {V4(127, 0, 0, 0), 96 + 8, "loopback"},            // RFC 1122
    {V4(169, 254, 0, 0), 96 + 16, "link-local"},       // RFC 3927
    {V4(172, 16, 0, 0), 96 + 12, "private"},           // RFC 1918
    {V4(192, 0, 0, 0), 96 + 24, "ietf-protocol"},      // RFC 6890
    {V4(192, 0, 2, 0), 96 + 24, "documentation"},      // RFC 5737 TEST-NET-1
    {V4(192, 168, 0, 0), 96 + 16, "private"},          // RFC 1918
    {V4(198, 18, 0, 0), 96 + 15, "benchmarking"},      // RFC 2544
    {V4(198, 51, 100, 0), 96 + 24, "documentation"},   // TEST-NET-2
    {V4(203, 0, 113, 0), 96 + 24, "documentation"},    // TEST-NET-3
    {V4(224, 0, 0, 0), 96 + 4, "multicast"},           // RFC 5771
    {V4(240, 0, 0, 0), 96 + 4, "reserved"},            // RFC 1112
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},  // RFC 4291
    {V6(0x01, 0x00), 64, "discard-only"},              // RFC 6666 (100::/64)
    {V6(0x20, 0x01, 0x0d, 0xb8), 32, "documentation"}, // RFC 3849
    {V6(0xfc, 0x00), 7, "unique-local"},               // RFC 4193
    {V6(0xfe, 0x80), 10, "link-local"},                // RFC 4291
    {V6(0xff, 0x00), 8, "multicast"},                  // RFC 4291
};

bool InRange(const IpAddress& a, const Range& r) {
  int bits = r.bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((a.bytes[i] & mask) != (r.network[i] & mask)) return false;
  }
  return true;
}

}  // namespace

std::string_view SpecialRangeName(const IpAddress& address) {
  for (const Range& r : kRanges) {
    if (InRange(address, r)) return r.name;
  }
  return {};
}

}  // namespace rustnet
