#include "daemon/dpi/text_services.h"

#include <algorithm>
#include <cstdio>

#include "common/byte_reader.h"
#include "daemon/dpi/prefix_session.h"

namespace rustnet {
namespace {

// --- SIP (RFC 3261 §7) -------------------------------------------------------
constexpr std::string_view kSipMethods[] = {
    "INVITE ", "REGISTER ", "OPTIONS ", "ACK ",   "BYE ",    "CANCEL ", "SUBSCRIBE ",
    "NOTIFY ", "MESSAGE ",  "INFO ",    "PRACK ", "UPDATE ", "REFER ",  "PUBLISH "};

// A request line "METHOD sip:... SIP/2.0" or a status line "SIP/2.0 NNN".
// 1: yes, 0: the line is not whole yet, -1: no.
int SipStartLine(std::span<const uint8_t> d) {
  bool method = CouldStartWith(d, "SIP/2.0 ");
  for (std::string_view m : kSipMethods) method = method || CouldStartWith(d, m);
  if (!method) return -1;
  auto line = FirstLine(d);
  if (!line) return d.size() > 512 ? -1 : 0;
  if (StartsWith(*line, "SIP/2.0 ")) return line->size() >= 11 ? 1 : -1;
  constexpr std::string_view kVersion = " SIP/2.0";
  return line->size() > kVersion.size() &&
                 StartsWith(line->subspan(line->size() - kVersion.size()), kVersion)
             ? 1
             : -1;
}

// "Alice <sip:alice@example.com;tag=1>" -> "example.com" (host only).
std::string SipDomain(std::span<const uint8_t> value) {
  ByteReader r(value);
  for (std::string_view scheme : {"sip:", "sips:", "tel:"}) {
    ByteReader probe(value);
    if (probe.SkipPast(AsBytes(scheme))) {
      r = probe;
      break;
    }
  }
  auto uri = r.rest();
  const auto end = std::find_if(uri.begin(), uri.end(), [](uint8_t c) {
    return c == '>' || c == ';' || c == ' ' || c == '?';
  });
  uri = uri.first(static_cast<size_t>(end - uri.begin()));
  if (const auto at = std::find(uri.begin(), uri.end(), '@'); at != uri.end()) {
    uri = uri.subspan(static_cast<size_t>(at - uri.begin()) + 1);
  }
  // Drop the port.
  if (const auto colon = std::find(uri.begin(), uri.end(), ':'); colon != uri.end()) {
    uri = uri.first(static_cast<size_t>(colon - uri.begin()));
  }
  return Printable(uri, kMaxSipValueKept);
}

// Header `name` (or its compact form) at the start of `line`: the value.
std::optional<std::span<const uint8_t>> SipHeader(std::span<const uint8_t> line,
                                                  std::string_view name, std::string_view compact) {
  for (std::string_view n : {name, compact}) {
    if (n.empty() || line.size() <= n.size() || !StartsWithFolded(line, n)) continue;
    ByteReader r(line.subspan(n.size()));
    while (r.PeekU8() == uint8_t{' '} || r.PeekU8() == uint8_t{'\t'}) r.Skip(1);
    if (r.U8() != uint8_t{':'}) continue;
    while (r.PeekU8() == uint8_t{' '} || r.PeekU8() == uint8_t{'\t'}) r.Skip(1);
    return r.rest();
  }
  return std::nullopt;
}

void ReadSipMessage(std::span<const uint8_t> d, AppRecord* record, DpiAnomalies* anomalies) {
  ByteReader r(d);
  auto start = r.BytesUntil('\n');
  if (!start) return;
  const bool request = !StartsWith(*start, "SIP/2.0 ");
  if (request && record->sip->method.empty()) {
    const auto sp = std::find(start->begin(), start->end(), ' ');
    record->sip->method = Printable(start->first(static_cast<size_t>(sp - start->begin())), 16);
  }
  while (auto raw = r.BytesUntil('\n')) {
    auto line = *raw;
    if (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
    if (line.empty()) break;  // End of headers.
    if (std::any_of(line.begin(), line.end(), [](uint8_t c) { return c < 0x20 && c != '\t'; })) {
      CountAnomaly(anomalies, text_services_anomaly::kSipHeaderControlBytes);
    }
    if (auto v = SipHeader(line, "From", "f"); v && record->sip->from_domain.empty()) {
      record->sip->from_domain = SipDomain(*v);
    } else if (auto t = SipHeader(line, "To", "t"); t && record->sip->to_domain.empty()) {
      record->sip->to_domain = SipDomain(*t);
    } else if (auto ua = SipHeader(line, request ? "User-Agent" : "Server", "");
               ua && record->sip->user_agent.empty()) {
      record->sip->user_agent = Printable(*ua, kMaxSipValueKept);
    }
  }
}

bool ProbeSip(bool, bool, std::span<const uint8_t> d) { return SipStartLine(d) >= 0; }

ParseState ParseSip(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  const auto d = v.just_fed();
  const int start = SipStartLine(d);
  if (start < 0) {
    return record->protocol == AppProtocol::kSip ? ParseState::kDone : ParseState::kNotMine;
  }
  if (start == 0) return ParseState::kNeedMore;
  // TCP: wait for the blank line ending the headers (or the prefix cap).
  if (!v.udp) {
    constexpr std::string_view kEnd = "\r\n\r\n";
    if (std::search(d.begin(), d.end(), kEnd.begin(), kEnd.end()) == d.end() && d.size() < 1024) {
      return ParseState::kNeedMore;
    }
  }
  record->protocol = AppProtocol::kSip;
  ReadSipMessage(d, record, anomalies);
  return record->sip->method.empty() || record->sip->user_agent.empty() ? ParseState::kNeedMore
                                                                      : ParseState::kDone;
}

// --- RTSP (RFC 2326 §6, RFC 7826) --------------------------------------------
constexpr std::string_view kRtspMethods[] = {
    "OPTIONS ",       "DESCRIBE ",      "SETUP ",    "PLAY ",   "PAUSE ",   "TEARDOWN ",
    "GET_PARAMETER ", "SET_PARAMETER ", "ANNOUNCE ", "RECORD ", "REDIRECT "};

int RtspStartLine(std::span<const uint8_t> d, bool from_client) {
  bool could = false;
  if (from_client) {
    for (std::string_view m : kRtspMethods) could = could || CouldStartWith(d, m);
  } else {
    could = CouldStartWith(d, "RTSP/1.0 ") || CouldStartWith(d, "RTSP/2.0 ");
  }
  if (!could) return -1;
  auto line = FirstLine(d);
  if (!line) return d.size() > 1024 ? -1 : 0;
  if (!from_client) return 1;
  constexpr std::string_view kV1 = " RTSP/1.0", kV2 = " RTSP/2.0";
  if (line->size() <= kV1.size()) return -1;
  const auto tail = line->subspan(line->size() - kV1.size());
  return StartsWith(tail, kV1) || StartsWith(tail, kV2) ? 1 : -1;
}

bool ProbeRtsp(bool, bool from_client, std::span<const uint8_t> d) {
  return RtspStartLine(d, from_client) >= 0;
}

ParseState ParseRtsp(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const int start = RtspStartLine(v.just_fed(), v.from_client);
  if (start < 0) {
    return record->protocol == AppProtocol::kRtsp ? ParseState::kDone : ParseState::kNotMine;
  }
  if (start == 0) return ParseState::kNeedMore;
  record->protocol = AppProtocol::kRtsp;
  return ParseState::kDone;
}

// --- IRC (RFC 2812 §3.1) -----------------------------------------------------
// The client registers with NICK, USER, PASS or CAP; the server's lines
// start with ":prefix " and a command or numeric.
int IrcStart(std::span<const uint8_t> d, bool from_client) {
  if (from_client) {
    // PASS lines may come first (skipped: FTP and POP3 have PASS too, and
    // the password is never kept); then NICK, USER with its ":realname"
    // (FTP's USER has one argument) or CAP.
    ByteReader r(d);
    while (true) {
      const auto rest = r.rest();
      if (rest.empty()) return 0;
      bool could = false;
      for (std::string_view c : {"PASS ", "NICK ", "USER ", "CAP LS", "CAP REQ"}) {
        could = could || CouldStartWith(rest, c);
      }
      if (!could) return -1;
      auto raw = r.BytesUntil('\n');
      if (!raw) return rest.size() > 512 ? -1 : 0;
      if (StartsWith(*raw, "PASS ")) continue;
      if (StartsWith(*raw, "USER ")) {
        return std::count(raw->begin(), raw->end(), ' ') >= 4 &&
                       std::find(raw->begin(), raw->end(), ':') != raw->end()
                   ? 1
                   : -1;
      }
      return raw->size() > 5 ? 1 : -1;
    }
  }
  if (!CouldStartWith(d, ":")) return -1;
  auto line = FirstLine(d);
  if (!line) return d.size() > 512 ? -1 : 0;
  ByteReader r(*line);
  r.Skip(1);
  auto prefix = r.BytesUntil(' ');
  auto command = prefix ? r.BytesUntil(' ') : std::nullopt;
  if (!command || prefix->empty() || command->empty()) return -1;
  const bool numeric =
      command->size() == 3 &&
      std::all_of(command->begin(), command->end(), [](uint8_t c) { return c >= '0' && c <= '9'; });
  return numeric || StartsWith(*command, "NOTICE") ? 1 : -1;
}

bool ProbeIrc(bool, bool from_client, std::span<const uint8_t> d) {
  return IrcStart(d, from_client) >= 0;
}

ParseState ParseIrc(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const int start = IrcStart(v.just_fed(), v.from_client);
  if (start < 0) {
    return record->protocol == AppProtocol::kIrc ? ParseState::kDone : ParseState::kNotMine;
  }
  if (start == 0) return ParseState::kNeedMore;
  record->protocol = AppProtocol::kIrc;
  return ParseState::kDone;
}

// --- NNTP (RFC 3977 §5.1) ----------------------------------------------------
// The server greets with 200 or 201; the client's first command is one of
// NNTP's. Both are needed: "200 " alone is many protocols' greeting.
int NntpStart(std::span<const uint8_t> d, bool from_client) {
  if (!from_client) {
    if (!CouldStartWith(d, "200 ") && !CouldStartWith(d, "201 ")) return -1;
    return FirstLine(d) ? 1 : (d.size() > 512 ? -1 : 0);
  }
  bool could = false;
  for (std::string_view c :
       {"MODE READER", "CAPABILITIES", "GROUP ", "LIST", "ARTICLE", "NEWGROUPS ", "NEWNEWS ",
        "XOVER", "OVER", "HEAD ", "BODY ", "POST", "IHAVE ", "AUTHINFO ", "STAT", "LISTGROUP"}) {
    could = could || CouldStartWith(d, c);
  }
  if (!could) return -1;
  return FirstLine(d) ? 1 : (d.size() > 512 ? -1 : 0);
}

bool ProbeNntp(bool, bool from_client, std::span<const uint8_t> d) {
  return !from_client && NntpStart(d, false) >= 0;
}

ParseState ParseNntp(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const int server = NntpStart(v.server, false);
  const int client = v.client.empty() ? 0 : NntpStart(v.client, true);
  if (server < 0 || client < 0) return ParseState::kNotMine;
  if (server == 1 && client == 1) {
    record->protocol = AppProtocol::kNntp;
    return ParseState::kDone;
  }
  return ParseState::kNeedMore;
}

// --- rsync daemon (rsync's clientserver.c) -----------------------------------
// Both sides open with "@RSYNCD: <version>\n".
bool ProbeRsync(bool, bool, std::span<const uint8_t> d) { return CouldStartWith(d, "@RSYNCD: "); }

ParseState ParseRsync(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto d = v.just_fed();
  if (!CouldStartWith(d, "@RSYNCD: ")) {
    return record->protocol == AppProtocol::kRsync ? ParseState::kDone : ParseState::kNotMine;
  }
  if (!FirstLine(d)) return d.size() > 64 ? ParseState::kNotMine : ParseState::kNeedMore;
  record->protocol = AppProtocol::kRsync;
  return ParseState::kDone;
}

// --- Git (gitprotocol-pack: git:// transport) -------------------------------
// The client's first pkt-line: 4 hex digits of length, then
// "git-upload-pack ", "git-receive-pack " or "git-upload-archive ".
bool ProbeGit(bool, bool from_client, std::span<const uint8_t> d) {
  if (!from_client) return false;
  ByteReader r(d);
  auto hex = r.Bytes(std::min<size_t>(4, r.remaining()));
  if (!hex || hex->empty() || !std::all_of(hex->begin(), hex->end(), [](uint8_t c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return false;
  }
  return r.empty() || CouldStartWith(r.rest(), "git-");
}

ParseState ParseGit(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  if (!v.from_client) {
    return record->protocol == AppProtocol::kGit ? ParseState::kDone : ParseState::kNeedMore;
  }
  if (!ProbeGit(false, true, v.client)) return ParseState::kNotMine;
  const auto rest = v.client.size() > 4 ? v.client.subspan(4) : std::span<const uint8_t>();
  for (std::string_view service :
       {"git-upload-pack ", "git-receive-pack ", "git-upload-archive "}) {
    if (StartsWith(rest, service)) {
      record->protocol = AppProtocol::kGit;
      return ParseState::kDone;
    }
  }
  return rest.size() >= 20 ? ParseState::kNotMine : ParseState::kNeedMore;
}

// --- SOCKS (SOCKS 4 protocol, 4A extension, RFC 1928, RFC 1929) --------------
std::string SocksTarget(std::string host, uint16_t port) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), ":%u", port);
  host += buf;
  return host;
}

std::string Ipv4Text(std::span<const uint8_t> a) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  return buf;
}

std::string Ipv6Text(std::span<const uint8_t> a) {
  std::string out = "[";
  for (size_t i = 0; i < 16; i += 2) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), i == 0 ? "%x" : ":%x", (a[i] << 8) | a[i + 1]);
    out += buf;
  }
  return out + "]";
}

