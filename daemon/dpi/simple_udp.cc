#include "daemon/dpi/simple_udp.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/stream_buffer.h"

namespace rustnet {
namespace {

// NTP (RFC 5905 §7.3): 48-byte header; version 1-4, mode 1-5, stratum at
// most 16; or a mode 6/7 control or private request.
bool LooksLikeNtp(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto li_vn_mode = r.U8();
  auto stratum = r.U8();
  if (!li_vn_mode || !stratum) return false;
  const uint8_t version = (*li_vn_mode >> 3) & 0x7;
  const uint8_t mode = *li_vn_mode & 0x7;
  // Modes 6 (control, RFC 1305 App. B) and 7 (ntpd's private mode, version
  // 2+) have 12- and 8-byte headers; the port is required anyway.
  if (mode >= 6) return version >= 2 && version <= 4 && d.size() >= (mode == 6 ? 12u : 8u);
  return d.size() >= 48 && version >= 1 && version <= 4 && mode >= 1 && *stratum <= 16;
}

// DHCP/BOOTP (RFC 2131 §2): op 1 or 2, Ethernet hardware, and the magic
// cookie after the 236-byte fixed part.
constexpr size_t kDhcpFixedBytes = 236;
constexpr uint32_t kDhcpMagicCookie = 0x63825363;

bool LooksLikeDhcp(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto op = r.U8();
  auto htype = r.U8();
  auto hlen = r.U8();
  auto cookie = r.Skip(kDhcpFixedBytes - 3) ? r.U32() : std::nullopt;
  return op && (*op == 1 || *op == 2) && htype == uint8_t{1} && hlen == uint8_t{6} &&
         cookie == kDhcpMagicCookie;
}

// STUN (RFC 8489 §5): top two bits zero, length a multiple of 4 matching
// the datagram, and the magic cookie.
constexpr size_t kStunHeaderBytes = 20;
constexpr uint32_t kStunMagicCookie = 0x2112a442;

bool LooksLikeStun(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto type = r.U16();
  auto length = r.U16();
  auto cookie = r.U32();
  return type && (*type & 0xc000) == 0 && length && *length % 4 == 0 &&
         kStunHeaderBytes + *length == d.size() && cookie == kStunMagicCookie;
}

// RFC 8489 §6.2.2: over TCP, STUN messages follow each other framed by
// their own header; ICE-TCP (RFC 6544 §3) puts each behind RFC 4571's
// 2-byte length. The start of a stream in either framing: a STUN header
// with the magic cookie (the message itself may still be arriving).
bool LooksLikeStunHeader(ByteReader r) {
  auto type = r.U16();
  auto length = r.U16();
  auto cookie = r.U32();
  return type && (*type & 0xc000) == 0 && length && *length % 4 == 0 && cookie == kStunMagicCookie;
}
bool StunStreamIsFramed(std::span<const uint8_t> d) {
  const ByteReader r(d);
  const auto frame = r.PeekU16();
  const auto inner = r.PeekU16(4);
  return frame && inner && LooksLikeStunHeader(ByteReader(d.subspan(2))) &&
         *frame == kStunHeaderBytes + *inner;
}
bool LooksLikeStunStream(std::span<const uint8_t> d) {
  return LooksLikeStunHeader(ByteReader(d)) || StunStreamIsFramed(d);
}

// ICE (RFC 8445) checks a path with STUN, then WebRTC runs DTLS (RFC 5764)
// on the same 5-tuple: a DTLS record (RFC 6347 §4.1) header, type 20-23,
// version 1.0 or 1.2 (1.3's legacy 0xfefd too).
bool LooksLikeDtlsRecord(std::span<const uint8_t> d) {
  const ByteReader r(d);
  const auto type = r.PeekU8();
  const auto version = r.PeekU16(1);
  const auto length = r.PeekU16(11);
  return type && *type >= 20 && *type <= 23 && version &&
         (*version == 0xfeff || *version == 0xfefd) && length && 13u + *length <= d.size();
}

// The STUN attributes kept (RFC 8489 §14): the first message's type, the
// first (XOR-)MAPPED-ADDRESS, SOFTWARE and REALM (a TURN server's domain,
// RFC 8489 §14.9; nDPI's host name for STUN). `d` is one whole message.
void ReadStun(std::span<const uint8_t> d, AppRecord* record, DpiAnomalies* anomalies);

class OneShot final : public Session {
 public:
  OneShot(AppProtocol p, bool (*check)(std::span<const uint8_t>)) : protocol_(p), check_(check) {}
  ParseState Feed(bool /*from_client*/, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (!check_(data)) {
      if (record->protocol != protocol_) return ParseState::kNotMine;
      // STUN already named: DTLS next on the flow (WebRTC after ICE) names
      // it DTLS, as nDPI does, keeping the STUN facts; anything else
      // (media) ends the inspection.
      if (protocol_ == AppProtocol::kStun && LooksLikeDtlsRecord(data)) {
        record->protocol = AppProtocol::kDtls;
      }
      return ParseState::kDone;
    }
    record->protocol = protocol_;
    if (protocol_ == AppProtocol::kNtp && record->net->ntp_version == 0) {
      record->net->ntp_version = (data[0] >> 3) & 0x7;
      record->net->ntp_mode = data[0] & 0x7;
      record->net->ntp_stratum = data.size() > 1 ? data[1] : 0;
    }
    if (protocol_ == AppProtocol::kStun) {
      ReadStun(data, record, anomalies);
      // A few more datagrams: DTLS may follow the connectivity checks.
      return ++seen_ < kStunDatagrams ? ParseState::kNeedMore : ParseState::kDone;
    }
    if (protocol_ == AppProtocol::kDhcp) ReadDhcpHostname(data, record, anomalies);
    return protocol_ == AppProtocol::kDhcp && record->dhcp_hostname.empty() && ++seen_ < 4
               ? ParseState::kNeedMore
               : ParseState::kDone;
  }

