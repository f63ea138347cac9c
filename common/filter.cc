#include "common/filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace rustnet {
namespace {

struct KeyName {
  std::string_view name;
  FilterKey key;
};

// Aliases map to the same key; the first spelling is the one documented.
// The original rustnet's keys mean the same there: its "source" is the
// local end and its "destination" the remote one (src: matches
// local_addr, dport: remote_addr's port), whoever opened the connection.
constexpr KeyName kKeys[] = {
    {"proto", FilterKey::kProto},     {"protocol", FilterKey::kProto},
    {"ip", FilterKey::kIp},           {"port", FilterKey::kPort},
    {"lport", FilterKey::kLocalPort}, {"rport", FilterKey::kRemotePort},
    {"addr", FilterKey::kAddr},       {"laddr", FilterKey::kLocalAddr},
    {"raddr", FilterKey::kRemoteAddr}, {"state", FilterKey::kState},
    {"dir", FilterKey::kDir},         {"service", FilterKey::kService},
    {"app", FilterKey::kApp},         {"sni", FilterKey::kSni},
    {"host", FilterKey::kHost},       {"process", FilterKey::kProcess},
    {"pid", FilterKey::kPid},         {"user", FilterKey::kUser},
    {"iface", FilterKey::kIface},     {"country", FilterKey::kCountry},
    {"asn", FilterKey::kAsn},         {"org", FilterKey::kOrg},
    {"pod", FilterKey::kPod},         {"namespace", FilterKey::kNamespace},
    {"ns", FilterKey::kNamespace},    {"container", FilterKey::kContainer},
    // The original rustnet's spellings.
    {"sport", FilterKey::kLocalPort}, {"srcport", FilterKey::kLocalPort},
    {"source-port", FilterKey::kLocalPort},
    {"dport", FilterKey::kRemotePort}, {"dstport", FilterKey::kRemotePort},
    {"dest-port", FilterKey::kRemotePort}, {"destination-port", FilterKey::kRemotePort},
    {"src", FilterKey::kLocalAddr},   {"source", FilterKey::kLocalAddr},
    {"dst", FilterKey::kRemoteAddr},  {"dest", FilterKey::kRemoteAddr},
    {"destination", FilterKey::kRemoteAddr},
    {"proc", FilterKey::kProcess},    {"svc", FilterKey::kService},
    {"hostname", FilterKey::kHost},   {"application", FilterKey::kApp},
};

const KeyName* FindKey(std::string_view lowered) {
  const auto* found = std::find_if(std::begin(kKeys), std::end(kKeys),
                                   [lowered](const KeyName& k) { return k.name == lowered; });
  return found == std::end(kKeys) ? nullptr : found;
}

// The original rustnet's state names (lowercased, '-' as '_') and what they
// are here. Some say more than a state: "udp_active" is a UDP flow with
// packets both ways. Those with no counterpart (states derived from idle
// time, QUIC and SSH handshake steps) are refused with what to use instead.
struct StateAlias {
  std::string_view name;
  std::string_view state;  // Ours; empty: refused with `hint`.
  std::string_view proto;  // Protocol prefix it implies ("icmp": v4 and v6).
  std::string_view app;    // Application it implies.
  std::string_view hint;
};

constexpr std::string_view kIdleHint =
    "is the original rustnet's idle-time state, which rustnetd does not track; use "
    "proto:udp with state:active or state:unreplied";
constexpr std::string_view kQuicHint =
    "is a QUIC handshake step, which rustnetd does not track; use app:quic with "
    "state:active or state:unreplied";
constexpr std::string_view kSshHint =
    "is an SSH handshake step, which rustnetd does not track; use app:ssh";

constexpr StateAlias kStateAliases[] = {
    {"syn_recv", "syn_received", "", "", ""},
    {"fin_wait1", "fin_wait_1", "", "", ""},
    {"fin_wait2", "fin_wait_2", "", "", ""},
    {"udp_active", "active", "udp", "", ""},
    {"udp_idle", "", "", "", kIdleHint},
    {"udp_stale", "", "", "", kIdleHint},
    {"dns_query", "unreplied", "", "dns", ""},
    {"dns_response", "active", "", "dns", ""},
    {"echo_request", "unreplied", "icmp", "", ""},
    {"echo_reply", "active", "icmp", "", ""},
    {"arp_request", "unreplied", "arp", "", ""},
    {"arp_reply", "active", "arp", "", ""},
    {"quic_initial", "unreplied", "", "quic", ""},
    {"quic_connected", "active", "", "quic", ""},
    {"quic_handshake", "", "", "", kQuicHint},
    {"quic_draining", "", "", "", kQuicHint},
    {"quic_closed", "", "", "", kQuicHint},
    {"banner", "", "", "", kSshHint},
    {"keyexchange", "", "", "", kSshHint},
    {"authentication", "", "", "", kSshHint},
};

constexpr std::string_view kKeyList =
    "proto, ip, port, lport, rport, addr, laddr, raddr, state, dir, service, app, sni, host, "
    "process, pid, user, iface, country, asn, org, pod, namespace (ns), container";

absl::Status ErrorAt(size_t column, std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("column ", column, ": ", std::string(message)));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool ContainsFolded(std::string_view haystack, std::string_view lowered_needle) {
  if (lowered_needle.empty()) return true;
  if (haystack.size() < lowered_needle.size()) return false;
  for (size_t i = 0; i + lowered_needle.size() <= haystack.size(); ++i) {
    size_t j = 0;
    while (j < lowered_needle.size() &&
           absl::ascii_tolower(static_cast<unsigned char>(haystack[i + j])) ==
               lowered_needle[j]) {
      ++j;
    }
    if (j == lowered_needle.size()) return true;
  }
  return false;
}

std::optional<uint32_t> ParseNumber(std::string_view s, uint32_t max) {
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// "443" or "1000-2000".
absl::Status ParseRange(std::string_view value, uint32_t max, size_t column, FilterTerm* t) {
  const size_t dash = value.find('-');
  auto low = ParseNumber(value.substr(0, dash), max);
  auto high = dash == std::string_view::npos ? low : ParseNumber(value.substr(dash + 1), max);
  if (!low || !high || *low > *high) {
    return ErrorAt(column, absl::StrCat("'", std::string(value),
                                        "' is not a number or range N-M (0..", max, ")"));
  }
  t->low = *low;
  t->high = *high;
  return absl::OkStatus();
}

std::optional<IpAddress> ParseAddress(const std::string& text) {
  // inet_pton stops at a NUL; API strings may carry one.
  if (text.find('\0') != std::string::npos) return std::nullopt;
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return IpAddress::FromV4(buf);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return IpAddress::FromV6(buf);
  return std::nullopt;
}

// "10.0.0.0/8", "fd00::/8": a network; anything else is matched as text.
absl::Status ParseAddressValue(std::string_view value, size_t column, FilterTerm* t) {
  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) return absl::OkStatus();
  auto addr = ParseAddress(std::string(value.substr(0, slash)));
  if (!addr) {
    return ErrorAt(column, absl::StrCat("'", std::string(value), "' is not an address/prefix"));
  }
  // The notation decides the prefix length's scale: "10.0.0.0/8" is IPv4,
  // "::ffff:10.0.0.0/104" is IPv6 (over the mapped form).
  const bool v4_notation = value.substr(0, slash).find(':') == std::string_view::npos;
  const uint32_t max_bits = v4_notation ? 32 : 128;
  auto bits = ParseNumber(value.substr(slash + 1), max_bits);
  if (!bits) {
    return ErrorAt(column, absl::StrCat("prefix length in '", std::string(value),
                                        "' must be 0..", max_bits));
  }
  t->has_prefix = true;
  t->network = *addr;
  t->prefix_bits = static_cast<int>(*bits) + (v4_notation ? 96 : 0);
  return absl::OkStatus();
}

bool InNetwork(const IpAddress& a, const IpAddress& net, int bits) {
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const int take = std::min(bits, 8);
    const auto mask = static_cast<uint8_t>(0xff << (8 - take));
    if ((a.bytes[i] & mask) != (net.bytes[i] & mask)) return false;
  }
  return true;
}

