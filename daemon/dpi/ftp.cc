// FTP control: a 220 greeting, then command lines from the client and
// replies from the server, cut by SplitLines (text_lines.h). The session
// stays on the connection (up to the engine's packet limit) to see the
// PASV/EPSV replies and PORT/EPRT commands that announce data connections.
#include "daemon/dpi/ftp.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/dpi/mail.h"
#include "daemon/dpi/text_lines.h"

namespace rustnet {

bool FtpExpectations::Expect(const IpAddress& address, uint16_t port, uint64_t control_id,
                             int64_t now_us) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(now_us);
  bool room = true;
  // The oldest go first; stale records (claimed or re-announced keys) are
  // dropped on the way. order_ holds at most 2 x kMaxEntries records.
  while ((entries_.size() >= kMaxEntries || order_.size() >= 2 * kMaxEntries) &&
         !order_.empty()) {
    room = !PopOldestLocked() && room;
  }
  const int64_t expires = now_us + kTtlUs;
  const Key key{address, port};
  entries_[key] = Entry{control_id, expires};
  order_.emplace_back(key, expires);
  size_.store(entries_.size(), std::memory_order_relaxed);
  return room;
}

uint64_t FtpExpectations::Claim(const IpAddress& address, uint16_t port, int64_t now_us) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(now_us);
  auto it = entries_.find(Key{address, port});
  if (it == entries_.end()) return 0;
  const uint64_t id = it->second.control_id;
  entries_.erase(it);
  size_.store(entries_.size(), std::memory_order_relaxed);
  return id;
}

bool FtpExpectations::PopOldestLocked() {
  const auto& [key, expiry] = order_.front();
  auto it = entries_.find(key);
  const bool live = it != entries_.end() && it->second.expires_us == expiry;
  if (live) entries_.erase(it);
  order_.pop_front();
  return live;
}

void FtpExpectations::ExpireLocked(int64_t now_us) {
  while (!order_.empty() && order_.front().second <= now_us) PopOldestLocked();
  size_.store(entries_.size(), std::memory_order_relaxed);
}