 private:
  // RFC 2132: options after the cookie, each code, length, value (Pad and
  // End have neither); option 12 is the client's host name.
  static void ReadDhcpHostname(std::span<const uint8_t> d, AppRecord* record,
                               DpiAnomalies* anomalies) {
    ByteReader r(d);
    if (!r.Skip(kDhcpFixedBytes + 4)) return;  // Checked by LooksLikeDhcp.
    while (auto code = r.U8()) {
      if (*code == 0) continue;    // Pad.
      if (*code == 255) return;    // End.
      auto value = r.PrefixedU8();
      if (!value) {
        CountAnomaly(anomalies, simple_udp_anomaly::kDhcpOptionPastEnd);
        return;
      }
      if (*code == 12 && record->dhcp_hostname.empty()) {
        for (uint8_t c : value->rest()) {
          record->dhcp_hostname.push_back(c > 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
        }
      }
    }
  }
  // STUN datagrams read at most (ICE checks repeat; DTLS may follow).
  static constexpr int kStunDatagrams = 12;

  AppProtocol protocol_;
  bool (*check_)(std::span<const uint8_t>);
  int seen_ = 0;
};

constexpr int kMaxStunAttributes = 32;
constexpr size_t kMaxStunText = 128;  // SOFTWARE and REALM bytes kept.

std::string StunTypeName(uint16_t type) {
  const uint16_t method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const uint16_t cls = ((type & 0x0010) >> 4) | ((type & 0x0100) >> 7);
  std::string name;
  switch (method) {
    case 0x001: name = "binding"; break;
    case 0x003: name = "allocate"; break;
    case 0x004: name = "refresh"; break;
    case 0x006: name = "send"; break;
    case 0x007: name = "data"; break;
    case 0x008: name = "create-permission"; break;
    case 0x009: name = "channel-bind"; break;
    default: {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "0x%03x", method);
      name = buf;
    }
  }
  constexpr std::string_view kClass[] = {"-request", "-indication", "-success", "-error"};
  name += kClass[cls & 3];
  return name;
}

// "203.0.113.5:40000", "[2001:db8::1]:3478"; empty if malformed.
std::string StunAddress(ByteReader v, bool xored, std::span<const uint8_t> cookie_id) {
  auto reserved = v.U8();
  auto family = v.U8();
  auto port = v.U16();
  if (!reserved || !family || !port) return {};
  const size_t n = *family == 1 ? 4 : *family == 2 ? 16 : 0;
  auto raw = n > 0 ? v.Bytes(n) : std::nullopt;
  if (!raw) return {};
  uint8_t a[16];
  for (size_t i = 0; i < n; ++i) a[i] = static_cast<uint8_t>((*raw)[i] ^ (xored ? cookie_id[i] : 0));
  const uint16_t p = xored ? static_cast<uint16_t>(*port ^ 0x2112) : *port;
  char buf[64];
  if (n == 4) {
    std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], p);
    return buf;
  }
  std::string out = "[";
  for (size_t i = 0; i < 16; i += 2) {
    std::snprintf(buf, sizeof(buf), i == 0 ? "%x" : ":%x", (a[i] << 8) | a[i + 1]);
    out += buf;
  }
  std::snprintf(buf, sizeof(buf), "]:%u", p);
  return out + buf;
}