// Lexes one token starting at `pos`: returns the raw token with quotes
// removed, and advances pos. A token is a run of non-space characters where
// double quotes group spaces in.
absl::StatusOr<std::string> NextToken(std::string_view text, size_t* pos) {
  std::string out;
  size_t i = *pos;
  while (i < text.size() && !absl::ascii_isspace(static_cast<unsigned char>(text[i]))) {
    if (text[i] == '"') {
      const size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        return ErrorAt(i + 1, "unterminated quote; close it with \"");
      }
      out.append(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      out.push_back(text[i]);
      ++i;
    }
  }
  *pos = i;
  return out;
}

// A `/pattern/` token: RE2, case-insensitive, bounded in size and memory.
absl::Status CompileRegex(std::string_view pattern, size_t column, FilterTerm* t) {
  if (pattern.size() > kMaxRegexBytes) {
    return ErrorAt(column, absl::StrCat("regular expression longer than ", kMaxRegexBytes,
                                        " bytes; shorten it"));
  }
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  options.set_max_mem(kRegexMemoryBytes);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return ErrorAt(column, absl::StrCat("bad regular expression /", std::string(pattern),
                                        "/: ", re->error()));
  }
  t->regex = std::move(re);
  return absl::OkStatus();
}

// Keys whose value is a choice or a number, not text.
bool TakesRegex(FilterKey key) {
  return key != FilterKey::kIp && key != FilterKey::kDir && key != FilterKey::kAsn &&
         key != FilterKey::kCountry;
}

