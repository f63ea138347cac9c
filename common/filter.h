// Filter expressions: one syntax for the API's `filter` fields and the TUI's
// `/` prompt (documented in proto/rustnet/v1/monitor.proto).
//
//   ParseFilter("proto:tcp port:443 -state:closed curl")
//
// parses into terms that must all match. Matching runs against a
// FilterSubject, which the daemon implements over its compact connection
// records and the client over API messages, so both sides agree on what a
// filter means.
//
// Input is untrusted (it arrives over the API): the parser is linear, has
// no recursion, and refuses expressions over kMaxFilterBytes or
// kMaxFilterTerms with an error naming the column.
//
// The original rustnet's syntax is accepted with the meaning it has there:
// sport:/dport: are the local/remote port (lport:/rport:), src:/dst: the
// local/remote address (laddr:/raddr:), proc:, svc:, hostname: and
// application: are aliases, its state names (syn_recv, fin_wait1,
// udp_active, dns_query, ...) map to ours, and `/regex/` (a word, or a
// key's value: `sni:/^api\./`, `port:/22/`) matches case-insensitively with
// RE2, whose matching is linear in the text: no pattern, however hostile,
// backtracks. Patterns are capped at kMaxRegexBytes and kMaxRegexTerms per
// filter, each within kRegexMemoryBytes (its program and its DFA cache; a
// DFA that would outgrow it falls back to RE2's NFA, still linear): a
// filter's patterns hold at most 2 MiB, however hostile.
//
// Thread-safety: a parsed Filter is immutable; Matches may be called from
// any number of threads at once.
#ifndef RUSTNET_COMMON_FILTER_H_
#define RUSTNET_COMMON_FILTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flow_key.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace rustnet {

inline constexpr size_t kMaxFilterBytes = 4096;
inline constexpr size_t kMaxFilterTerms = 64;
inline constexpr size_t kMaxRegexBytes = 256;
inline constexpr size_t kMaxRegexTerms = 8;
inline constexpr int64_t kRegexMemoryBytes = 256 << 10;

// What a filter looks at. Text accessors return lowercase-insensitive
// comparable text as-is (matching folds case); empty means unknown.
// Side 0 is the local endpoint, side 1 the remote one.
// Where an endpoint's address is (GeoIP/ASN), for country:, asn:, org:.
struct FilterLocation {
  std::string_view country_code;  // "DE"
  std::string_view country_name;  // "Germany"
  std::string_view special;       // "private", "CGNAT", ... (no GeoIP then)
  uint32_t asn = 0;
  std::string_view as_org;
};

class FilterSubject {
 public:
  virtual ~FilterSubject() = default;
  virtual std::string_view Protocol() const = 0;  // "tcp", "udp", "icmp", "icmpv6", "arp"
  virtual int IpVersion() const = 0;              // 4 or 6
  virtual const IpAddress& Address(int side) const = 0;
  virtual uint16_t Port(int side) const = 0;      // 0 when the protocol has none
  virtual std::string_view State() const = 0;     // "established", "syn_sent", ...
  virtual std::string_view Direction() const = 0; // "in" or "out"
  virtual std::string_view Service() const = 0;   // "https"
  virtual std::string_view App() const = 0;       // DPI protocol: "tls", "http", ...
  virtual std::string_view Sni() const = 0;
  // Every host name known for the connection (SNI, HTTP Host, DNS), joined
  // by spaces.
  virtual std::string_view Hosts() const = 0;
  virtual std::string_view Process() const = 0;
  virtual uint32_t Pid(int side) const = 0;       // 0 when unknown
  virtual std::string_view User() const = 0;
  virtual std::string_view Interface() const = 0;
  // The remote end's location (country:, asn:, org:); a subject that knows
  // none (no GeoIP, the history store's rows) matches no such term.
  virtual FilterLocation RemoteLocation() const { return {}; }
  // Kubernetes (pod:, namespace:, container:): like Process(), the local
  // socket's owner's and, on loopback, the remote one's, space-separated.
  // A subject that knows none (the history store's rows keep no pod names)
  // matches no pod: or namespace: term.
  virtual std::string_view Pod() const { return {}; }
  virtual std::string_view Namespace() const { return {}; }
  // The container's name (a pod's) and its runtime id (any container).
  virtual std::string_view Container() const { return {}; }
};

enum class FilterKey : uint8_t {
  kWord,  // No key: matches any text field.
  kProto,
  kIp,
  kPort,
  kLocalPort,
  kRemotePort,
  kAddr,
  kLocalAddr,
  kRemoteAddr,
  kState,
  kDir,
  kService,
  kApp,
  kSni,
  kHost,
  kProcess,
  kPid,
  kUser,
  kIface,
  kCountry,
  kAsn,
  kOrg,
  kPod,
  kNamespace,
  kContainer,
};

struct FilterTerm {
  FilterKey key = FilterKey::kWord;
  bool negated = false;
  std::string text;  // Lowercased value (text keys, words).
  // Numeric keys: inclusive range. Address keys with a CIDR: prefix.
  uint32_t low = 0;
  uint32_t high = 0;
  bool has_prefix = false;
  IpAddress network;
  int prefix_bits = 0;  // Over the 128-bit (v4-mapped) form.
  size_t column = 0;    // 1-based, for messages.
  // `/pattern/`: matched instead of `text`/`low..high` (the field's text,
  // ports and pids in decimal). Shared: RE2 is immutable and thread-safe.
  std::shared_ptr<const re2::RE2> regex;
  // The original's state names that say more than a state
  // ("udp_active": proto udp and state active): the subject's protocol
  // must start with `also_proto`, its application equal `also_app`.
  std::string also_proto;
  std::string also_app;
};

class Filter {
 public:
  Filter() = default;  // Matches everything.

  bool empty() const { return terms_.empty(); }
  const std::vector<FilterTerm>& terms() const { return terms_; }
  bool Matches(const FilterSubject& s) const;
  // True if some term needs the address text (bare words); callers may skip
  // formatting otherwise.
  bool needs_text() const { return needs_text_; }

 private:
  friend absl::StatusOr<Filter> ParseFilter(std::string_view text);
  std::vector<FilterTerm> terms_;
  bool needs_text_ = false;
};

// Parses `text`. Errors are InvalidArgument with a message of the form
// "column 7: unknown key 'prot'; keys are: ...".
absl::StatusOr<Filter> ParseFilter(std::string_view text);

}  // namespace rustnet

#endif  // RUSTNET_COMMON_FILTER_H_
