#include "daemon/decode/decoder.h"

#include <algorithm>

#include "common/byte_reader.h"

namespace rustnet {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypePppoeSession = 0x8864;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypeVlan = 0x8100;    // 802.1Q
constexpr uint16_t kEtherTypeQinQ = 0x88a8;    // 802.1ad
constexpr uint16_t kEtherTypeQinQOld = 0x9100; // pre-standard QinQ

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6DestOpts = 60;
constexpr uint8_t kIpv6Mobility = 135;

constexpr size_t kSllHeader = 16;
constexpr size_t kSll2Header = 20;
constexpr uint16_t kArphrdEther = 1;

// RFC 9293 §3.1 option list: finds the timestamps option (RFC 7323 §3:
// kind 8, length 10). `r` is at the options; `length` is their length in
// the header (options cut by the snaplen are simply not found). A
// malformed list ends the search; it is not an anomaly of ours (the
// segment's fields we track are all in the fixed header).
void ParseTcpOptions(ByteReader r, size_t length, DecodedPacket* out) {
  auto opts = r.Sub(std::min(length, r.remaining()));
  if (!opts) return;
  for (;;) {
    const auto kind = opts->U8();
    if (!kind || *kind == 0) return;  // End of the list.
    if (*kind == 1) continue;         // No-operation.
    const auto len = opts->U8();
    if (!len || *len < 2) return;
    auto body = opts->Sub(*len - 2u);
    if (!body) return;
    if (*kind == 8 && *len == 10) {
      out->tsval = *body->U32();
      out->tsecr = *body->U32();
      out->has_tcp_timestamps = true;
      return;
    }
  }
}

MacAddress ReadMac(std::span<const uint8_t> six) {
  MacAddress m{};
  std::copy_n(six.begin(), 6, m.begin());
  return m;
}

bool IsVlanEthertype(uint16_t t) {
  return t == kEtherTypeVlan || t == kEtherTypeQinQ || t == kEtherTypeQinQOld;
}

}  // namespace

std::string_view AnomalyName(Anomaly a) {
  switch (a) {
    case Anomaly::kLinkTruncated: return "link_truncated";
    case Anomaly::kVlanTooDeep: return "vlan_too_deep";
    case Anomaly::kNullUnknownFamily: return "null_unknown_family";
    case Anomaly::kIpv4Truncated: return "ipv4_truncated";
    case Anomaly::kIpv4BadVersion: return "ipv4_bad_version";
    case Anomaly::kIpv4BadHeaderLength: return "ipv4_bad_header_length";
    case Anomaly::kIpv4TotalLengthTooSmall: return "ipv4_total_length_too_small";
    case Anomaly::kIpv4TotalLengthPastFrame: return "ipv4_total_length_past_frame";
    case Anomaly::kIpv4ZeroTotalLength: return "ipv4_zero_total_length";
    case Anomaly::kIpv6Truncated: return "ipv6_truncated";
    case Anomaly::kIpv6BadVersion: return "ipv6_bad_version";
    case Anomaly::kIpv6PayloadPastFrame: return "ipv6_payload_past_frame";
    case Anomaly::kIpv6ZeroPayloadLength: return "ipv6_zero_payload_length";
    case Anomaly::kIpv6ExtensionTruncated: return "ipv6_extension_truncated";
    case Anomaly::kIpv6TooManyExtensions: return "ipv6_too_many_extensions";
    case Anomaly::kFragmentWithoutFirst: return "fragment_without_first";
    case Anomaly::kFragmentTableFull: return "fragment_table_full";
    case Anomaly::kTcpTruncated: return "tcp_truncated";
    case Anomaly::kTcpBadDataOffset: return "tcp_bad_data_offset";
    case Anomaly::kUdpTruncated: return "udp_truncated";
    case Anomaly::kUdpBadLength: return "udp_bad_length";
    case Anomaly::kIcmpTruncated: return "icmp_truncated";
    case Anomaly::kArpTruncated: return "arp_truncated";
    case Anomaly::kArpUnsupported: return "arp_unsupported";
    case Anomaly::kCount: break;
  }
  return "unknown";
}

Decoder::Decoder(LinkType link_type) : link_type_(link_type), fragments_(kFragmentTableSize) {}