namespace {

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// A decimal number of at most `max` at text[*pos]; moves *pos past it.
std::optional<uint32_t> Number(std::span<const uint8_t> text, size_t* pos, uint32_t max) {
  uint32_t v = 0;
  size_t digits = 0;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    v = v * 10 + (text[*pos] - '0');
    if (v > max || ++digits > 5) return std::nullopt;
    ++*pos;
  }
  if (digits == 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<FtpEndpoint> ParseFtpHostPort(std::span<const uint8_t> text) {
  // The first run of "n,n,n,n,n,n" in the text.
  for (size_t start = 0; start < text.size(); ++start) {
    if (!IsDigit(text[start]) || (start > 0 && IsDigit(text[start - 1]))) continue;
    size_t pos = start;
    uint8_t n[6];
    bool ok = true;
    for (int i = 0; i < 6 && ok; ++i) {
      auto v = Number(text, &pos, 255);
      if (!v) {
        ok = false;
        break;
      }
      n[i] = static_cast<uint8_t>(*v);
      if (i < 5) {
        if (pos >= text.size() || text[pos] != ',') ok = false;
        ++pos;
      }
    }
    if (!ok) continue;
    FtpEndpoint e;
    e.address = IpAddress::FromV4(n);
    e.has_address = true;
    e.port = static_cast<uint16_t>(n[4] << 8 | n[5]);
    return e;
  }
  return std::nullopt;
}

std::optional<FtpEndpoint> ParseFtpExtended(std::span<const uint8_t> text) {
  // EPSV reply: "... (|||6446|)"; EPRT argument: "|2|::1|6446|" (any
  // delimiter in 33..126, RFC 2428 §2).
  size_t pos = 0;
  const bool reply = !text.empty() && text[0] != '|' && IsDigit(text[0]);
  if (reply) {
    while (pos < text.size() && text[pos] != '(') ++pos;
    if (pos == text.size()) return std::nullopt;
    ++pos;
  }
  if (pos >= text.size() || text[pos] < 33 || text[pos] > 126 || IsDigit(text[pos])) {
    return std::nullopt;
  }
  const uint8_t d = text[pos++];
  // Three fields: protocol, address, port.
  std::span<const uint8_t> field[3];
  for (auto& f : field) {
    const size_t start = pos;
    while (pos < text.size() && text[pos] != d) ++pos;
    if (pos == text.size()) return std::nullopt;
    f = text.subspan(start, pos - start);
    ++pos;
  }
  size_t p = 0;
  auto port = Number(field[2], &p, 65535);
  if (!port || p != field[2].size()) return std::nullopt;
  FtpEndpoint e;
  e.port = static_cast<uint16_t>(*port);
  if (field[1].empty()) return e;  // EPSV: the control connection's server.
  if (field[1].size() > IpAddress::kMaxTextSize || field[0].size() != 1) return std::nullopt;
  char buf[IpAddress::kMaxTextSize + 1] = {};
  std::copy(field[1].begin(), field[1].end(), buf);
  uint8_t raw[16];
  if (field[0][0] == '1' && inet_pton(AF_INET, buf, raw) == 1) {
    e.address = IpAddress::FromV4(raw);
  } else if (field[0][0] == '2' && inet_pton(AF_INET6, buf, raw) == 1) {
    e.address = IpAddress::FromV6(raw);
  } else {
    return std::nullopt;
  }
  e.has_address = true;
  return e;
}

namespace {

constexpr size_t kMaxLine = 2048;
constexpr int kMaxLines = 96;  // Per direction.
constexpr size_t kMaxUser = 64;

bool IsFtpCommand(std::string_view w) {
  static constexpr std::string_view kCommands[] = {
      "USER", "PASS", "ACCT", "AUTH", "FEAT", "SYST", "OPTS", "PWD",  "XPWD", "TYPE", "PASV",
      "EPSV", "PORT", "EPRT", "LIST", "NLST", "RETR", "STOR", "CWD",  "CDUP", "QUIT", "NOOP",
      "HOST", "CLNT", "PBSZ", "PROT", "SIZE", "MDTM", "MLSD", "MLST", "REST", "STAT", "HELP",
      "MODE", "STRU", "DELE", "MKD",  "RMD",  "RNFR", "RNTO", "APPE", "ABOR", "SITE", "LANG"};
  for (std::string_view c : kCommands) {
    if (w == c) return true;
  }
  return false;
}

std::string EndpointText(const IpAddress& a, uint16_t port) {
  return a.IsV4() ? absl::StrCat(a.ToString(), ":", port)
                  : absl::StrCat("[", a.ToString(), "]:", port);
}

class FtpSession final : public Session {
 public:
  explicit FtpSession(const FlowInfo& flow) : flow_(flow) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    Side& side = from_client ? client_ : server_;
    if (side.tls) return tls_.Feed(from_client, data, AppProtocol::kFtp, record, anomalies);
    if (done_) return ParseState::kDone;
    const LineResult r = SplitLines(side.buffer, data, kMaxLine, [&](std::span<const uint8_t> l) {
      return from_client ? ClientLine(l, record, anomalies) : ServerLine(l, record, anomalies);
    });
    if (r.status == FrameStatus::kTooLong) {
      CountAnomaly(anomalies, ftp_anomaly::kLineTooLong);
      side.buffer = {};
      return mine_ ? ParseState::kDone : ParseState::kNotMine;
    }
    if (failed_) return mine_ ? ParseState::kDone : ParseState::kNotMine;
    if (side.tls) {
      side.buffer = {};
      if (r.used < data.size()) {
        return tls_.Feed(from_client, data.subspan(r.used), AppProtocol::kFtp, record, anomalies);
      }
      return ParseState::kNeedMore;
    }
    return done_ ? ParseState::kDone : ParseState::kNeedMore;
  }

  size_t MemoryUsage() const override {
    return client_.buffer.MemoryUsage() + server_.buffer.MemoryUsage() + tls_.MemoryUsage();
  }

 private:
  struct Side {
    StreamBuffer buffer;
    int lines = 0;
    bool tls = false;
  };

  bool Stop(bool failed) {
    (failed ? failed_ : done_) = true;
    return false;
  }

  void Announce(const FtpEndpoint& e, bool from_server, AppRecord* record,
                DpiAnomalies* anomalies) {
    IpAddress address = e.address;
    // EPSV, or a PASV of 0.0.0.0: the address the control connection uses.
    static constexpr uint8_t kZero[4] = {0, 0, 0, 0};
    if (!e.has_address || address == IpAddress::FromV4(kZero)) {
      address = from_server ? flow_.server_address : flow_.client_address;
    }
    record->ftp->data_endpoint = EndpointText(address, e.port);
    if (flow_.context != nullptr && flow_.context->ftp_expectations != nullptr) {
      if (!flow_.context->ftp_expectations->Expect(address, e.port, flow_.id,
                                                   flow_.context->now_us)) {
        CountAnomaly(anomalies, ftp_anomaly::kExpectationsFull);
      }
    }
  }

  bool ServerLine(std::span<const uint8_t> line, AppRecord* record, DpiAnomalies* anomalies) {
    if (++server_.lines > kMaxLines) return Stop(!mine_);
    const bool reply = line.size() >= 3 && IsDigit(line[0]) && IsDigit(line[1]) &&
                       IsDigit(line[2]);
    if (!greeted_) {
      greeted_ = true;
      if (!reply || line[0] != '2' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        return Stop(true);
      }
      record->mail->greeting = PrintableText(line.size() > 4 ? line.subspan(4) : line.subspan(3));
      return true;
    }
    if (!reply) return true;  // A multi-line reply's inner line.
    if (upgrade_pending_) {
      upgrade_pending_ = false;
      if (line[0] != '2' && line[0] != '3') {
        client_.tls = false;
        return Stop(false);
      }
      server_.tls = true;
      return false;  // The rest is TLS.
    }
    if (!mine_) return true;
    if (line[0] == '2' && line[1] == '2' && (line[2] == '7' || line[2] == '9')) {
      const auto e = line[2] == '7' ? ParseFtpHostPort(line.subspan(3))
                                    : ParseFtpExtended(line);
      if (!e) {
        CountAnomaly(anomalies, ftp_anomaly::kBadDataEndpoint);
      } else {
        Announce(*e, true, record, anomalies);
      }
    }
    return true;
  }

  bool ClientLine(std::span<const uint8_t> line, AppRecord* record, DpiAnomalies* anomalies) {
    if (++client_.lines > kMaxLines) return Stop(!mine_);
    if (!IsTextLine(line)) return Stop(true);
    const WordAndRest cmd = FirstWord(line);
    if (!IsFtpCommand(cmd.word)) return Stop(true);
    if (!mine_) {
      mine_ = true;
      record->protocol = AppProtocol::kFtp;
    }
    if (cmd.word == "USER" && record->ftp->user.empty()) {
      record->ftp->user = PrintableText(cmd.rest, kMaxUser);
    } else if (cmd.word == "AUTH" && (StartsWithNoCase(cmd.rest, "TLS") ||
                                      StartsWithNoCase(cmd.rest, "SSL"))) {
      record->mail->starttls = true;
      upgrade_pending_ = true;
      client_.tls = true;
      tls_.Start(flow_);
      return false;
    } else if (cmd.word == "PORT" || cmd.word == "EPRT") {
      // Active mode: the server will connect to the client's endpoint.
      const auto e = cmd.word == "PORT" ? ParseFtpHostPort(cmd.rest) : ParseFtpExtended(cmd.rest);
      if (!e) {
        CountAnomaly(anomalies, ftp_anomaly::kBadDataEndpoint);
      } else {
        Announce(*e, false, record, anomalies);
      }
    }
    return true;
  }

  FlowInfo flow_;
  Side client_, server_;
  TlsUpgrade tls_;
  bool greeted_ = false;
  bool mine_ = false;
  bool failed_ = false;
  bool done_ = false;
  bool upgrade_pending_ = false;
};

class FtpDissector final : public Dissector {
 public:
  std::string_view name() const override { return "ftp"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || data.empty()) return false;
    if (from_client) {
      if (!IsAsciiLetter(data[0])) return false;  // (Cheap rejection first.)
      const WordAndRest w = FirstWord(data.first(std::min<size_t>(data.size(), 17)));
      return !w.word.empty() && IsFtpCommand(w.word);
    }
    // "220" (or "120 ready in n minutes" is rare: not probed).
    return data[0] == '2' && (data.size() < 2 || data[1] == '2') &&
           (data.size() < 3 || data[2] == '0');
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 21; }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<FtpSession>(flow);
  }
};

}  // namespace

std::unique_ptr<Dissector> MakeFtpDissector() { return std::make_unique<FtpDissector>(); }

}  // namespace rustnet
