// Text formatting for rustnet-tui: rates, sizes, durations, endpoints,
// enum names, and the safe handling of text that came off the wire.
//
// Pure functions, no ncurses and no global state: the view model and the
// unit tests call them directly.
//
// Text from the daemon (host names, SNI, HTTP headers, banners) is
// attacker-controlled: a packet can carry escape sequences. Everything shown
// goes through SanitizeText first, which replaces control characters and
// invalid UTF-8 so nothing can reach the terminal as a command.
#ifndef RUSTNET_CLIENT_FORMAT_H_
#define RUSTNET_CLIENT_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rustnet/v1/connection.pb.h"

namespace rustnet::client {

// absl::StrCat that also takes std::string_view (Debian's Abseil has its own
// absl::string_view, distinct from std::string_view).
inline void AppendPiece(std::string* out, std::string_view s) { out->append(s); }
inline void AppendPiece(std::string* out, const char* s) { out->append(s); }
inline void AppendPiece(std::string* out, const std::string& s) { out->append(s); }
template <typename N>
requires(std::is_arithmetic_v<N> && !std::is_same_v<N, char> &&
         !std::is_same_v<N, bool>) void AppendPiece(std::string* out, N n) {
  out->append(absl::StrCat(n));
}
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (AppendPiece(&out, args), ...);
  return out;
}

// Glyphs that have an ASCII fallback when the terminal is not UTF-8.
struct Glyphs {
  bool unicode = true;
  std::string_view Ellipsis() const { return unicode ? "\u2026" : "~"; }
  std::string_view Dash() const { return unicode ? "\u2014" : "-"; }  // "no value"
  std::string_view Dot() const { return unicode ? "\u00b7" : "-"; }   // separator
  std::string_view Up() const { return unicode ? "\u2191" : "^"; }
  std::string_view Down() const { return unicode ? "\u2193" : "v"; }
  // After a process's pid: the process has exited. A dagger (U+2020, one
  // column, in SanitizeText's safe set); the word without UTF-8.
  std::string_view Exited() const { return unicode ? "\u2020" : "exited"; }
};

// "0 B/s", "512 B/s", "1.50 KB/s", "12.3 MB/s", "123 GB/s": at most 9
// characters; units are powers of 1024. Negative or NaN input prints "0 B/s".
std::string FormatRate(double bytes_per_second);
// "0 B", "512 B", "1.50 KB", "12.3 MB" (same scale as FormatRate).
std::string FormatBytes(uint64_t bytes);
// "1,234,567".
std::string FormatCount(uint64_t n);
// Coarse, for ages and uptimes: "0s", "59s", "3m05s", "2h03m", "4d02h".
// Negative input prints "0s".
std::string FormatDuration(int64_t micros);
// Fine, for round-trip times: "61 µs" ("61 us" without unicode), "1.23 ms",
// "1.50 s".
std::string FormatRtt(int64_t micros, const Glyphs& glyphs);
// Local time of day with milliseconds: "2023-11-14 22:13:20.123".
std::string FormatTimestamp(const google::protobuf::Timestamp& t);
int64_t ToMicros(const google::protobuf::Timestamp& t);
int64_t ToMicros(const google::protobuf::Duration& d);

// "1.2.3.4:443", "[2001:db8::1]:443", or the bare address when the port is 0
// (ICMP, ARP).
std::string FormatEndpoint(const rustnet::v1::Endpoint& e);
// A host name with the endpoint's port: "example.com:443".
std::string FormatNamedEndpoint(std::string_view name, uint32_t port);