bool EqualsFolded(std::string_view field, std::string_view lowered) {
  return field.size() == lowered.size() && ContainsFolded(field, lowered);
}

bool MatchText(std::string_view field, const FilterTerm& t) { return ContainsFolded(field, t.text); }

bool MatchAddr(const FilterSubject& s, int side, const FilterTerm& t) {
  const IpAddress& a = s.Address(side);
  if (t.has_prefix) return InNetwork(a, t.network, t.prefix_bits);
  return ContainsFolded(a.ToString(), t.text);
}

bool MatchWord(const FilterSubject& s, const FilterTerm& t) {
  for (std::string_view f : {s.Protocol(), s.State(), s.Service(), s.App(), s.Hosts(),
                             s.Process(), s.User(), s.Interface(), s.Direction()}) {
    if (MatchText(f, t)) return true;
  }
  for (int side = 0; side < 2; ++side) {
    std::string addr = s.Address(side).ToString();
    if (s.Port(side) != 0) absl::StrAppend(&addr, ":", s.Port(side));
    if (ContainsFolded(addr, t.text)) return true;
  }
  return false;
}

// Unknown (empty) fields match no pattern, as they match no text.
bool Re(const RE2& re, std::string_view field) {
  return !field.empty() && RE2::PartialMatch(re2::StringPiece(field.data(), field.size()), re);
}

// Fields that list several values joined by spaces (host names; process
// and user of both ends on loopback): the whole, or any one of them, so an
// anchored /^curl$/ finds "curl nginx" as it finds "curl".
bool ReList(const RE2& re, std::string_view field) {
  if (Re(re, field)) return true;
  if (field.find(' ') == std::string_view::npos) return false;
  size_t start = 0;
  while (start < field.size()) {
    size_t end = field.find(' ', start);
    if (end == std::string_view::npos) end = field.size();
    if (end > start && Re(re, field.substr(start, end - start))) return true;
    start = end + 1;
  }
  return false;
}

bool ReNumber(const RE2& re, uint32_t n) {
  if (n == 0) return false;  // No port, no pid.
  char buf[16];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  return ec == std::errc() && Re(re, std::string_view(buf, static_cast<size_t>(end - buf)));
}