DecodeResult Decoder::Decode(std::span<const uint8_t> frame, uint32_t wire_length,
                             int64_t timestamp_us, DecodedPacket* out) {
  *out = DecodedPacket{};
  out->timestamp_us = timestamp_us;
  // A capture record never has more bytes than the wire did; if a file says
  // otherwise, trust the bytes we hold.
  wire_length = std::max<uint32_t>(wire_length, static_cast<uint32_t>(frame.size()));
  ByteReader r(frame);

  switch (link_type_) {
    case LinkType::kEthernet: {
      auto dst = r.Bytes(6);
      auto src = r.Bytes(6);
      // A failed read leaves the cursor where it was, so every read must
      // be checked, not just the last one.
      auto type = r.U16();
      if (!dst || !src || !type) {
        anomalies_.Add(Anomaly::kLinkTruncated);
        return DecodeResult::kMalformed;
      }
      out->has_macs = true;
      out->dst_mac = ReadMac(*dst);
      out->src_mac = ReadMac(*src);
      return DecodeEthertype(*type, frame, r.position(), wire_length, out);
    }
    case LinkType::kLinuxSll: {
      // RFC-less but stable: packet type, ARPHRD, address length, 8-byte
      // address, protocol (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
      if (r.remaining() < kSllHeader) {
        anomalies_.Add(Anomaly::kLinkTruncated);
        return DecodeResult::kMalformed;
      }
      r.Skip(2);
      const uint16_t hatype = *r.U16();
      const uint16_t halen = *r.U16();
      auto addr = *r.Bytes(8);
      const uint16_t proto = *r.U16();
      if (hatype == kArphrdEther && halen == 6) {
        out->has_macs = true;
        out->src_mac = ReadMac(addr);
      }
      return DecodeEthertype(proto, frame, r.position(), wire_length, out);
    }
    case LinkType::kLinuxSll2: {
      if (r.remaining() < kSll2Header) {
        anomalies_.Add(Anomaly::kLinkTruncated);
        return DecodeResult::kMalformed;
      }
      const uint16_t proto = *r.U16();
      r.Skip(2 + 4);  // reserved, interface index
      const uint16_t hatype = *r.U16();
      r.Skip(1);  // packet type
      const uint8_t halen = *r.U8();
      auto addr = *r.Bytes(8);
      if (hatype == kArphrdEther && halen == 6) {
        out->has_macs = true;
        out->src_mac = ReadMac(addr);
      }
      return DecodeEthertype(proto, frame, r.position(), wire_length, out);
    }
    case LinkType::kRaw: {
      auto first = r.PeekU8();
      if (!first) {
        anomalies_.Add(Anomaly::kLinkTruncated);
        return DecodeResult::kMalformed;
      }
      if ((*first >> 4) == 4) return DecodeIpv4(frame, 0, wire_length, out);
      if ((*first >> 4) == 6) return DecodeIpv6(frame, 0, wire_length, out);
      ++not_ip_;
      return DecodeResult::kNotIp;
    }
    case LinkType::kIpv4:
      return DecodeIpv4(frame, 0, wire_length, out);
    case LinkType::kIpv6:
      return DecodeIpv6(frame, 0, wire_length, out);
    case LinkType::kNull:
    case LinkType::kLoop: {
      auto family = link_type_ == LinkType::kLoop ? r.U32() : r.U32Le();
      if (!family) {
        anomalies_.Add(Anomaly::kLinkTruncated);
        return DecodeResult::kMalformed;
      }
      uint32_t f = *family;
      // DLT_NULL is in the capturing host's byte order; accept either.
      if (link_type_ == LinkType::kNull && (f & 0xffff) == 0) f >>= 24;
      // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD,
      // OpenBSD), 28 (FreeBSD), 30 (macOS).
      if (f == 2) return DecodeIpv4(frame, 4, wire_length, out);
      if (f == 10 || f == 24 || f == 28 || f == 30) return DecodeIpv6(frame, 4, wire_length, out);
      anomalies_.Add(Anomaly::kNullUnknownFamily);
      return DecodeResult::kMalformed;
    }
  }
  return DecodeResult::kNotIp;
}

