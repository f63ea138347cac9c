// SMTP, IMAP and POP3 share one session: a server greeting, client command
// lines, and an optional upgrade to TLS whose handshake the TLS session
// reads. Lines are cut by SplitLines (text_lines.h), at most kMaxLine bytes
// (RFC 5321 §4.5.3.1.5: 1000 with CR LF; IMAP lines may be longer but the
// ones before the upgrade are short).
#include "daemon/dpi/mail.h"

#include <string>
#include <string_view>

#include "common/flow_key.h"
#include "daemon/dpi/text_lines.h"
#include "daemon/dpi/tls.h"

namespace rustnet {
namespace {

constexpr size_t kMaxLine = 2048;
constexpr int kMaxClientLines = 16;  // Past these, STARTTLS would have come.
constexpr int kMaxServerLines = 64;  // EHLO replies and IMAP capabilities are several.

enum class Kind : uint8_t { kSmtp, kImap, kPop3 };

AppProtocol ProtocolOf(Kind k) {
  switch (k) {
    case Kind::kSmtp: return AppProtocol::kSmtp;
    case Kind::kImap: return AppProtocol::kImap;
    case Kind::kPop3: return AppProtocol::kPop3;
  }
  return AppProtocol::kUnknown;
}

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// SMTP reply: three digits then ' ', '-' or the end of the line.
bool IsSmtpReply(std::span<const uint8_t> line, char first_digit) {
  return line.size() >= 3 && line[0] == static_cast<uint8_t>(first_digit) && IsDigit(line[1]) &&
         IsDigit(line[2]) && (line.size() == 3 || line[3] == ' ' || line[3] == '-' ||
                              line[3] == '\r');
}

std::span<const uint8_t> AfterPrefix(std::span<const uint8_t> line, size_t n) {
  return line.size() > n ? line.subspan(n) : std::span<const uint8_t>();
}

// The first space-separated token of `text`.
std::span<const uint8_t> FirstToken(std::span<const uint8_t> text) {
  size_t i = 0;
  while (i < text.size() && text[i] != ' ' && text[i] != '\r') ++i;
  return text.first(i);
}

bool IsOneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (word == w) return true;
  }
  return false;
}

