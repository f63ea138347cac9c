// Packet decoder: link layer -> IPv4/IPv6 -> TCP/UDP/ICMP/ICMPv6, and ARP.
//
// One pass over the frame through ByteReader; the result is a DecodedPacket
// with the flow key and what the tracker needs. Payload bytes are referenced
// (offset + length into the frame), not copied.
//
// IP fragments: only the first fragment carries ports. The decoder
// remembers (src, dst, protocol, IP id) -> ports of first fragments in a
// small bounded table, so later fragments are attributed to the same flow;
// a later fragment whose first was never seen is counted and not tracked.
//
// Thread-safety: a Decoder belongs to one thread (the capture thread).
#ifndef RUSTNET_DAEMON_DECODE_DECODER_H_
#define RUSTNET_DAEMON_DECODE_DECODER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "common/flow_key.h"
#include "daemon/decode/anomaly.h"

namespace rustnet {

// Link-layer framings we decode (independent of libpcap's DLT numbers;
// capture/ maps those).
enum class LinkType : uint8_t {
  kEthernet,   // DLT_EN10MB, with 802.1Q / 802.1ad (QinQ) tags.
  kLinuxSll,   // DLT_LINUX_SLL: "any" device, cooked v1.
  kLinuxSll2,  // DLT_LINUX_SLL2: cooked v2.
  kRaw,        // DLT_RAW / LINKTYPE_RAW: IPv4 or IPv6 by version nibble.
  kIpv4,       // LINKTYPE_IPV4.
  kIpv6,       // LINKTYPE_IPV6.
  kNull,       // DLT_NULL: 4-byte family in the capturing host's order.
  kLoop,       // DLT_LOOP: 4-byte family in network order.
};

// TCP header flags (RFC 9293 §3.1).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

struct DecodedPacket {
  int64_t timestamp_us = 0;
  FlowKey key;
  bool src_is_a = true;       // Packet travels from key.addr_a to key.addr_b.
  uint32_t ip_length = 0;     // Bytes to count: IP total length (ARP: 28).
  uint8_t vlan_depth = 0;
  bool is_fragment = false;   // First or later IP fragment.
  bool has_l4_header = false; // False for later fragments (no transport header).
  bool has_macs = false;
  MacAddress src_mac{};
  MacAddress dst_mac{};

  // TCP.
  uint8_t tcp_flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;
  // RFC 7323 timestamps option, when the segment carries one (within the
  // captured bytes).
  bool has_tcp_timestamps = false;
  uint32_t tsval = 0;
  uint32_t tsecr = 0;

  // ICMP / ICMPv6.
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  bool icmp_echo = false;

  // ARP.
  uint16_t arp_op = 0;
  MacAddress arp_sender_mac{};

  // Transport payload within the captured frame, and its length on the wire
  // (which may exceed what was captured).
  uint32_t payload_offset = 0;
  uint32_t payload_captured = 0;
  uint32_t payload_wire = 0;
};

enum class DecodeResult : uint8_t {
  kOk,         // `out` describes a packet to track.
  kNotIp,      // Valid, but nothing we track (LLDP, STP, IPX, ...).
  kMalformed,  // Counted in anomalies().
  kUntracked,  // Valid IP but not trackable (later fragment without first).
};

class Decoder {
 public:
  // Bounds: how many first fragments are remembered, and for how long.
  static constexpr size_t kFragmentTableSize = 4096;
  static constexpr int64_t kFragmentTimeoutUs = 30'000'000;
  static constexpr int kMaxVlanDepth = 4;
  static constexpr int kMaxIpv6Extensions = 8;

  explicit Decoder(LinkType link_type);

  // Decodes one frame. `wire_length` is the frame's length on the wire
  // (pcap's len), `frame` the captured bytes (caplen).
  DecodeResult Decode(std::span<const uint8_t> frame, uint32_t wire_length,
                      int64_t timestamp_us, DecodedPacket* out);

  LinkType link_type() const { return link_type_; }
  const AnomalyCounters& anomalies() const { return anomalies_; }
  uint64_t not_ip() const { return not_ip_; }

 private:
  struct FragmentEntry {
    IpAddress src;
    IpAddress dst;
    uint32_t id = 0;
    uint8_t protocol = 0;
    bool used = false;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    int64_t expires_us = 0;
  };

  DecodeResult DecodeEthertype(uint16_t ethertype, std::span<const uint8_t> frame,
                               size_t offset, uint32_t wire_length, DecodedPacket* out);
  DecodeResult DecodeIpv4(std::span<const uint8_t> frame, size_t offset,
                          uint32_t wire_length, DecodedPacket* out);
  DecodeResult DecodeIpv6(std::span<const uint8_t> frame, size_t offset,
                          uint32_t wire_length, DecodedPacket* out);
  DecodeResult DecodeArp(std::span<const uint8_t> frame, size_t offset, DecodedPacket* out);
  // Parses the transport header at `offset`; `l4_end` bounds it (captured
  // bytes of the IP payload); `l4_wire` is the payload's length on the wire.
  DecodeResult DecodeTransport(uint8_t protocol, uint8_t ip_version, const IpAddress& src,
                               const IpAddress& dst, std::span<const uint8_t> frame,
                               size_t offset, size_t l4_end, uint32_t l4_wire,
                               DecodedPacket* out);

  FragmentEntry& FragmentSlot(const IpAddress& src, const IpAddress& dst, uint32_t id,
                              uint8_t protocol);
  void RememberFirstFragment(const IpAddress& src, const IpAddress& dst, uint32_t id,
                             uint8_t protocol, uint16_t src_port, uint16_t dst_port,
                             int64_t now_us);
  // Finds ports for a later fragment; false if the first was not seen.
  bool LookupFragment(const IpAddress& src, const IpAddress& dst, uint32_t id,
                      uint8_t protocol, int64_t now_us, uint16_t* src_port,
                      uint16_t* dst_port);

  LinkType link_type_;
  AnomalyCounters anomalies_;
  uint64_t not_ip_ = 0;
  std::vector<FragmentEntry> fragments_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DECODE_DECODER_H_