DecodeResult Decoder::DecodeEthertype(uint16_t ethertype, std::span<const uint8_t> frame,
                                      size_t offset, uint32_t wire_length, DecodedPacket* out) {
  ByteReader r(frame);
  r.Skip(offset);
  int depth = 0;
  while (IsVlanEthertype(ethertype)) {
    if (++depth > kMaxVlanDepth) {
      anomalies_.Add(Anomaly::kVlanTooDeep);
      return DecodeResult::kMalformed;
    }
    const bool has_tci = r.Skip(2);  // TCI
    auto next = r.U16();
    if (!has_tci || !next) {
      anomalies_.Add(Anomaly::kLinkTruncated);
      return DecodeResult::kMalformed;
    }
    ethertype = *next;
  }
  out->vlan_depth = static_cast<uint8_t>(depth);
  if (ethertype == kEtherTypePppoeSession) {
    // RFC 2516 §4: ver/type, code, session id, length; then the PPP
    // protocol number (RFC 1661): 0x0021 IPv4, 0x0057 IPv6.
    const bool header = r.Skip(6);
    auto ppp = r.U16();
    if (!header || !ppp) {
      anomalies_.Add(Anomaly::kLinkTruncated);
      return DecodeResult::kMalformed;
    }
    if (*ppp == 0x0021) return DecodeIpv4(frame, r.position(), wire_length, out);
    if (*ppp == 0x0057) return DecodeIpv6(frame, r.position(), wire_length, out);
    ++not_ip_;
    return DecodeResult::kNotIp;
  }
  switch (ethertype) {
    case kEtherTypeIpv4:
      return DecodeIpv4(frame, r.position(), wire_length, out);
    case kEtherTypeIpv6:
      return DecodeIpv6(frame, r.position(), wire_length, out);
    case kEtherTypeArp:
      return DecodeArp(frame, r.position(), out);
    default:
      ++not_ip_;
      return DecodeResult::kNotIp;
  }
}

DecodeResult Decoder::DecodeIpv4(std::span<const uint8_t> frame, size_t offset,
                                 uint32_t wire_length, DecodedPacket* out) {
  // RFC 791 §3.1.
  ByteReader r(frame);
  r.Skip(offset);
  if (r.remaining() < 20) {
    anomalies_.Add(Anomaly::kIpv4Truncated);
    return DecodeResult::kMalformed;
  }
  const uint8_t ver_ihl = *r.U8();
  if ((ver_ihl >> 4) != 4) {
    anomalies_.Add(Anomaly::kIpv4BadVersion);
    return DecodeResult::kMalformed;
  }
  const size_t header_len = size_t{ver_ihl & 0x0fu} * 4;
  if (header_len < 20 || header_len > r.remaining() + 1) {
    anomalies_.Add(Anomaly::kIpv4BadHeaderLength);
    return DecodeResult::kMalformed;
  }
  r.Skip(1);  // DSCP/ECN
  uint32_t total_len = *r.U16();
  const uint32_t id = *r.U16();
  const uint16_t frag = *r.U16();
  r.Skip(1);  // TTL
  const uint8_t protocol = *r.U8();
  r.Skip(2);  // checksum
  const IpAddress src = IpAddress::FromV4(r.Bytes(4)->data());
  const IpAddress dst = IpAddress::FromV4(r.Bytes(4)->data());

  const uint32_t wire_available = wire_length > offset ? wire_length - static_cast<uint32_t>(offset) : 0;
  if (total_len == 0) {
    anomalies_.Add(Anomaly::kIpv4ZeroTotalLength);
    total_len = wire_available;
  } else if (total_len < header_len) {
    anomalies_.Add(Anomaly::kIpv4TotalLengthTooSmall);
    return DecodeResult::kMalformed;
  } else if (total_len > wire_available) {
    anomalies_.Add(Anomaly::kIpv4TotalLengthPastFrame);
    total_len = wire_available;
  }
  if (total_len < header_len) {
    anomalies_.Add(Anomaly::kIpv4TotalLengthTooSmall);
    return DecodeResult::kMalformed;
  }
  out->ip_length = total_len;

  const size_t l4_offset = offset + header_len;
  // Captured bytes of the IP payload, excluding link-layer padding.
  const size_t l4_end = std::min(frame.size(), offset + total_len);
  const uint32_t l4_wire = total_len - static_cast<uint32_t>(header_len);

  const bool more_fragments = (frag & 0x2000) != 0;
  const uint16_t frag_offset = frag & 0x1fff;
  if (more_fragments || frag_offset != 0) {
    out->is_fragment = true;
    if (frag_offset != 0) {
      if (protocol != kIpProtoTcp && protocol != kIpProtoUdp && protocol != kIpProtoIcmp) {
        ++not_ip_;
        return DecodeResult::kNotIp;
      }
      // Ports (or the ICMP echo id) are in the first fragment only.
      uint16_t sp = 0, dp = 0;
      if (!LookupFragment(src, dst, id, protocol, out->timestamp_us, &sp, &dp)) {
        anomalies_.Add(Anomaly::kFragmentWithoutFirst);
        return DecodeResult::kUntracked;
      }
      out->key = MakeFlowKey(protocol, 4, src, sp, dst, dp, &out->src_is_a);
      return DecodeResult::kOk;
    }
  }
  DecodeResult result = DecodeTransport(protocol, 4, src, dst, frame, l4_offset, l4_end,
                                        l4_wire, out);
  if (result == DecodeResult::kOk && more_fragments) {
    const uint16_t sp = out->src_is_a ? out->key.port_a : out->key.port_b;
    const uint16_t dp = out->src_is_a ? out->key.port_b : out->key.port_a;
    RememberFirstFragment(src, dst, id, protocol, sp, dp, out->timestamp_us);
  }
  return result;
}

