// RDP (MS-RDPBCGR §2.2.1.1-2: TPKT, X.224 CR/CC, RDP_NEG_REQ/RSP), VNC
// (RFC 6143 §7.1.1) and Telnet (RFC 854 option negotiation).
#include "daemon/dpi/remote.h"

#include <algorithm>
#include <string>

#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/mail.h"
#include "daemon/dpi/stream_buffer.h"
#include "daemon/dpi/text_lines.h"

namespace rustnet {
namespace {

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// --- RDP -------------------------------------------------------------------

constexpr size_t kMaxTpkt = 4096;  // A Connection Request/Confirm is small.
constexpr uint8_t kX224ConnectionRequest = 0xe0;
constexpr uint8_t kX224ConnectionConfirm = 0xd0;
constexpr uint8_t kCookie[] = {'C', 'o', 'o', 'k', 'i', 'e', ':', ' ', 'm', 's', 't', 's',
                               'h', 'a', 's', 'h', '='};

class RdpSession final : public Session {
 public:
  explicit RdpSession(const FlowInfo& flow) : flow_(flow) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (tls_.started()) return tls_.Feed(from_client, data, AppProtocol::kRdp, record, anomalies);
    StreamBuffer& buf = from_client ? client_ : server_;
    if (!from_client && !request_seen_) return ParseState::kNotMine;
    bool bad = false;
    bool go_tls = false;
    const FrameStatus st = ForEachFrame(
        buf, data, 4, kMaxTpkt,
        [](ByteReader h) -> std::optional<size_t> {
          if (h.U8() != 3 || !h.U8()) return std::nullopt;
          auto len = h.U16();
          if (!len || *len < 11) return std::nullopt;
          return *len;
        },
        [&](ByteReader frame) {
          frame.Skip(4);
          const auto li = frame.U8();
          const auto code = frame.U8();
          auto x224 = li && *li >= 6 && frame.Skip(5) ? std::optional<bool>(true) : std::nullopt;
          if (!x224 || !code) {
            bad = true;
            return false;
          }
          const uint8_t want = from_client ? kX224ConnectionRequest : kX224ConnectionConfirm;
          if ((*code & 0xf0) != want) {
            bad = true;
            return false;
          }
          ByteReader rest = frame;
          if (from_client) {
            request_seen_ = true;
            record->protocol = AppProtocol::kRdp;
            // "Cookie: mstshash=IDENTIFIER\r\n", then maybe RDP_NEG_REQ.
            ByteReader cookie = rest;
            auto start = cookie.Bytes(sizeof(kCookie));
            if (start && std::equal(start->begin(), start->end(), std::begin(kCookie))) {
              auto user = cookie.BytesUntil('\n');
              if (!user) {
                CountAnomaly(anomalies, remote_anomaly::kRdpCookieMalformed);
              } else {
                record->lan->user = PrintableText(*user, 64);
                rest = cookie;
              }
            } else if (auto line = rest.PeekSub(std::min<size_t>(rest.remaining(), 7))) {
              // Another routing token ("Cookie: msts=..."): skip its line.
              ByteReader skip = rest;
              if (StartsWithNoCase(line->rest(), "COOKIE:") && skip.BytesUntil('\n')) rest = skip;
            }
            if (rest.U8() == 0x01 && rest.Skip(3)) {  // RDP_NEG_REQ: type, flags, length.
              const auto requested = rest.U32Le();
              record->lan->tls = requested && (*requested & 0x0f) != 0;
            }
            return false;
          }
          if (rest.U8() == 0x02 && rest.Skip(3)) {  // RDP_NEG_RSP.
            const auto selected = rest.U32Le();
            go_tls = selected && *selected != 0;
          }
          return false;
        });
    if (st == FrameStatus::kMalformed || st == FrameStatus::kTooLong || bad) {
      if (request_seen_) CountAnomaly(anomalies, remote_anomaly::kRdpTpktMalformed);
      return request_seen_ ? ParseState::kDone : ParseState::kNotMine;
    }
    if (st == FrameStatus::kStopped) buf = {};
    if (!from_client && st == FrameStatus::kStopped) {
      if (!go_tls) return ParseState::kDone;
      tls_.Start(flow_);
    }
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override {
    return client_.MemoryUsage() + server_.MemoryUsage() + tls_.MemoryUsage();
  }

 private:
  FlowInfo flow_;
  StreamBuffer client_, server_;
  TlsUpgrade tls_;
  bool request_seen_ = false;
};

class RdpDissector final : public Dissector {
 public:
  std::string_view name() const override { return "rdp"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client) return false;
    const ByteReader r(data);
    const auto v = r.PeekU8(0), zero = r.PeekU8(1), code = r.PeekU8(5);
    return v == 3 && (!zero || *zero == 0) && (!code || (*code & 0xf0) == kX224ConnectionRequest);
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 3389; }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<RdpSession>(flow);
  }
};