bool MatchRegexTerm(const FilterSubject& s, const FilterTerm& t) {
  const RE2& re = *t.regex;
  switch (t.key) {
    case FilterKey::kWord: {
      for (std::string_view f : {s.Protocol(), s.State(), s.Service(), s.App(), s.Interface(),
                                 s.Direction()}) {
        if (Re(re, f)) return true;
      }
      for (std::string_view f : {s.Hosts(), s.Process(), s.User()}) {
        if (ReList(re, f)) return true;
      }
      for (int side = 0; side < 2; ++side) {
        std::string addr = s.Address(side).ToString();
        if (s.Port(side) != 0) absl::StrAppend(&addr, ":", s.Port(side));
        if (Re(re, addr)) return true;
      }
      return false;
    }
    case FilterKey::kProto: return Re(re, s.Protocol());
    case FilterKey::kPort: return ReNumber(re, s.Port(0)) || ReNumber(re, s.Port(1));
    case FilterKey::kLocalPort: return ReNumber(re, s.Port(0));
    case FilterKey::kRemotePort: return ReNumber(re, s.Port(1));
    case FilterKey::kAddr:
      return Re(re, s.Address(0).ToString()) || Re(re, s.Address(1).ToString());
    case FilterKey::kLocalAddr: return Re(re, s.Address(0).ToString());
    case FilterKey::kRemoteAddr: return Re(re, s.Address(1).ToString());
    case FilterKey::kState: return Re(re, s.State());
    case FilterKey::kService: return Re(re, s.Service());
    case FilterKey::kApp: return Re(re, s.App());
    case FilterKey::kSni: return Re(re, s.Sni());
    case FilterKey::kHost: return ReList(re, s.Hosts());
    case FilterKey::kProcess: return ReList(re, s.Process());
    case FilterKey::kPid: return ReNumber(re, s.Pid(0)) || ReNumber(re, s.Pid(1));
    case FilterKey::kUser: return ReList(re, s.User());
    case FilterKey::kIface: return Re(re, s.Interface());
    case FilterKey::kOrg: return Re(re, s.RemoteLocation().as_org);
    case FilterKey::kPod: return ReList(re, s.Pod());
    case FilterKey::kNamespace: return ReList(re, s.Namespace());
    case FilterKey::kContainer: return ReList(re, s.Container());
    case FilterKey::kIp:
    case FilterKey::kDir:
    case FilterKey::kCountry:
    case FilterKey::kAsn: return false;  // Refused by the parser.
  }
  return false;
}

bool MatchTerm(const FilterSubject& s, const FilterTerm& t) {
  if (t.regex) return MatchRegexTerm(s, t);
  auto in_range = [&t](uint32_t v) { return v >= t.low && v <= t.high; };
  switch (t.key) {
    case FilterKey::kWord: return MatchWord(s, t);
    case FilterKey::kProto: return s.Protocol() == t.text;
    case FilterKey::kIp: return in_range(static_cast<uint32_t>(s.IpVersion()));
    case FilterKey::kPort:
      return (s.Port(0) != 0 && in_range(s.Port(0))) || (s.Port(1) != 0 && in_range(s.Port(1)));
    case FilterKey::kLocalPort: return s.Port(0) != 0 && in_range(s.Port(0));
    case FilterKey::kRemotePort: return s.Port(1) != 0 && in_range(s.Port(1));
    case FilterKey::kAddr: return MatchAddr(s, 0, t) || MatchAddr(s, 1, t);
    case FilterKey::kLocalAddr: return MatchAddr(s, 0, t);
    case FilterKey::kRemoteAddr: return MatchAddr(s, 1, t);
    case FilterKey::kState:
      return s.State().starts_with(t.text) &&
             (t.also_proto.empty() || s.Protocol().starts_with(t.also_proto)) &&
             (t.also_app.empty() || s.App() == t.also_app);
    case FilterKey::kDir: return s.Direction() == t.text;
    case FilterKey::kService: return MatchText(s.Service(), t);
    case FilterKey::kApp: return MatchText(s.App(), t);
    case FilterKey::kSni: return MatchText(s.Sni(), t);
    case FilterKey::kHost: return MatchText(s.Hosts(), t);
    case FilterKey::kProcess: return MatchText(s.Process(), t);
    case FilterKey::kPid:
      return (s.Pid(0) != 0 && in_range(s.Pid(0))) || (s.Pid(1) != 0 && in_range(s.Pid(1)));
    case FilterKey::kUser: return MatchText(s.User(), t);
    case FilterKey::kIface: return MatchText(s.Interface(), t);
    case FilterKey::kCountry: {
      // Two letters: the ISO code, exactly (country:de is not "Sweden").
      // Longer: a special range's name, or text in the country's name.
      const FilterLocation l = s.RemoteLocation();
      if (t.text.size() == 2) return EqualsFolded(l.country_code, t.text);
      return EqualsFolded(l.special, t.text) || MatchText(l.country_name, t);
    }
    case FilterKey::kAsn: {
      const uint32_t asn = s.RemoteLocation().asn;
      return asn != 0 && in_range(asn);
    }
    case FilterKey::kOrg: return MatchText(s.RemoteLocation().as_org, t);
    case FilterKey::kPod: return MatchText(s.Pod(), t);
    case FilterKey::kNamespace: return MatchText(s.Namespace(), t);
    case FilterKey::kContainer: return MatchText(s.Container(), t);
  }
  return false;
}

}  // namespace