DecodeResult Decoder::DecodeIpv6(std::span<const uint8_t> frame, size_t offset,
                                 uint32_t wire_length, DecodedPacket* out) {
  // RFC 8200 §3 and §4.
  ByteReader r(frame);
  r.Skip(offset);
  if (r.remaining() < 40) {
    anomalies_.Add(Anomaly::kIpv6Truncated);
    return DecodeResult::kMalformed;
  }
  const uint32_t first_word = *r.U32();
  if ((first_word >> 28) != 6) {
    anomalies_.Add(Anomaly::kIpv6BadVersion);
    return DecodeResult::kMalformed;
  }
  uint32_t payload_len = *r.U16();
  uint8_t next = *r.U8();
  r.Skip(1);  // hop limit
  const IpAddress src = IpAddress::FromV6(r.Bytes(16)->data());
  const IpAddress dst = IpAddress::FromV6(r.Bytes(16)->data());

  const uint32_t wire_available =
      wire_length > offset + 40 ? wire_length - static_cast<uint32_t>(offset + 40) : 0;
  if (payload_len == 0) {
    anomalies_.Add(Anomaly::kIpv6ZeroPayloadLength);
    payload_len = wire_available;
  } else if (payload_len > wire_available) {
    anomalies_.Add(Anomaly::kIpv6PayloadPastFrame);
    payload_len = wire_available;
  }
  out->ip_length = payload_len + 40;
  const size_t end = std::min(frame.size(), offset + 40 + payload_len);

  // Walk extension headers within the payload.
  ByteReader ext(frame.subspan(r.position(), end - r.position()));
  bool fragment = false;
  bool later_fragment = false;
  bool more_fragments = false;
  uint32_t frag_id = 0;
  for (int i = 0;; ++i) {
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6Fragment &&
        next != kIpv6DestOpts && next != kIpv6Ah && next != kIpv6Mobility) {
      break;
    }
    if (i >= kMaxIpv6Extensions) {
      anomalies_.Add(Anomaly::kIpv6TooManyExtensions);
      return DecodeResult::kMalformed;
    }
    auto nh = ext.U8();
    auto len = ext.U8();
    if (!nh || !len) {
      anomalies_.Add(Anomaly::kIpv6ExtensionTruncated);
      return DecodeResult::kMalformed;
    }
    if (next == kIpv6Fragment) {
      // RFC 8200 §4.5: 8 bytes; offset in 8-octet units, M flag, 32-bit id.
      auto off_flags = ext.U16();
      auto id = ext.U32();
      if (!off_flags || !id) {
        anomalies_.Add(Anomaly::kIpv6ExtensionTruncated);
        return DecodeResult::kMalformed;
      }
      fragment = true;
      later_fragment = (*off_flags >> 3) != 0;
      more_fragments = (*off_flags & 1) != 0;
      frag_id = *id;
      if (later_fragment) {
        // What follows a later fragment's header is fragment data, not
        // headers (those are in the first fragment): stop the walk.
        next = *nh;
        break;
      }
    } else {
      // AH counts 4-octet units minus 2 (RFC 4302 §2.2); the others 8-octet
      // units not counting the first 8.
      const size_t total = next == kIpv6Ah ? (size_t{*len} + 2) * 4 : (size_t{*len} + 1) * 8;
      if (!ext.Skip(total - 2)) {
        anomalies_.Add(Anomaly::kIpv6ExtensionTruncated);
        return DecodeResult::kMalformed;
      }
    }
    next = *nh;
  }
  const size_t l4_offset = r.position() + ext.position();
  const uint32_t consumed = static_cast<uint32_t>(ext.position());
  const uint32_t l4_wire = payload_len > consumed ? payload_len - consumed : 0;

  if (fragment && !(later_fragment || more_fragments)) fragment = false;  // atomic fragment
  if (fragment) {
    out->is_fragment = true;
    if (later_fragment) {
      if (next != kIpProtoTcp && next != kIpProtoUdp && next != kIpProtoIcmpv6) {
        ++not_ip_;
        return DecodeResult::kNotIp;
      }
      uint16_t sp = 0, dp = 0;
      if (!LookupFragment(src, dst, frag_id, next, out->timestamp_us, &sp, &dp)) {
        anomalies_.Add(Anomaly::kFragmentWithoutFirst);
        return DecodeResult::kUntracked;
      }
      out->key = MakeFlowKey(next, 6, src, sp, dst, dp, &out->src_is_a);
      return DecodeResult::kOk;
    }
  }
  DecodeResult result =
      DecodeTransport(next, 6, src, dst, frame, l4_offset, end, l4_wire, out);
  if (result == DecodeResult::kOk && fragment && more_fragments) {
    const uint16_t sp = out->src_is_a ? out->key.port_a : out->key.port_b;
    const uint16_t dp = out->src_is_a ? out->key.port_b : out->key.port_a;
    RememberFirstFragment(src, dst, frag_id, next, sp, dp, out->timestamp_us);
  }
  return result;
}