constexpr size_t kMaxSocksMethods = 16;

bool ProbeSocks(bool, bool from_client, std::span<const uint8_t> d) {
  if (!from_client) return false;
  ByteReader r(d);
  auto version = r.U8();
  auto second = r.U8();
  if (version == uint8_t{4}) return !second || *second == 1 || *second == 2;
  if (version != uint8_t{5}) return false;
  if (!second) return true;
  return *second >= 1 && *second <= kMaxSocksMethods && r.remaining() >= *second;
}

ParseState ParseSocks(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  ByteReader c(v.client);
  ByteReader s(v.server);
  auto version = c.U8();
  if (!version) return ParseState::kNeedMore;
  const auto confirm = [&](std::string_view name) {
    record->protocol = AppProtocol::kSocks;
    record->net->socks_version = std::string(name);
  };
  if (*version == 4) {
    auto cmd = c.U8();
    auto port = c.U16();
    auto ip = c.Bytes(4);
    if (!ip) return ParseState::kNeedMore;
    if (*cmd != 1 && *cmd != 2) return ParseState::kNotMine;
    // The user id (not kept), then for 4a (0.0.0.x) the host name.
    if (!c.BytesUntil(0)) return c.remaining() > 255 ? ParseState::kNotMine : ParseState::kNeedMore;
    std::string target;
    const bool v4a = (*ip)[0] == 0 && (*ip)[1] == 0 && (*ip)[2] == 0 && (*ip)[3] != 0;
    if (v4a) {
      auto host = c.BytesUntil(0);
      if (!host) return c.remaining() > 255 ? ParseState::kNotMine : ParseState::kNeedMore;
      target = Printable(*host, kMaxSocksHostKept);
    } else {
      target = Ipv4Text(*ip);
    }
    // The server's reply: VN 0, CD 90-93.
    auto vn = s.U8();
    auto cd = s.U8();
    if (!cd) return ParseState::kNeedMore;
    if (vn != uint8_t{0} || *cd < 0x5a || *cd > 0x5d) return ParseState::kNotMine;
    confirm(v4a ? "4a" : "4");
    record->net->socks_target = SocksTarget(target, *port);
    return ParseState::kDone;
  }
  if (*version != 5) return ParseState::kNotMine;
  auto methods = c.PrefixedU8();
  if (!methods) return ParseState::kNeedMore;
  if (methods->empty() || methods->remaining() > kMaxSocksMethods) return ParseState::kNotMine;
  // The server's choice: one of the offered methods, or 0xff.
  auto server_version = s.U8();
  auto method = s.U8();
  if (!method) return ParseState::kNeedMore;
  const auto offered = methods->rest();
  if (server_version != uint8_t{5} ||
      (*method != 0xff && std::find(offered.begin(), offered.end(), *method) == offered.end())) {
    return ParseState::kNotMine;
  }
  confirm("5");
  if (*method == 0x02) {
    // RFC 1929: VER 1, user name, password: skipped, never kept.
    auto sub = c.U8();
    auto user = sub ? c.PrefixedU8() : std::nullopt;
    auto password = user ? c.PrefixedU8() : std::nullopt;
    if (!password) return ParseState::kNeedMore;
  } else if (*method != 0x00) {
    return ParseState::kDone;  // GSSAPI or refused: no request in clear.
  }
  auto request_version = c.U8();
  auto cmd = c.U8();
  auto reserved = c.U8();
  auto atyp = c.U8();
  if (!atyp) return ParseState::kNeedMore;
  if (request_version != uint8_t{5} || !cmd || !reserved) return ParseState::kDone;
  std::string host;
  if (*atyp == 1) {
    auto a = c.Bytes(4);
    if (!a) return ParseState::kNeedMore;
    host = Ipv4Text(*a);
  } else if (*atyp == 3) {
    auto name = c.PrefixedU8();
    if (!name) return ParseState::kNeedMore;
    host = Printable(name->rest(), kMaxSocksHostKept);
  } else if (*atyp == 4) {
    auto a = c.Bytes(16);
    if (!a) return ParseState::kNeedMore;
    host = Ipv6Text(*a);
  } else {
    CountAnomaly(anomalies, text_services_anomaly::kSocksBadAddressType);
    return ParseState::kDone;
  }
  auto port = c.U16();
  if (!port) return ParseState::kNeedMore;
  record->net->socks_target = SocksTarget(std::move(host), *port);
  return ParseState::kDone;
}