class MailSession final : public Session {
 public:
  MailSession(Kind kind, const FlowInfo& flow) : kind_(kind), flow_(flow) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    Side& side = from_client ? client_ : server_;
    if (side.tls) return FeedTls(from_client, data, record, anomalies);
    if (done_) return ParseState::kDone;
    const LineResult r =
        SplitLines(side.buffer, data, kMaxLine, [&](std::span<const uint8_t> line) {
          return from_client ? ClientLine(line, record) : ServerLine(line, record);
        });
    if (r.status == FrameStatus::kTooLong) {
      CountAnomaly(anomalies, mail_anomaly::kLineTooLong);
      side.buffer = {};
      if (!mine_) return ParseState::kNotMine;
      return ParseState::kDone;
    }
    if (failed_) return mine_ ? ParseState::kDone : ParseState::kNotMine;
    if (side.tls) {
      side.buffer = {};
      if (r.used < data.size()) {
        return FeedTls(from_client, data.subspan(r.used), record, anomalies);
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
    bool tls = false;  // Upgraded: its bytes go to tls_.
  };

  ParseState FeedTls(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                     DpiAnomalies* anomalies) {
    return tls_.Feed(from_client, data, ProtocolOf(kind_), record, anomalies);
  }

  void Claim(AppRecord* record) {
    mine_ = true;
    record->protocol = ProtocolOf(kind_);
  }

  bool ServerLine(std::span<const uint8_t> line, AppRecord* record) {
    if (++server_.lines > kMaxServerLines) {
      done_ = mine_;
      failed_ = !mine_;
      return false;
    }
    if (!greeted_) {
      greeted_ = true;
      std::span<const uint8_t> text;
      switch (kind_) {
        case Kind::kSmtp:
          if (!IsSmtpReply(line, '2') && !IsSmtpReply(line, '4') && !IsSmtpReply(line, '5')) {
            return Fail();
          }
          text = AfterPrefix(line, 4);
          break;
        case Kind::kImap:
          if (StartsWithNoCase(line, "* OK")) {
            text = AfterPrefix(line, 5);
          } else if (StartsWithNoCase(line, "* PREAUTH")) {
            text = AfterPrefix(line, 10);
          } else {
            return Fail();
          }
          Claim(record);
          break;
        case Kind::kPop3:
          if (!StartsWithNoCase(line, "+OK")) return Fail();
          text = AfterPrefix(line, 4);
          Claim(record);
          break;
      }
      record->mail->greeting = PrintableText(text);
      return true;
    }
    if (upgrade_pending_) {
      bool positive = false;
      switch (kind_) {
        case Kind::kSmtp:
          if (line.size() > 3 && line[3] == '-') return true;  // A multi-line reply goes on.
          positive = IsSmtpReply(line, '2');
          break;
        case Kind::kImap:
          if (StartsWithNoCase(line, "* ")) return true;  // Untagged lines first.
          positive = StartsWithNoCase(FirstWord(line).rest, "OK");
          break;
        case Kind::kPop3:
          positive = StartsWithNoCase(line, "+OK");
          break;
      }
      upgrade_pending_ = false;
      if (!positive) {
        client_.tls = false;  // Refused: the client goes on in the clear (or leaves).
        done_ = true;
        return false;
      }
      server_.tls = true;
      return false;  // The rest of the input is TLS.
    }
    return true;
  }

  bool ClientLine(std::span<const uint8_t> line, AppRecord* record) {
    if (++client_.lines > kMaxClientLines) {
      done_ = mine_;
      failed_ = !mine_;
      return false;
    }
    if (!IsTextLine(line)) {
      failed_ = true;
      return false;
    }
    WordAndRest cmd = FirstWord(line);
    if (kind_ == Kind::kImap) {
      if (cmd.word.empty()) {
        failed_ = true;
        return false;
      }
      cmd = FirstWord(cmd.rest);  // After the tag.
    }
    if (cmd.word.empty()) {
      failed_ = true;
      return false;
    }
    bool known = false;
    bool upgrade = false;
    bool past_upgrade = false;  // Commands that come after STARTTLS would have.
    switch (kind_) {
      case Kind::kSmtp:
        if (cmd.word == "EHLO" || cmd.word == "HELO") {
          known = true;
          record->mail->client_domain = PrintableText(FirstToken(cmd.rest));
          Claim(record);
        } else if (cmd.word == "STARTTLS") {
          known = upgrade = true;
        } else {
          known = IsOneOf(cmd.word, {"MAIL", "RCPT", "DATA", "AUTH", "NOOP", "RSET", "QUIT",
                                     "VRFY", "EXPN", "HELP", "BDAT"});
          past_upgrade = true;
        }
        // The first command is EHLO/HELO; anything else first (FTP's USER)
        // is not SMTP.
        if (!mine_ && !upgrade) known = false;
        break;
      case Kind::kImap:
        upgrade = cmd.word == "STARTTLS";
        known = upgrade || IsOneOf(cmd.word, {"CAPABILITY", "LOGIN", "AUTHENTICATE", "ID",
                                              "NOOP", "LOGOUT", "ENABLE", "SELECT", "EXAMINE",
                                              "LIST", "LSUB", "STATUS", "NAMESPACE"});
        past_upgrade = !upgrade && cmd.word != "CAPABILITY" && cmd.word != "ID" &&
                       cmd.word != "NOOP";
        break;
      case Kind::kPop3:
        upgrade = cmd.word == "STLS";
        known = upgrade || IsOneOf(cmd.word, {"CAPA", "USER", "PASS", "APOP", "AUTH", "QUIT",
                                              "STAT", "LIST", "RETR", "UIDL", "TOP", "NOOP"});
        past_upgrade = !upgrade && cmd.word != "CAPA" && cmd.word != "NOOP";
        break;
    }
    if (!known) {
      failed_ = true;
      return false;
    }
    if (kind_ != Kind::kSmtp && !mine_) Claim(record);
    if (upgrade) {
      record->mail->starttls = true;
      upgrade_pending_ = true;
      client_.tls = true;
      tls_.Start(flow_);
      return false;  // The client's next bytes are its ClientHello.
    }
    if (past_upgrade) {
      done_ = true;
      return false;
    }
    return true;
  }

  // A greeting of another protocol is not an anomaly of this one.
  bool Fail() {
    failed_ = true;
    return false;
  }

  Kind kind_;
  FlowInfo flow_;
  Side client_, server_;
  TlsUpgrade tls_;
  bool greeted_ = false;
  bool mine_ = false;
  bool failed_ = false;
  bool done_ = false;
  bool upgrade_pending_ = false;
};

class MailDissector final : public Dissector {
 public:
  explicit MailDissector(Kind kind) : kind_(kind) {}
  std::string_view name() const override {
    switch (kind_) {
      case Kind::kSmtp: return "smtp";
      case Kind::kImap: return "imap";
      case Kind::kPop3: return "pop3";
    }
    return "";
  }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || data.empty()) return false;
    switch (kind_) {
      case Kind::kSmtp:
        if (from_client) {
          return StartsWithNoCase(data, "EHLO ", true) || StartsWithNoCase(data, "HELO ", true);
        }
        // "220", "421", "554" greetings.
        return (data[0] == '2' || data[0] == '4' || data[0] == '5') &&
               (data.size() < 2 || IsDigit(data[1])) && (data.size() < 3 || IsDigit(data[2]));
      case Kind::kImap:
        if (from_client) return false;
        return StartsWithNoCase(data, "* OK", true) || StartsWithNoCase(data, "* PREAUTH", true);
      case Kind::kPop3:
        if (from_client) {
          if (!IsAsciiLetter(data[0])) return false;
          if (StartsWithNoCase(data, "USER ", true)) {
            // POP3's USER takes one argument; IRC's USER (user mode * :real
            // name) takes four, and an IRC client may send it first.
            for (size_t i = 5; i < data.size() && data[i] != '\r' && data[i] != '\n'; ++i) {
              if (data[i] == ' ') return false;
            }
            return true;
          }
          return StartsWithNoCase(data, "CAPA", true) || StartsWithNoCase(data, "STLS", true) ||
                 StartsWithNoCase(data, "APOP ", true);
        }
        return StartsWithNoCase(data, "+OK", true);
    }
    return false;
  }
  bool PortHint(const FlowInfo& flow) const override {
    switch (kind_) {
      case Kind::kSmtp: return flow.server_port == 25 || flow.server_port == 587;
      case Kind::kImap: return flow.server_port == 143;
      case Kind::kPop3: return flow.server_port == 110;
    }
    return false;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<MailSession>(kind_, flow);
  }

 private:
  Kind kind_;
};

}  // namespace