DecodeResult Decoder::DecodeTransport(uint8_t protocol, uint8_t ip_version,
                                      const IpAddress& src, const IpAddress& dst,
                                      std::span<const uint8_t> frame, size_t offset,
                                      size_t l4_end, uint32_t l4_wire, DecodedPacket* out) {
  ByteReader r;
  if (offset <= l4_end && l4_end <= frame.size()) r = ByteReader(frame.subspan(offset, l4_end - offset));
  uint16_t sp = 0, dp = 0;
  size_t header = 0;
  switch (protocol) {
    case kIpProtoTcp: {
      // RFC 9293 §3.1.
      if (r.remaining() < 20) {
        anomalies_.Add(Anomaly::kTcpTruncated);
        return DecodeResult::kMalformed;
      }
      sp = *r.U16();
      dp = *r.U16();
      out->seq = *r.U32();
      out->ack = *r.U32();
      const uint8_t data_offset = *r.U8() >> 4;
      out->tcp_flags = *r.U8();
      out->window = *r.U16();
      header = size_t{data_offset} * 4;
      // Held to the segment's length on the wire, not to what was captured:
      // options cut by a short snaplen are not a defect, and the fields we
      // need are all in the fixed 20 bytes.
      if (data_offset < 5 || header > l4_wire) {
        anomalies_.Add(Anomaly::kTcpBadDataOffset);
        return DecodeResult::kMalformed;
      }
      // Past the checksum and urgent pointer: the options.
      if (data_offset > 5 && r.Skip(4)) ParseTcpOptions(r, header - 20, out);
      break;
    }
    case kIpProtoUdp: {
      // RFC 768.
      if (r.remaining() < 8) {
        anomalies_.Add(Anomaly::kUdpTruncated);
        return DecodeResult::kMalformed;
      }
      sp = *r.U16();
      dp = *r.U16();
      const uint16_t len = *r.U16();
      header = 8;
      // A jumbo UDP length of 0 is legal only for IPv6 jumbograms. A first
      // fragment's UDP length covers the whole datagram, which is longer
      // than this fragment's payload, so it cannot be held to it.
      if (len < 8 || (len > l4_wire && !out->is_fragment)) {
        if (!(len == 0 && ip_version == 6)) anomalies_.Add(Anomaly::kUdpBadLength);
      } else if (len <= l4_wire) {
        l4_wire = len;
        // Bytes past the UDP length are not the datagram's: keep them out
        // of the captured payload too.
        l4_end = std::min(l4_end, offset + len);
      }
      break;
    }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6: {
      // RFC 792 / RFC 4443: type, code, checksum, then for echo id + seq.
      if (r.remaining() < 4) {
        anomalies_.Add(Anomaly::kIcmpTruncated);
        return DecodeResult::kMalformed;
      }
      out->icmp_type = *r.U8();
      out->icmp_code = *r.U8();
      r.Skip(2);
      const bool echo = protocol == kIpProtoIcmp
                            ? (out->icmp_type == 8 || out->icmp_type == 0)
                            : (out->icmp_type == 128 || out->icmp_type == 129);
      if (echo) {
        auto id = r.U16();
        if (!id) {
          anomalies_.Add(Anomaly::kIcmpTruncated);
          return DecodeResult::kMalformed;
        }
        out->icmp_echo = true;
        sp = dp = *id;
      }
      header = echo ? 8 : 4;
      break;
    }
    default:
      // Other IP protocols (GRE, ESP, SCTP, ...) are not tracked yet.
      ++not_ip_;
      return DecodeResult::kNotIp;
  }
  out->has_l4_header = true;
  const size_t captured = l4_end - offset;
  out->payload_offset = static_cast<uint32_t>(offset + std::min(header, captured));
  out->payload_captured = static_cast<uint32_t>(captured > header ? captured - header : 0);
  out->payload_wire = l4_wire > header ? l4_wire - static_cast<uint32_t>(header) : 0;
  // A UDP length shorter than the datagram bounds the payload too (the
  // bytes past it are padding, not data).
  out->payload_captured = std::min(out->payload_captured, out->payload_wire);
  out->key = MakeFlowKey(protocol, ip_version, src, sp, dst, dp, &out->src_is_a);
  return DecodeResult::kOk;
}

