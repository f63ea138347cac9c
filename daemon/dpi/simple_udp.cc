#include "daemon/dpi/simple_udp.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "common/byte_reader.h"
#include "common/flow_key.h"

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

class OneShot final : public Session {
 public:
  OneShot(AppProtocol p, bool (*check)(std::span<const uint8_t>)) : protocol_(p), check_(check) {}
  ParseState Feed(bool /*from_client*/, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (!check_(data)) {
      // STUN already named: a later datagram that is not STUN (media, DTLS)
      // ends the inspection, keeping what was found.
      return record->protocol == protocol_ ? ParseState::kDone : ParseState::kNotMine;
    }
    record->protocol = protocol_;
    if (protocol_ == AppProtocol::kNtp && record->net.ntp_version == 0) {
      record->net.ntp_version = (data[0] >> 3) & 0x7;
      record->net.ntp_mode = data[0] & 0x7;
      record->net.ntp_stratum = data.size() > 1 ? data[1] : 0;
    }
    if (protocol_ == AppProtocol::kStun) {
      ReadStun(data, record, anomalies);
      // Until an answer gave the mapped address (or a few datagrams).
      return record->net.stun_mapped.empty() && ++seen_ < 4 ? ParseState::kNeedMore
                                                             : ParseState::kDone;
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
  // RFC 8489 §5-6: the type's method and class; §14: attributes (type,
  // length, value padded to 4), of which MAPPED-ADDRESS (0x0001),
  // XOR-MAPPED-ADDRESS (0x0020, the port and address XORed with the magic
  // cookie, IPv6 with the transaction id too) and SOFTWARE (0x8022).
  static void ReadStun(std::span<const uint8_t> d, AppRecord* record, DpiAnomalies* anomalies) {
    ByteReader r(d);
    const auto type = r.U16();
    if (!type || !r.Skip(2)) return;  // Checked by LooksLikeStun.
    auto cookie_and_id = r.Bytes(16);
    if (!cookie_and_id) return;
    if (record->net.stun_type.empty()) record->net.stun_type = StunTypeName(*type);
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
      if ((*attr_type == 0x0020 || *attr_type == 0x0001) && record->net.stun_mapped.empty()) {
        record->net.stun_mapped = StunAddress(*value, *attr_type == 0x0020, *cookie_and_id);
      } else if (*attr_type == 0x8022 && record->net.stun_software.empty()) {
        for (uint8_t c : value->rest().first(std::min<size_t>(value->remaining(), 128))) {
          record->net.stun_software.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
        }
      }
    }
  }
  static std::string StunTypeName(uint16_t type) {
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
  static std::string StunAddress(ByteReader v, bool xored, std::span<const uint8_t> cookie_id) {
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
  static constexpr int kMaxStunAttributes = 32;

  AppProtocol protocol_;
  bool (*check_)(std::span<const uint8_t>);
  int seen_ = 0;
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
    return flow.transport == kIpProtoUdp && check_(data);
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == port_a_ || flow.server_port == port_b_;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
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
