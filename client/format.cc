#include "client/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

// printf into a std::string; every format here is a literal.
template <typename... Args>
std::string Printf(const char* format, Args... args) {
  char buffer[64];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  const int n = std::snprintf(buffer, sizeof(buffer), format, args...);
#pragma GCC diagnostic pop
  if (n < 0) return {};
  return std::string(buffer, std::min(static_cast<size_t>(n), sizeof(buffer) - 1));
}

// Scales `value` by 1024 until it is below 1024 and prints it with three
// significant digits: "1.50 KB", "12.3 MB", "123 GB".
std::string Scaled(double value, const char* const* units, size_t unit_count) {
  if (!(value > 0)) value = 0;  // Also NaN.
  if (value < 1023.5) return Cat(static_cast<uint64_t>(std::llround(value)), " ", units[0]);
  size_t unit = 0;
  while (value >= 1023.5 && unit + 1 < unit_count) {
    value /= 1024.0;
    ++unit;
  }
  const char* format = value < 9.995 ? "%.2f %s" : value < 99.95 ? "%.1f %s" : "%.0f %s";
  return Printf(format, value, units[unit]);
}

// Decodes one UTF-8 sequence at text[i]; returns the code point and sets
// `length`, or returns -1 (length 1) for an invalid sequence (overlong,
// surrogate, past U+10FFFF, truncated).
int32_t DecodeUtf8(std::string_view text, size_t i, size_t* length) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  *length = 1;
  if (lead < 0x80) return lead;
  size_t need = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if ((lead & 0xE0) == 0xC0) {
    need = 1;
    cp = lead & 0x1F;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    need = 2;
    cp = lead & 0x0F;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    need = 3;
    cp = lead & 0x07;
    min = 0x10000;
  } else {
    return -1;
  }
  if (i + need >= text.size()) return -1;  // Truncated.
  for (size_t k = 1; k <= need; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *length = need + 1;
  return cp;
}

// Code points shown as they are: each takes exactly one terminal column,
// and none can reorder or hide text (no combining marks, bidi controls,
// zero-width characters, wide CJK or emoji).
bool SafeCodePoint(int32_t cp) {
  if (cp >= 0x20 && cp < 0x7F) return true;
  if (cp >= 0xA0 && cp < 0x0300) return true;     // Latin-1 supplement, extended Latin.
  if (cp >= 0x0370 && cp < 0x0530) return true;   // Greek, Cyrillic.
  if (cp >= 0x2010 && cp <= 0x2027) return true;  // Dashes, quotes, bullet, ellipsis.
  if (cp >= 0x2030 && cp <= 0x205E) return true;
  if (cp >= 0x2190 && cp <= 0x21FF) return true;  // Arrows.
  if (cp >= 0x2500 && cp <= 0x257F) return true;  // Box drawing.
  return false;
}

// Byte offset after the first `n` code points of (valid) UTF-8 text.
size_t PrefixBytes(std::string_view text, size_t n) {
  size_t i = 0;
  while (i < text.size() && n > 0) {
    ++i;
    while (i < text.size() && (static_cast<uint8_t>(text[i]) & 0xC0) == 0x80) ++i;
    --n;
  }
  return i;
}

std::string Pad(std::string_view text, size_t text_width, size_t width, bool right) {
  const std::string spaces(width > text_width ? width - text_width : 0, ' ');
  return right ? Cat(spaces, text) : Cat(text, spaces);
}

}  // namespace

std::string FormatRate(double bytes_per_second) {
  static constexpr const char* kUnits[] = {"B/s", "KB/s", "MB/s", "GB/s", "TB/s"};
  return Scaled(bytes_per_second, kUnits, std::size(kUnits));
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  return Scaled(static_cast<double>(bytes), kUnits, std::size(kUnits));
}