bool Filter::Matches(const FilterSubject& s) const {
  for (const FilterTerm& t : terms_) {
    if (MatchTerm(s, t) == t.negated) return false;
  }
  return true;
}

absl::StatusOr<Filter> ParseFilter(std::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    return ErrorAt(kMaxFilterBytes + 1,
                   absl::StrCat("filter is longer than ", kMaxFilterBytes, " bytes"));
  }
  Filter filter;
  size_t pos = 0;
  size_t regex_terms = 0;
  while (true) {
    while (pos < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    }
    if (pos >= text.size()) break;
    const size_t column = pos + 1;
    FilterTerm term;
    term.column = column;
    if (text[pos] == '-' || text[pos] == '!') {
      term.negated = true;
      ++pos;
      if (pos >= text.size() || absl::ascii_isspace(static_cast<unsigned char>(text[pos]))) {
        return ErrorAt(column, "'-' or '!' must be followed by a term");
      }
    }
    const size_t token_start = pos;
    // A key is letters before the first ':' (outside quotes), or letters
    // and dashes as in the original's "source-port:".
    size_t colon = std::string_view::npos;
    for (size_t i = pos; i < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[i]));
         ++i) {
      if (i + 1 < text.size() && text[i + 1] == ':') colon = i + 1;
    }
    if (colon == std::string_view::npos) {
      size_t i = pos;
      while (i < text.size() &&
             (absl::ascii_isalpha(static_cast<unsigned char>(text[i])) || text[i] == '-')) {
        ++i;
      }
      // At least one letter ("::1" is an address).
      if (i < text.size() && text[i] == ':' && i > pos && text[pos] != '-') colon = i;
    }
    if (colon != std::string_view::npos) {
      const std::string key = Lower(text.substr(pos, colon - pos));
      const KeyName* found = FindKey(key);
      // "dead::beef" or "fdab:cdef::1" is an IPv6 address, not a key: an
      // unknown "key" followed by more colons is a word.
      const size_t token_end = std::min(text.find_first_of(" \t\r\n", pos), text.size());
      const bool more_colons =
          text.substr(colon + 1, token_end - colon - 1).find(':') != std::string_view::npos;
      if (found == nullptr && more_colons) {
        colon = std::string_view::npos;
      } else if (found == nullptr) {
        return ErrorAt(token_start + 1,
                       absl::StrCat("unknown key '", key, "'; keys are: ", std::string(kKeyList)));
      }
      if (colon != std::string_view::npos) {
        term.key = found->key;
        pos = colon + 1;
      }
    }
    const size_t value_column = pos + 1;
    // `/pattern/`: the whole run up to white space, quotes and all; as in
    // the original, "/" alone, "//" and a run not ending in '/'
    // ("/usr/bin/curl") are text. A pattern with spaces can be quoted
    // whole ("/a b/") or use \s.
    const auto is_pattern = [](std::string_view run) {
      return run.size() > 2 && run.front() == '/' && run.back() == '/';
    };
    std::string_view pattern;
    std::string quoted_pattern;
    size_t after = pos;
    if (pos < text.size() && text[pos] == '/') {
      after = std::min(text.find_first_of(" \t\r\n\v\f", pos), text.size());
      if (is_pattern(text.substr(pos, after - pos))) pattern = text.substr(pos, after - pos);
    } else if (pos < text.size() && text[pos] == '"') {
      auto quoted = NextToken(text, &after);
      if (quoted.ok() && is_pattern(*quoted)) {
        quoted_pattern = std::move(*quoted);
        pattern = quoted_pattern;
      }
    }
    if (!pattern.empty()) {
      if (!TakesRegex(term.key)) {
        return ErrorAt(value_column, "this key takes no /regex/; write its value as text");
      }
      if (++regex_terms > kMaxRegexTerms) {
        return ErrorAt(value_column, absl::StrCat("more than ", kMaxRegexTerms,
                                                  " regular expressions in one filter"));
      }
      if (auto s = CompileRegex(pattern.substr(1, pattern.size() - 2), value_column, &term);
          !s.ok()) {
        return s;
      }
      if (term.key == FilterKey::kWord) filter.needs_text_ = true;
      pos = after;
      if (filter.terms_.size() == kMaxFilterTerms) {
        return ErrorAt(column, absl::StrCat("more than ", kMaxFilterTerms, " terms"));
      }
      filter.terms_.push_back(std::move(term));
      continue;
    }
    auto token = NextToken(text, &pos);
    if (!token.ok()) return token.status();
    std::string value = Lower(*token);
    if (value.empty()) {
      return ErrorAt(value_column, term.key == FilterKey::kWord
                                       ? "empty term"
                                       : "missing value after ':'");
    }
    switch (term.key) {
      case FilterKey::kProto:
        if (value != "tcp" && value != "udp" && value != "icmp" && value != "icmpv6" &&
            value != "arp") {
          return ErrorAt(value_column, absl::StrCat("unknown protocol '", value,
                                                    "'; use tcp, udp, icmp, icmpv6 or arp"));
        }
        break;
      case FilterKey::kIp:
        if (value != "4" && value != "6") {
          return ErrorAt(value_column, absl::StrCat("ip:", value, " must be ip:4 or ip:6"));
        }
        term.low = term.high = value == "4" ? 4 : 6;
        break;
      case FilterKey::kPort:
      case FilterKey::kLocalPort:
      case FilterKey::kRemotePort:
        if (auto s = ParseRange(value, 65535, value_column, &term); !s.ok()) return s;
        break;
      case FilterKey::kPid:
        if (auto s = ParseRange(value, UINT32_MAX, value_column, &term); !s.ok()) return s;
        break;
      case FilterKey::kAsn: {
        // "AS3320" as whois and looking glasses write it, or the number.
        std::string_view number = value;
        if (number.starts_with("as")) number.remove_prefix(2);
        if (auto s = ParseRange(number, UINT32_MAX, value_column, &term); !s.ok()) return s;
        break;
      }
      case FilterKey::kAddr:
      case FilterKey::kLocalAddr:
      case FilterKey::kRemoteAddr:
        if (auto s = ParseAddressValue(value, value_column, &term); !s.ok()) return s;
        break;
      case FilterKey::kDir:
        if (value == "inbound") value = "in";
        if (value == "outbound") value = "out";
        if (value != "in" && value != "out") {
          return ErrorAt(value_column, absl::StrCat("dir:", value, " must be dir:in or dir:out"));
        }
        break;
      case FilterKey::kState: {
        std::replace(value.begin(), value.end(), '-', '_');  // time-wait == time_wait
        const auto* alias =
            std::find_if(std::begin(kStateAliases), std::end(kStateAliases),
                         [&value](const StateAlias& a) { return a.name == value; });
        if (alias != std::end(kStateAliases)) {
          if (alias->state.empty()) {
            return ErrorAt(value_column,
                           absl::StrCat("state:", value, " ", std::string(alias->hint)));
          }
          value = std::string(alias->state);
          term.also_proto = std::string(alias->proto);
          term.also_app = std::string(alias->app);
        }
        break;
      }
      case FilterKey::kWord:
        filter.needs_text_ = true;
        break;
      default:
        break;
    }
    term.text = std::move(value);
    if (filter.terms_.size() == kMaxFilterTerms) {
      return ErrorAt(column, absl::StrCat("more than ", kMaxFilterTerms, " terms"));
    }
    filter.terms_.push_back(std::move(term));
  }
  return filter;
}

}  // namespace rustnet
