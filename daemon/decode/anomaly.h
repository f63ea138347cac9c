// Named counters for malformed or unusual input, as Zeek's "weirds": each
// defect has a name, is counted, and is never logged packet by packet.
//
// Thread-safety: an AnomalyCounters belongs to one thread; merge copies.
#ifndef RUSTNET_DAEMON_DECODE_ANOMALY_H_
#define RUSTNET_DAEMON_DECODE_ANOMALY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rustnet {

enum class Anomaly : uint8_t {
  kLinkTruncated,            // Frame shorter than its link-layer header.
  kVlanTooDeep,              // More 802.1Q/802.1ad tags than we follow.
  kNullUnknownFamily,        // BSD loopback header with an unknown family.
  kIpv4Truncated,            // Fewer bytes than a minimal IPv4 header.
  kIpv4BadVersion,           // Version field is not 4 where IPv4 was announced.
  kIpv4BadHeaderLength,      // IHL < 5 or past the captured bytes.
  kIpv4TotalLengthTooSmall,  // Total length smaller than the header.
  kIpv4TotalLengthPastFrame, // Total length larger than the frame on the wire.
  kIpv4ZeroTotalLength,      // Total length 0 (TSO capture); frame length used.
  kIpv6Truncated,            // Fewer bytes than the fixed IPv6 header.
  kIpv6BadVersion,
  kIpv6PayloadPastFrame,     // Payload length larger than the frame.
  kIpv6ZeroPayloadLength,    // Jumbogram or TSO; frame length used.
  kIpv6ExtensionTruncated,   // An extension header runs past the packet.
  kIpv6TooManyExtensions,    // Longer extension chain than we follow.
  kFragmentWithoutFirst,     // Later fragment whose first fragment was not seen.
  kFragmentTableFull,        // First fragment not remembered: table full.
  kTcpTruncated,             // Fewer bytes than a minimal TCP header.
  kTcpBadDataOffset,         // Data offset < 5 or past the segment.
  kUdpTruncated,
  kUdpBadLength,             // UDP length < 8 or past the IP payload.
  kIcmpTruncated,
  kArpTruncated,
  kArpUnsupported,           // Not Ethernet/IPv4 ARP.
  kCount,
};

inline constexpr size_t kAnomalyCount = static_cast<size_t>(Anomaly::kCount);

// Snake-case name used in statistics ("ipv4_bad_header_length").
std::string_view AnomalyName(Anomaly a);

struct AnomalyCounters {
  std::array<uint64_t, kAnomalyCount> counts{};

  void Add(Anomaly a) { ++counts[static_cast<size_t>(a)]; }
  uint64_t Get(Anomaly a) const { return counts[static_cast<size_t>(a)]; }
  uint64_t Total() const {
    uint64_t t = 0;
    for (uint64_t c : counts) t += c;
    return t;
  }
  void Merge(const AnomalyCounters& other) {
    for (size_t i = 0; i < kAnomalyCount; ++i) counts[i] += other.counts[i];
  }
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DECODE_ANOMALY_H_