std::string FormatCount(uint64_t n) {
  std::string digits = Cat(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatDuration(int64_t micros) {
  const int64_t s = micros > 0 ? micros / 1'000'000 : 0;
  if (s < 60) return Cat(s, "s");
  if (s < 3600)
    return Printf("%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  if (s < 86400) {
    return Printf("%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  }
  return Printf("%lldd%02lldh", static_cast<long long>(s / 86400),
                static_cast<long long>(s % 86400 / 3600));
}

std::string FormatRtt(int64_t micros, const Glyphs& glyphs) {
  if (micros < 0) micros = 0;
  if (micros < 1000) return Cat(micros, glyphs.unicode ? " \u00b5s" : " us");
  const double ms = static_cast<double>(micros) / 1000.0;
  if (ms < 9.995) return Printf("%.2f ms", ms);
  if (ms < 99.95) return Printf("%.1f ms", ms);
  if (ms < 999.5) return Printf("%.0f ms", ms);
  return Printf("%.2f s", ms / 1000.0);
}

int64_t ToMicros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000 + t.nanos() / 1000;
}

int64_t ToMicros(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000 + d.nanos() / 1000;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  const std::time_t seconds = static_cast<std::time_t>(t.seconds());
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
  return Printf("%s.%03d", stamp, t.nanos() / 1'000'000);
}

std::string FormatEndpoint(const v1::Endpoint& e) {
  const bool v6 = e.address().find(':') != std::string::npos;
  if (e.port() == 0) return e.address();
  return v6 ? Cat("[", e.address(), "]:", e.port()) : Cat(e.address(), ":", e.port());
}

std::string FormatNamedEndpoint(std::string_view name, uint32_t port) {
  if (port == 0) return std::string(name);
  return Cat(std::string(name), ":", port);
}

std::string_view ProtocolName(v1::Protocol p) {
  switch (p) {
    case v1::PROTOCOL_TCP: return "TCP";
    case v1::PROTOCOL_UDP: return "UDP";
    case v1::PROTOCOL_ICMP: return "ICMP";
    case v1::PROTOCOL_ICMPV6: return "ICMP6";
    case v1::PROTOCOL_ARP: return "ARP";
    default: return "?";
  }
}

std::string_view ProtocolFilterName(v1::Protocol p) {
  switch (p) {
    case v1::PROTOCOL_TCP: return "tcp";
    case v1::PROTOCOL_UDP: return "udp";
    case v1::PROTOCOL_ICMP: return "icmp";
    case v1::PROTOCOL_ICMPV6: return "icmpv6";
    case v1::PROTOCOL_ARP: return "arp";
    default: return "";
  }
}

std::string_view StateName(v1::ConnectionState s) {
  switch (s) {
    case v1::CONNECTION_STATE_SYN_SENT: return "SYN_SENT";
    case v1::CONNECTION_STATE_SYN_RECEIVED: return "SYN_RECV";
    case v1::CONNECTION_STATE_ESTABLISHED: return "ESTABLISHED";
    case v1::CONNECTION_STATE_FIN_WAIT_1: return "FIN_WAIT1";
    case v1::CONNECTION_STATE_FIN_WAIT_2: return "FIN_WAIT2";
    case v1::CONNECTION_STATE_CLOSE_WAIT: return "CLOSE_WAIT";
    case v1::CONNECTION_STATE_CLOSING: return "CLOSING";
    case v1::CONNECTION_STATE_LAST_ACK: return "LAST_ACK";
    case v1::CONNECTION_STATE_TIME_WAIT: return "TIME_WAIT";
    case v1::CONNECTION_STATE_CLOSED: return "CLOSED";
    case v1::CONNECTION_STATE_UNREPLIED: return "UNREPLIED";
    case v1::CONNECTION_STATE_ACTIVE: return "ACTIVE";
    default: return "?";
  }
}

std::string_view DirectionName(v1::Direction d) {
  switch (d) {
    case v1::DIRECTION_OUTBOUND: return "outbound";
    case v1::DIRECTION_INBOUND: return "inbound";
    default: return "unknown";
  }
}

std::string_view AppProtocolName(v1::AppProtocol p) {
  switch (p) {
    case v1::APP_PROTOCOL_HTTP: return "HTTP";
    case v1::APP_PROTOCOL_TLS: return "TLS";
    case v1::APP_PROTOCOL_DNS: return "DNS";
    case v1::APP_PROTOCOL_SSH: return "SSH";
    case v1::APP_PROTOCOL_QUIC: return "QUIC";
    case v1::APP_PROTOCOL_NTP: return "NTP";
    case v1::APP_PROTOCOL_MDNS: return "mDNS";
    case v1::APP_PROTOCOL_DHCP: return "DHCP";
    case v1::APP_PROTOCOL_STUN: return "STUN";
    case v1::APP_PROTOCOL_SMTP: return "SMTP";
    case v1::APP_PROTOCOL_IMAP: return "IMAP";
    case v1::APP_PROTOCOL_POP3: return "POP3";
    case v1::APP_PROTOCOL_SMTPS: return "SMTPS";
    case v1::APP_PROTOCOL_IMAPS: return "IMAPS";
    case v1::APP_PROTOCOL_POPS: return "POP3S";
    case v1::APP_PROTOCOL_FTP: return "FTP";
    case v1::APP_PROTOCOL_FTP_DATA: return "FTP-DATA";
    case v1::APP_PROTOCOL_POSTGRESQL: return "PostgreSQL";
    case v1::APP_PROTOCOL_MYSQL: return "MySQL";
    case v1::APP_PROTOCOL_REDIS: return "Redis";
    case v1::APP_PROTOCOL_MEMCACHED: return "Memcached";
    case v1::APP_PROTOCOL_MONGODB: return "MongoDB";
    case v1::APP_PROTOCOL_RDP: return "RDP";
    case v1::APP_PROTOCOL_VNC: return "VNC";
    case v1::APP_PROTOCOL_TELNET: return "Telnet";
    case v1::APP_PROTOCOL_SMB: return "SMB";
    case v1::APP_PROTOCOL_NETBIOS_NS: return "NetBIOS-NS";
    case v1::APP_PROTOCOL_NETBIOS_SESSION: return "NetBIOS-SSN";
    case v1::APP_PROTOCOL_LLMNR: return "LLMNR";
    case v1::APP_PROTOCOL_SSDP: return "SSDP";
    case v1::APP_PROTOCOL_KERBEROS: return "Kerberos";
    case v1::APP_PROTOCOL_MQTT: return "MQTT";
    case v1::APP_PROTOCOL_AMQP: return "AMQP";
    case v1::APP_PROTOCOL_NATS: return "NATS";
    case v1::APP_PROTOCOL_MODBUS: return "Modbus";
    case v1::APP_PROTOCOL_COAP: return "CoAP";
    case v1::APP_PROTOCOL_BITTORRENT: return "BitTorrent";
    case v1::APP_PROTOCOL_OPENVPN: return "OpenVPN";
    case v1::APP_PROTOCOL_WIREGUARD: return "WireGuard";
    case v1::APP_PROTOCOL_IKE: return "IKE";
    case v1::APP_PROTOCOL_SIP: return "SIP";
    case v1::APP_PROTOCOL_RTSP: return "RTSP";
    case v1::APP_PROTOCOL_SYSLOG: return "Syslog";
    case v1::APP_PROTOCOL_TFTP: return "TFTP";
    case v1::APP_PROTOCOL_SNMP: return "SNMP";
    case v1::APP_PROTOCOL_LDAP: return "LDAP";
    case v1::APP_PROTOCOL_IRC: return "IRC";
    case v1::APP_PROTOCOL_NNTP: return "NNTP";
    case v1::APP_PROTOCOL_RSYNC: return "rsync";
    case v1::APP_PROTOCOL_GIT: return "Git";
    case v1::APP_PROTOCOL_SOCKS: return "SOCKS";
    case v1::APP_PROTOCOL_DTLS: return "DTLS";
    case v1::APP_PROTOCOL_HTTP2: return "HTTP/2";
    default: return "";
  }
}

std::string TcpFlagsText(uint32_t flags) {
  static constexpr std::pair<uint32_t, const char*> kFlags[] = {
      {0x02, "SYN"}, {0x10, "ACK"}, {0x08, "PSH"}, {0x01, "FIN"},
      {0x04, "RST"}, {0x20, "URG"}, {0x40, "ECE"}, {0x80, "CWR"}};
  std::string out;
  for (const auto& [bit, name] : kFlags) {
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "none" : out;
}

std::string_view IcmpTypeName(bool v6, uint32_t type) {
  if (!v6) {
    switch (type) {
      case 0: return "echo reply";
      case 3: return "destination unreachable";
      case 5: return "redirect";
      case 8: return "echo request";
      case 11: return "time exceeded";
      case 12: return "parameter problem";
      default: return "";
    }
  }
  switch (type) {
    case 1: return "destination unreachable";
    case 2: return "packet too big";
    case 3: return "time exceeded";
    case 4: return "parameter problem";
    case 128: return "echo request";
    case 129: return "echo reply";
    case 133: return "router solicitation";
    case 134: return "router advertisement";
    case 135: return "neighbor solicitation";
    case 136: return "neighbor advertisement";
    default: return "";
  }
}

ProcessCell MakeProcessCell(const v1::ProcessInfo& p, bool peer, const Glyphs& glyphs) {
  // The column is at most 30 wide: only so much of a name is worth cleaning.
  constexpr size_t kMaxNameBytes = 256;
  ProcessCell cell;
  if (peer) cell.prefix = "peer ";
  const std::string exited = p.exited() ? Cat(" ", glyphs.Exited()) : std::string();
  if (p.pid() == 0) {
    if (p.user().empty()) {
      cell.prefix += "uid ";
      cell.name = Cat(p.uid());
    } else {
      cell.prefix += "user ";
      cell.name = SanitizeText(p.user().substr(0, kMaxNameBytes), glyphs.unicode);
    }
    cell.suffix = exited;
  } else if (p.name().empty()) {
    cell.prefix += "pid ";
    cell.name = Cat(p.pid());
    cell.suffix = exited;
  } else {
    cell.name = SanitizeText(p.name().substr(0, kMaxNameBytes), glyphs.unicode);
    cell.suffix = Cat(" (", p.pid(), ")", exited);
  }
  return cell;
}

std::string FitAffixed(std::string_view prefix, std::string_view body, std::string_view suffix,
                       size_t width, const Glyphs& glyphs) {
  constexpr size_t kMinBody = 4;
  const size_t affixes = DisplayWidth(prefix) + DisplayWidth(suffix);
  const size_t body_width = DisplayWidth(body);
  const bool fits = affixes + body_width <= width;
  const bool body_room = affixes < width && width - affixes >= std::min(kMinBody, body_width);
  if (fits || !body_room) return FitEnd(Cat(prefix, body, suffix), width, glyphs);
  return Cat(prefix, FitEnd(body, width - affixes, glyphs), suffix);
}

std::string FormatCommandLine(const v1::ProcessInfo& p, const Glyphs& glyphs, size_t max_width) {
  // POSIX shell quoting: inside single quotes everything is literal but the
  // single quote itself, written '\''.
  const auto needs_quotes = [](const std::string& arg) {
    return arg.empty() || arg.find_first_of(" \t\n'\"\\$`!*?[]{}()<>|&;#~") != std::string::npos;
  };
  std::string out;
  for (const std::string& arg : p.command_line()) {
    if (!out.empty()) out += ' ';
    if (needs_quotes(arg)) {
      out += '\'';
      for (char ch : arg) {
        if (ch == '\'') {
          out += "'\\''";
        } else {
          out += ch;
        }
      }
      out += '\'';
    } else {
      out += arg;
    }
    if (out.size() > 4 * max_width) break;  // Enough bytes for max_width columns.
  }
  std::string clean = SanitizeText(out, glyphs.unicode);
  if (DisplayWidth(clean) > max_width) clean = FitEnd(clean, max_width, glyphs);
  return clean;
}

std::string FormatContainer(const v1::ProcessInfo& p, const Glyphs& glyphs) {
  constexpr size_t kShortId = 12;
  std::string runtime = SanitizeText(p.container_runtime(), glyphs.unicode);
  std::string id = SanitizeText(p.container_id().substr(0, kShortId), glyphs.unicode);
  if (runtime.empty()) return id;
  if (id.empty()) return runtime;
  return Cat(runtime, " ", id);
}

std::string_view AttributionMethodName(v1::AttributionMethod m) {
  switch (m) {
    case v1::ATTRIBUTION_METHOD_SOCKET: return "own socket";
    case v1::ATTRIBUTION_METHOD_LISTENER: return "listening socket (not yet accepted)";
    case v1::ATTRIBUTION_METHOD_BOUND: return "bound socket";
    default: return "";
  }
}

std::string SanitizeText(std::string_view text, bool unicode) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t length = 1;
    const int32_t cp = DecodeUtf8(text, i, &length);
    if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp >= 0x80 && SafeCodePoint(cp)) {
      if (unicode) {
        out.append(text.substr(i, length));
      } else {
        out += cp == 0xB7 ? '-' : cp == 0x2026 ? '~' : '?';
      }
    } else {
      out += '?';
    }
    i += length;
  }
  return out;
}

size_t DisplayWidth(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) {
    if ((static_cast<uint8_t>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string FitEnd(std::string_view text, size_t width, const Glyphs& glyphs, bool right) {
  const size_t w = DisplayWidth(text);
  if (w <= width) return Pad(text, w, width, right);
  if (width == 0) return {};
  return Cat(text.substr(0, PrefixBytes(text, width - 1)), glyphs.Ellipsis());
}

std::string FitStart(std::string_view text, size_t width, const Glyphs& glyphs, bool right) {
  const size_t w = DisplayWidth(text);
  if (w <= width) return Pad(text, w, width, right);
  if (width == 0) return {};
  return Cat(glyphs.Ellipsis(), text.substr(PrefixBytes(text, w - (width - 1))));
}

std::vector<std::string> WrapText(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  if (width == 0) width = 1;
  std::string line;
  size_t line_width = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(i, end - i);
    i = end;
    size_t word_width = DisplayWidth(word);
    if (line_width > 0 && line_width + 1 + word_width > width) {
      lines.push_back(std::move(line));
      line.clear();
      line_width = 0;
    }
    while (word_width > width) {  // Longer than a line (which is empty here): cut it.
      const size_t cut = PrefixBytes(word, width);
      lines.emplace_back(word.substr(0, cut));
      word = word.substr(cut);
      word_width = DisplayWidth(word);
    }
    if (line_width > 0) {
      line += ' ';
      ++line_width;
    }
    line.append(word);
    line_width += word_width;
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string Base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const uint32_t v = at(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string Osc52(std::string_view text) { return Cat("\033]52;c;", Base64Encode(text), "\a"); }

}  // namespace rustnet::client