// RFC 8489 §5-6: the type's method and class; §14: attributes (type,
// length, value padded to 4), of which MAPPED-ADDRESS (0x0001),
// XOR-MAPPED-ADDRESS (0x0020, the port and address XORed with the magic
// cookie, IPv6 with the transaction id too), SOFTWARE (0x8022) and REALM
// (0x0014).
void ReadStun(std::span<const uint8_t> d, AppRecord* record, DpiAnomalies* anomalies) {
  ByteReader r(d);
  const auto type = r.U16();
  if (!type || !r.Skip(2)) return;  // Checked by LooksLikeStun.
  auto cookie_and_id = r.Bytes(16);
  if (!cookie_and_id) return;
  if (record->net->stun_type.empty()) record->net->stun_type = StunTypeName(*type);
  int attributes = 0;
  while (!r.empty() && ++attributes <= kMaxStunAttributes) {
    auto attr_type = r.U16();
    auto value = attr_type ? r.PrefixedU16() : std::nullopt;
    if (!value) {
      CountAnomaly(anomalies, simple_udp_anomaly::kStunAttributePastEnd);
      return;
    }
    const size_t padding = (4 - value->size() % 4) % 4;
    if (!r.Skip(std::min(padding, r.remaining()))) return;
    if ((*attr_type == 0x0020 || *attr_type == 0x0001) && record->net->stun_mapped.empty()) {
      record->net->stun_mapped = StunAddress(*value, *attr_type == 0x0020, *cookie_and_id);
    } else if (*attr_type == 0x8022 && record->net->stun_software.empty()) {
      for (uint8_t c : value->rest().first(std::min<size_t>(value->remaining(), kMaxStunText))) {
        record->net->stun_software.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
      }
    } else if (*attr_type == 0x0014 && record->net->stun_realm.empty()) {
      for (uint8_t c : value->rest().first(std::min<size_t>(value->remaining(), kMaxStunText))) {
        record->net->stun_realm.push_back(c > 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
      }
    }
  }
}

// STUN over TCP (RFC 8489 §6.2.2), plain or behind RFC 4571's length
// (ICE-TCP, Microsoft Teams' relays): each direction cut into messages by
// the framing its first bytes showed, every whole message read as over UDP.
// Ends at a frame that is not STUN (DTLS: named DTLS; media), after
// kStunMessages messages, or at one longer than kMaxStunTcpMessage (counted).
class StunStream final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    Direction& dir = dir_[from_client ? 0 : 1];
    if (!dir.framing_known) {
      // The direction's first ten bytes (the framed header's end) choose
      // its framing; they may arrive in pieces.
      const size_t take = std::min(data.size(), kFramingProbeBytes - dir.head.size());
      dir.head.insert(dir.head.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
      data = data.subspan(take);
      if (dir.head.size() < kFramingProbeBytes) return ParseState::kNeedMore;
      dir.framing_known = true;
      dir.framed = StunStreamIsFramed(dir.head);
      if (!dir.framed && !LooksLikeStunHeader(ByteReader(dir.head))) {
        return record->protocol == AppProtocol::kStun ? ParseState::kDone : ParseState::kNotMine;
      }
      std::vector<uint8_t> head;
      head.swap(dir.head);
      const ParseState st = Frames(dir, head, record, anomalies);
      if (st != ParseState::kNeedMore || data.empty()) return st;
    }
    return Frames(dir, data, record, anomalies);
  }
  size_t MemoryUsage() const override {
    return dir_[0].buf.MemoryUsage() + dir_[1].buf.MemoryUsage() + dir_[0].head.capacity() +
           dir_[1].head.capacity();
  }

 private:
  static constexpr size_t kFramingProbeBytes = 10;
  static constexpr int kStunMessages = 12;  // Read at most (both directions).
  struct Direction {
    StreamBuffer buf;
    std::vector<uint8_t> head;  // Until the framing is known.
    bool framing_known = false;
    bool framed = false;  // RFC 4571.
  };
  ParseState Frames(Direction& dir, std::span<const uint8_t> data, AppRecord* record,
                    DpiAnomalies* anomalies) {
    const size_t header = dir.framed ? 2 : 4;
    ParseState verdict = ParseState::kNeedMore;
    const FrameStatus st = ForEachFrame(
        dir.buf, data, header, kMaxStunTcpMessage,
        [&](ByteReader h) -> std::optional<size_t> {
          if (dir.framed) return 2 + size_t{*h.U16()};
          auto type = h.U16();
          auto length = h.U16();
          return type && length ? std::optional<size_t>(kStunHeaderBytes + *length) : std::nullopt;
        },
        [&](ByteReader frame) {
          if (dir.framed) (void)frame.Skip(2);
          const std::span<const uint8_t> message = frame.rest();
          if (!LooksLikeStun(message)) {
            if (record->protocol == AppProtocol::kStun && LooksLikeDtlsRecord(message)) {
              record->protocol = AppProtocol::kDtls;
            }
            verdict = record->protocol == AppProtocol::kUnknown ? ParseState::kNotMine
                                                                : ParseState::kDone;
            return false;
          }
          record->protocol = AppProtocol::kStun;
          ReadStun(message, record, anomalies);
          if (++messages_ >= kStunMessages) {
            verdict = ParseState::kDone;
            return false;
          }
          return true;
        });
    switch (st) {
      case FrameStatus::kNeedMore:
        return ParseState::kNeedMore;
      case FrameStatus::kStopped:
        return verdict;
      case FrameStatus::kTooLong:
        CountAnomaly(anomalies, simple_udp_anomaly::kStunTcpMessageTooLong);
        break;
      case FrameStatus::kMalformed:
        break;
    }
    return record->protocol == AppProtocol::kStun ? ParseState::kDone : ParseState::kNotMine;
  }

  Direction dir_[2];
  int messages_ = 0;
};