DecodeResult Decoder::DecodeArp(std::span<const uint8_t> frame, size_t offset,
                                DecodedPacket* out) {
  // RFC 826; Ethernet + IPv4 only.
  ByteReader r(frame);
  r.Skip(offset);
  if (r.remaining() < 8) {
    anomalies_.Add(Anomaly::kArpTruncated);
    return DecodeResult::kMalformed;
  }
  const uint16_t htype = *r.U16();
  const uint16_t ptype = *r.U16();
  const uint8_t hlen = *r.U8();
  const uint8_t plen = *r.U8();
  const uint16_t op = *r.U16();
  if (htype != 1 || ptype != kEtherTypeIpv4 || hlen != 6 || plen != 4) {
    anomalies_.Add(Anomaly::kArpUnsupported);
    return DecodeResult::kMalformed;
  }
  if (r.remaining() < 20) {
    anomalies_.Add(Anomaly::kArpTruncated);
    return DecodeResult::kMalformed;
  }
  out->arp_op = op;
  out->arp_sender_mac = ReadMac(*r.Bytes(6));
  const IpAddress spa = IpAddress::FromV4(r.Bytes(4)->data());
  r.Skip(6);  // target hardware address: zero in requests
  const IpAddress tpa = IpAddress::FromV4(r.Bytes(4)->data());
  out->ip_length = 28;
  out->key = MakeFlowKey(kPseudoProtoArp, 4, spa, 0, tpa, 0, &out->src_is_a);
  return DecodeResult::kOk;
}

Decoder::FragmentEntry& Decoder::FragmentSlot(const IpAddress& src, const IpAddress& dst,
                                              uint32_t id, uint8_t protocol) {
  bool unused = false;
  FlowKey k = MakeFlowKey(protocol, 0, src, 0, dst, 0, &unused);
  k.port_a = static_cast<uint16_t>(id);
  k.port_b = static_cast<uint16_t>(id >> 16);
  return fragments_[k.Hash() % fragments_.size()];
}

void Decoder::RememberFirstFragment(const IpAddress& src, const IpAddress& dst, uint32_t id,
                                    uint8_t protocol, uint16_t src_port, uint16_t dst_port,
                                    int64_t now_us) {
  FragmentEntry& e = FragmentSlot(src, dst, id, protocol);
  if (e.used && e.expires_us > now_us &&
      !(e.src == src && e.dst == dst && e.id == id && e.protocol == protocol)) {
    anomalies_.Add(Anomaly::kFragmentTableFull);
  }
  // Saturate: timestamps are clamped below INT64_MAX, not a timeout below it.
  const int64_t expires_us =
      now_us > INT64_MAX - kFragmentTimeoutUs ? INT64_MAX : now_us + kFragmentTimeoutUs;
  e = FragmentEntry{src, dst, id, protocol, true, src_port, dst_port, expires_us};
}

bool Decoder::LookupFragment(const IpAddress& src, const IpAddress& dst, uint32_t id,
                             uint8_t protocol, int64_t now_us, uint16_t* src_port,
                             uint16_t* dst_port) {
  const FragmentEntry& e = FragmentSlot(src, dst, id, protocol);
  if (!e.used || e.expires_us < now_us || e.src != src || e.dst != dst || e.id != id ||
      e.protocol != protocol) {
    return false;
  }
  *src_port = e.src_port;
  *dst_port = e.dst_port;
  return true;
}

}  // namespace rustnet
