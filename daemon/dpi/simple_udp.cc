#include "daemon/dpi/simple_udp.h"

#include <string>

#include "common/byte_reader.h"
#include "common/flow_key.h"

namespace rustnet {
namespace {

// NTP: 48-byte header; version 1-4, mode 1-5, stratum at most 16.
bool LooksLikeNtp(std::span<const uint8_t> d) {
  if (d.size() < 48) return false;
  const uint8_t version = (d[0] >> 3) & 0x7;
  const uint8_t mode = d[0] & 0x7;
  return version >= 1 && version <= 4 && mode >= 1 && mode <= 5 && d[1] <= 16;
}

// DHCP/BOOTP: op 1 or 2, Ethernet hardware, and the magic cookie.
bool LooksLikeDhcp(std::span<const uint8_t> d) {
  return d.size() >= 240 && (d[0] == 1 || d[0] == 2) && d[1] == 1 && d[2] == 6 &&
         d[236] == 0x63 && d[237] == 0x82 && d[238] == 0x53 && d[239] == 0x63;
}

// STUN: top two bits zero, length a multiple of 4 matching the datagram,
// and the magic cookie.
bool LooksLikeStun(std::span<const uint8_t> d) {
  if (d.size() < 20 || (d[0] & 0xc0) != 0) return false;
  const size_t len = (size_t{d[2]} << 8) | d[3];
  return len % 4 == 0 && 20 + len == d.size() && d[4] == 0x21 && d[5] == 0x12 && d[6] == 0xa4 &&
         d[7] == 0x42;
}

class OneShot final : public Session {
 public:
  OneShot(AppProtocol p, bool (*check)(std::span<const uint8_t>)) : protocol_(p), check_(check) {}
  ParseState Feed(bool /*from_client*/, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (!check_(data)) return ParseState::kNotMine;
    record->protocol = protocol_;
    if (protocol_ == AppProtocol::kDhcp) ReadDhcpHostname(data, record, anomalies);
    return protocol_ == AppProtocol::kDhcp && record->dhcp_hostname.empty() && ++seen_ < 4
               ? ParseState::kNeedMore
               : ParseState::kDone;
  }

 private:
  static void ReadDhcpHostname(std::span<const uint8_t> d, AppRecord* record,
                               DpiAnomalies* anomalies) {
    ByteReader r(d.subspan(240));
    while (!r.empty()) {
      const uint8_t code = *r.U8();
      if (code == 0) continue;     // Pad.
      if (code == 255) return;     // End.
      auto len = r.U8();
      auto value = len ? r.Bytes(*len) : std::nullopt;
      if (!value) {
        CountAnomaly(anomalies, "dhcp_option_past_end");
        return;
      }
      if (code == 12 && record->dhcp_hostname.empty()) {
        for (uint8_t c : *value) {
          record->dhcp_hostname.push_back(c > 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
        }
      }
    }
  }
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
