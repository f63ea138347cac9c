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

namespace rustnet {
namespace {

struct KeyName {
  std::string_view name;
  FilterKey key;
};

// Aliases map to the same key; the first spelling is the one documented.
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
};

constexpr std::string_view kKeyList =
    "proto, ip, port, lport, rport, addr, laddr, raddr, state, dir, service, app, sni, host, "
    "process, pid, user, iface, country, asn, org";

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

bool MatchTerm(const FilterSubject& s, const FilterTerm& t) {
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
    case FilterKey::kState: return s.State().starts_with(t.text);
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
    // A key is letters before the first ':' (outside quotes).
    size_t colon = std::string_view::npos;
    for (size_t i = pos; i < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[i]));
         ++i) {
      if (i + 1 < text.size() && text[i + 1] == ':') colon = i + 1;
    }
    if (colon != std::string_view::npos) {
      const std::string key = Lower(text.substr(pos, colon - pos));
      const auto* found = std::find_if(std::begin(kKeys), std::end(kKeys),
                                       [&key](const KeyName& k) { return k.name == key; });
      // "dead::beef" or "fdab:cdef::1" is an IPv6 address, not a key: an
      // unknown "key" followed by more colons is a word.
      const size_t token_end = std::min(text.find_first_of(" \t\r\n", pos), text.size());
      const bool more_colons =
          text.substr(colon + 1, token_end - colon - 1).find(':') != std::string_view::npos;
      if (found == std::end(kKeys) && more_colons) {
        colon = std::string_view::npos;
      } else if (found == std::end(kKeys)) {
        return ErrorAt(token_start + 1,
                       absl::StrCat("unknown key '", key, "'; keys are: ", std::string(kKeyList)));
      }
      if (colon != std::string_view::npos) {
        term.key = found->key;
        pos = colon + 1;
      }
    }
    const size_t value_column = pos + 1;
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
      case FilterKey::kState:
        std::replace(value.begin(), value.end(), '-', '_');  // time-wait == time_wait
        break;
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