void TlsUpgrade::Start(const FlowInfo& flow) {
  static const Dissector* const tls = MakeTlsDissector().release();
  if (session_ == nullptr) session_ = tls->NewSession(flow);
}

ParseState TlsUpgrade::Feed(bool from_client, std::span<const uint8_t> data,
                            AppProtocol protocol, AppRecord* record, DpiAnomalies* anomalies) {
  if (session_ == nullptr) return ParseState::kDone;
  if (data.empty()) return ParseState::kNeedMore;
  const ParseState st = session_->Feed(from_client, data, record, anomalies);
  record->protocol = protocol;
  return st == ParseState::kNeedMore ? ParseState::kNeedMore : ParseState::kDone;
}

void RelabelImplicitTls(uint16_t server_port, AppRecord* record) {
  if (record->protocol != AppProtocol::kTls) return;
  switch (server_port) {
    case 465: record->protocol = AppProtocol::kSmtps; break;
    case 993: record->protocol = AppProtocol::kImaps; break;
    case 995: record->protocol = AppProtocol::kPops; break;
    default: break;
  }
}

std::unique_ptr<Dissector> MakeSmtpDissector() {
  return std::make_unique<MailDissector>(Kind::kSmtp);
}
std::unique_ptr<Dissector> MakeImapDissector() {
  return std::make_unique<MailDissector>(Kind::kImap);
}
std::unique_ptr<Dissector> MakePop3Dissector() {
  return std::make_unique<MailDissector>(Kind::kPop3);
}

}  // namespace rustnet