// "TCP", "UDP", "ICMP", "ICMP6", "ARP", "?".
std::string_view ProtocolName(rustnet::v1::Protocol p);
// Lower-case filter spelling: "tcp", ..., "icmpv6".
std::string_view ProtocolFilterName(rustnet::v1::Protocol p);
// netstat-like names at most 11 characters: "ESTABLISHED", "SYN_SENT",
// "SYN_RECV", "FIN_WAIT1", "TIME_WAIT", "UNREPLIED", "ACTIVE", ...
std::string_view StateName(rustnet::v1::ConnectionState s);
// "outbound", "inbound", "unknown".
std::string_view DirectionName(rustnet::v1::Direction d);
// "HTTP", "TLS", "DNS", ...; empty for unspecified.
std::string_view AppProtocolName(rustnet::v1::AppProtocol p);
// "SYN ACK PSH FIN"; "none" for 0.
std::string TcpFlagsText(uint32_t flags);
// "echo request", "destination unreachable", ... by type (v4 or v6); empty
// when the type is not a common one.
std::string_view IcmpTypeName(bool v6, uint32_t type);

// --- Processes (ProcessInfo) ---------------------------------------------------
// Every string of a ProcessInfo comes from the daemon's host (a process can
// name itself anything, argv included) and is sanitized here.

// The Process column's text for one process, in three parts, so that a
// narrow column cuts the name and keeps the pid and the markers (see
// FitAffixed):
//   "firefox (1234)"; exited: "firefox (1234) \u2020" ("... exited" without
//   UTF-8); no name: "pid 1234"; pid 0 (only the socket's owner is known):
//   "user jane" ("uid 1000" when the user has no name). `peer`: the process
//   is the remote end's (loopback), shown when the local one is unknown:
//   prefixed "peer ".
struct ProcessCell {
  std::string prefix;
  std::string name;
  std::string suffix;
  std::string Text() const { return Cat(prefix, name, suffix); }
};
ProcessCell MakeProcessCell(const rustnet::v1::ProcessInfo& p, bool peer, const Glyphs& glyphs);
// Exactly `width` columns: `body` is cut at its end so `prefix` and `suffix`
// stay whole; when that would leave the body fewer than 4 columns (or all of
// it, if shorter), the whole text is cut at its end instead (FitEnd).
std::string FitAffixed(std::string_view prefix, std::string_view body, std::string_view suffix,
                       size_t width, const Glyphs& glyphs);

// argv as a shell would take it back: arguments joined by spaces, those
// with spaces, quotes or shell specials (or empty) in single quotes.
// Sanitized, and cut (with an ellipsis) after `max_width` columns.
inline constexpr size_t kMaxCommandLineWidth = 512;
std::string FormatCommandLine(const rustnet::v1::ProcessInfo& p, const Glyphs& glyphs,
                              size_t max_width = kMaxCommandLineWidth);
// "docker 0123456789ab": the runtime and the id's first 12 characters (as
// `docker ps` shows it); empty when neither is known.
std::string FormatContainer(const rustnet::v1::ProcessInfo& p, const Glyphs& glyphs);
// "own socket", "listening socket (not yet accepted)", "bound socket";
// empty when unspecified (or a value newer than this client).
std::string_view AttributionMethodName(rustnet::v1::AttributionMethod m);

// Replaces C0/C1 control characters, DEL and invalid UTF-8 by '?'. Without
// unicode every non-ASCII character becomes '?' (a middle dot becomes '-').
std::string SanitizeText(std::string_view text, bool unicode);
// Terminal columns the (sanitized) UTF-8 text takes: one per code point.
size_t DisplayWidth(std::string_view utf8);
// Exactly `width` columns: padded with spaces, or cut. FitEnd keeps the
// start and cuts the end ("verylongna…"); FitStart keeps the end and cuts
// the start ("…ample.com:443", for host names and addresses, whose end is
// the informative part). Right-aligned when `right` is set.
std::string FitEnd(std::string_view text, size_t width, const Glyphs& glyphs, bool right = false);
std::string FitStart(std::string_view text, size_t width, const Glyphs& glyphs, bool right = false);

// Splits text into lines of at most `width` columns at spaces; words longer
// than a line are cut. Always at least one line.
std::vector<std::string> WrapText(std::string_view text, size_t width);

// RFC 4648 base64 with padding.
std::string Base64Encode(std::string_view data);
// The OSC 52 "set clipboard" sequence: ESC ] 52 ; c ; <base64> BEL.
std::string Osc52(std::string_view text);

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_FORMAT_H_