class SimpleUdp final : public Dissector {
 public:
  SimpleUdp(std::string_view name, AppProtocol p, bool (*check)(std::span<const uint8_t>),
            uint16_t port_a, uint16_t port_b)
      : name_(name), protocol_(p), check_(check), port_a_(port_a), port_b_(port_b) {}
  std::string_view name() const override { return name_; }
  bool Probe(const FlowInfo& flow, bool, std::span<const uint8_t> data) const override {
    // NTP's header has too little structure to trust without its port.
    if (protocol_ == AppProtocol::kNtp && flow.server_port != 123 && flow.client_port != 123) {
      return false;
    }
    if (protocol_ == AppProtocol::kStun && flow.transport == kIpProtoTcp) {
      return LooksLikeStunStream(data);
    }
    return flow.transport == kIpProtoUdp && check_(data);
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == port_a_ || flow.server_port == port_b_;
  }
  // STUN's type has its top two bits zero (RFC 8489 §5); over TCP behind
  // RFC 4571, the length's high byte is at most 0x10 (kMaxStunTcpMessage).
  bool MayStartWith(uint8_t /*transport*/, uint8_t first_byte) const override {
    return protocol_ != AppProtocol::kStun || (first_byte & 0xc0) == 0;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    if (protocol_ == AppProtocol::kStun && flow.transport == kIpProtoTcp) {
      return std::make_unique<StunStream>();
    }
    return std::make_unique<OneShot>(protocol_, check_);
  }

 private:
  std::string_view name_;
  AppProtocol protocol_;
  bool (*check_)(std::span<const uint8_t>);
  uint16_t port_a_, port_b_;
};

}  // namespace

std::unique_ptr<Dissector> MakeNtpDissector() {
  return std::make_unique<SimpleUdp>("ntp", AppProtocol::kNtp, LooksLikeNtp, 123, 123);
}
std::unique_ptr<Dissector> MakeDhcpDissector() {
  return std::make_unique<SimpleUdp>("dhcp", AppProtocol::kDhcp, LooksLikeDhcp, 67, 68);
}
std::unique_ptr<Dissector> MakeStunDissector() {
  return std::make_unique<SimpleUdp>("stun", AppProtocol::kStun, LooksLikeStun, 3478, 19302);
}

}  // namespace rustnet