// --- VNC (RFB) -------------------------------------------------------------

constexpr size_t kRfbVersionBytes = 12;  // "RFB 003.008\n"

// As much of "RFB ddd.ddd\n" as `data` holds.
bool RfbVersionPrefix(std::span<const uint8_t> data) {
  static constexpr char kShape[] = "RFB d.d\n";  // d: three digits.
  size_t i = 0;
  for (size_t k = 0; k < sizeof(kShape) - 1 && i < data.size(); ++k) {
    if (kShape[k] == 'd') {
      for (int j = 0; j < 3 && i < data.size(); ++j, ++i) {
        if (!IsDigit(data[i])) return false;
      }
    } else if (data[i++] != static_cast<uint8_t>(kShape[k])) {
      return false;
    }
  }
  return true;
}

class VncSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies*) override {
    std::string& got = from_client ? client_ : server_;
    const size_t n = std::min(data.size(), kRfbVersionBytes - got.size());
    got.append(reinterpret_cast<const char*>(data.data()), n);
    const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(got.data()),
                                                got.size());
    if (!RfbVersionPrefix(bytes)) return ParseState::kNotMine;
    if (got.size() < kRfbVersionBytes) return ParseState::kNeedMore;
    if (from_client) return server_.size() == kRfbVersionBytes ? ParseState::kDone
                                                               : ParseState::kNotMine;
    record->protocol = AppProtocol::kVnc;
    record->lan->version = got.substr(0, kRfbVersionBytes - 1);
    return ParseState::kDone;
  }

 private:
  std::string client_, server_;
};

class VncDissector final : public Dissector {
 public:
  std::string_view name() const override { return "vnc"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    return flow.transport == kIpProtoTcp && !from_client &&
           RfbVersionPrefix(data.first(std::min(data.size(), kRfbVersionBytes)));
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port >= 5900 && flow.server_port <= 5910;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<VncSession>();
  }
};

// --- Telnet ----------------------------------------------------------------

constexpr uint8_t kIac = 255;
constexpr uint8_t kSe = 240;
constexpr uint8_t kSb = 250;
constexpr uint8_t kWill = 251;
constexpr uint8_t kDont = 254;
constexpr int kTelnetCommandsNeeded = 2;
constexpr size_t kMaxSubnegotiation = 64;

class TelnetSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies*) override {
    Side& side = from_client ? client_ : server_;
    for (uint8_t c : data) {
      switch (side.state) {
        case State::kStart:
          if (c != kIac) return Verdict(record);
          side.state = State::kAfterIac;
          break;
        case State::kAfterIac:
          if (c >= kWill && c <= kDont) {
            side.state = State::kOption;
          } else if (c == kSb) {
            side.state = State::kSub;
            side.sub = 0;
          } else {
            return ParseState::kNotMine;
          }
          break;
        case State::kOption:
          ++commands_;
          side.state = State::kStart;
          break;
        case State::kSub:
          if (++side.sub > kMaxSubnegotiation) return ParseState::kNotMine;
          if (c == kIac) side.state = State::kSubIac;
          break;
        case State::kSubIac:
          if (c == kSe) {
            ++commands_;
            side.state = State::kStart;
          } else {
            side.state = State::kSub;
          }
          break;
      }
      if (commands_ >= kTelnetCommandsNeeded) {
        record->protocol = AppProtocol::kTelnet;
        return ParseState::kDone;
      }
    }
    return ParseState::kNeedMore;
  }

 private:
  enum class State : uint8_t { kStart, kAfterIac, kOption, kSub, kSubIac };
  struct Side {
    State state = State::kStart;
    size_t sub = 0;
  };
  // Text after a whole command: telnet if there was one.
  ParseState Verdict(AppRecord* record) {
    if (commands_ == 0) return ParseState::kNotMine;
    record->protocol = AppProtocol::kTelnet;
    return ParseState::kDone;
  }
  Side client_, server_;
  int commands_ = 0;
};

class TelnetDissector final : public Dissector {
 public:
  std::string_view name() const override { return "telnet"; }
  bool Probe(const FlowInfo& flow, bool, std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || data.empty() || data[0] != kIac) return false;
    return data.size() < 2 || (data[1] >= kWill && data[1] <= kDont) || data[1] == kSb;
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 23; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<TelnetSession>();
  }
};

}  // namespace

std::unique_ptr<Dissector> MakeRdpDissector() { return std::make_unique<RdpDissector>(); }
std::unique_ptr<Dissector> MakeVncDissector() { return std::make_unique<VncDissector>(); }
std::unique_ptr<Dissector> MakeTelnetDissector() { return std::make_unique<TelnetDissector>(); }

}  // namespace rustnet