// --- HTTP/2 with prior knowledge (RFC 9113 §3.4) -----------------------------
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

bool ProbeHttp2(bool, bool from_client, std::span<const uint8_t> d) {
  return from_client && CouldStartWith(d, kHttp2Preface);
}

ParseState ParseHttp2(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  if (!v.from_client) {
    return record->protocol == AppProtocol::kHttp2 ? ParseState::kDone : ParseState::kNeedMore;
  }
  if (!CouldStartWith(v.client, kHttp2Preface)) return ParseState::kNotMine;
  if (v.client.size() < kHttp2Preface.size()) return ParseState::kNeedMore;
  record->protocol = AppProtocol::kHttp2;
  return ParseState::kDone;
}

// First bytes (Dissector::MayStartWith), either side.
bool OneOf(uint8_t b, std::string_view set) {
  return std::find(set.begin(), set.end(), static_cast<char>(b)) != set.end();
}
bool SipFirst(bool, uint8_t b) { return OneOf(b, "IROABCSNMPU"); }
bool RtspFirst(bool, uint8_t b) { return OneOf(b, "ODSPTGAR"); }
bool IrcFirst(bool, uint8_t b) { return OneOf(b, "PNUC:"); }
bool NntpFirst(bool, uint8_t b) { return b == '2'; }
bool RsyncFirst(bool, uint8_t b) { return b == '@'; }
bool GitFirst(bool, uint8_t b) { return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f'); }
bool SocksFirst(bool, uint8_t b) { return b == 4 || b == 5; }
bool Http2First(bool, uint8_t b) { return b == 'P'; }

constexpr PrefixProtocol kSip{"sip", true, true, ProbeSip, ParseSip, {5060, 5061}, 1536, SipFirst};
constexpr PrefixProtocol kRtsp{"rtsp",    true,        false, ProbeRtsp,
                               ParseRtsp, {554, 8554}, 1100,  RtspFirst};
constexpr PrefixProtocol kIrc{"irc", true, false, ProbeIrc, ParseIrc, {6667, 6697}, 600, IrcFirst};
constexpr PrefixProtocol kNntp{"nntp",    true,       false, ProbeNntp,
                               ParseNntp, {119, 433}, 600,   NntpFirst};
constexpr PrefixProtocol kRsync{"rsync",    true,  false, ProbeRsync,
                                ParseRsync, {873}, 80,    RsyncFirst};
constexpr PrefixProtocol kGit{"git", true, false, ProbeGit, ParseGit, {9418}, 64, GitFirst};
constexpr PrefixProtocol kSocks{"socks",    true,   false, ProbeSocks,
                                ParseSocks, {1080}, 1024,  SocksFirst};
constexpr PrefixProtocol kHttp2{"http2",    true,       false, ProbeHttp2,
                                ParseHttp2, {80, 8080}, 32,    Http2First};

}  // namespace

std::unique_ptr<Dissector> MakeSipDissector() { return MakePrefixDissector(kSip); }
std::unique_ptr<Dissector> MakeRtspDissector() { return MakePrefixDissector(kRtsp); }
std::unique_ptr<Dissector> MakeIrcDissector() { return MakePrefixDissector(kIrc); }
std::unique_ptr<Dissector> MakeNntpDissector() { return MakePrefixDissector(kNntp); }
std::unique_ptr<Dissector> MakeRsyncDissector() { return MakePrefixDissector(kRsync); }
std::unique_ptr<Dissector> MakeGitDissector() { return MakePrefixDissector(kGit); }
std::unique_ptr<Dissector> MakeSocksDissector() { return MakePrefixDissector(kSocks); }
std::unique_ptr<Dissector> MakeHttp2Dissector() { return MakePrefixDissector(kHttp2); }

}  // namespace rustnet
