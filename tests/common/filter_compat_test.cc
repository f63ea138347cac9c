// The original rustnet's filter syntax (sport:, dport:, src:, dst:, its
// aliases and state names) against ours, pair by pair over a set of varied
// connections; `/regex/` terms, including hostile patterns on long input.

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/filter.h"
#include "tests/common/fake_filter_subject.h"

namespace rustnet {
namespace {

using testing::Addr;

// A connection of the table: the shared fake with nothing known beyond what
// Make() and each row set.
struct Conn : testing::FakeSubject {
  std::string name;  // For messages.
};

Conn Make(std::string name, std::string proto, std::string local, uint16_t lport,
          std::string remote, uint16_t rport, std::string state) {
  Conn c;
  c.service = c.app = c.sni = c.hosts = c.process = c.user = "";
  c.pid = 0;
  c.location = {};
  c.name = std::move(name);
  c.protocol = std::move(proto);
  c.addr[0] = Addr(local);
  c.addr[1] = Addr(remote);
  c.ip_version = c.addr[0].IsV4() ? 4 : 6;
  c.port[0] = lport;
  c.port[1] = rport;
  c.state = std::move(state);
  return c;
}

// One of each kind the original's states describe.
std::vector<Conn> Table() {
  std::vector<Conn> t;
  Conn c = Make("curl tls", "tcp", "10.1.2.3", 51000, "93.184.215.14", 443, "established");
  c.service = "https";
  c.app = "tls";
  c.sni = "www.example.com";
  c.hosts = "www.example.com";
  c.process = "curl";
  c.pid = 4242;
  t.push_back(c);
  c = Make("sshd half-open", "tcp", "192.168.1.5", 22, "10.0.0.9", 60000, "syn_received");
  c.direction = "in";
  c.service = "ssh";
  c.process = "sshd";
  c.pid = 700;
  t.push_back(c);
  c = Make("fin_wait_1", "tcp", "10.0.0.2", 41000, "10.0.0.80", 8080, "fin_wait_1");
  t.push_back(c);
  c = Make("fin_wait_2", "tcp", "10.0.0.2", 41001, "10.0.0.80", 8080, "fin_wait_2");
  t.push_back(c);
  c = Make("time_wait", "tcp", "10.0.0.2", 41002, "10.0.0.80", 80, "time_wait");
  c.service = "http";
  c.app = "http";
  c.hosts = "intranet.example";
  t.push_back(c);
  c = Make("dns answered v6", "udp", "fd00::1", 5353, "dead::beef", 53, "active");
  c.service = "domain";
  c.app = "dns";
  c.hosts = "rustnet.example";
  t.push_back(c);
  c = Make("dns unanswered", "udp", "10.0.0.2", 40000, "8.8.8.8", 53, "unreplied");
  c.service = "domain";
  c.app = "dns";
  t.push_back(c);
  c = Make("quic", "udp", "10.0.0.2", 40443, "142.250.1.1", 443, "active");
  c.app = "quic";
  c.sni = "www.google.com";
  c.hosts = "www.google.com";
  c.process = "firefox";
  c.pid = 3000;
  t.push_back(c);
  c = Make("udp one-way", "udp", "10.0.0.2", 6000, "10.0.0.3", 7000, "unreplied");
  t.push_back(c);
  c = Make("ping unanswered", "icmp", "10.0.0.2", 0, "1.1.1.1", 0, "unreplied");
  t.push_back(c);
  c = Make("ping answered v6", "icmpv6", "fd00::2", 0, "fd00::9", 0, "active");
  t.push_back(c);
  c = Make("arp", "arp", "10.0.0.2", 0, "10.0.0.1", 0, "unreplied");
  t.push_back(c);
  c = Make("arp answered", "arp", "10.0.0.2", 0, "10.0.0.254", 0, "active");
  t.push_back(c);
  return t;
}

std::vector<std::string> Selected(std::string_view expr, const std::vector<Conn>& table) {
  auto f = ParseFilter(expr);
  INFO("filter: " << expr << " -> " << f.status().ToString());
  REQUIRE(f.ok());
  std::vector<std::string> out;
  for (const Conn& c : table) {
    if (f->Matches(c)) out.push_back(c.name);
  }
  return out;
}

std::string ErrorOf(std::string_view expr) {
  auto f = ParseFilter(expr);
  INFO("filter: " << expr);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(f.status().message());
}

// One sentence: no line break, no full stop followed by more text.
bool OneSentence(const std::string& s) {
  return !s.empty() && s.find('\n') == std::string::npos && s.find(". ") == std::string::npos;
}

TEST_CASE("filter compat: the original's syntax selects what ours does", "[filter]") {
  const std::vector<Conn> table = Table();
  struct Pair {
    const char* original;
    const char* ours;
  };
  const Pair pairs[] = {
      // Ports: the original's source is the local end, destination the remote.
      {"sport:51000", "lport:51000"},
      {"sport:22", "lport:22"},
      {"srcport:22", "lport:22"},
      {"source-port:22", "lport:22"},
      {"dport:443", "rport:443"},
      {"dstport:53", "rport:53"},
      {"dest-port:53", "rport:53"},
      {"destination-port:8080", "rport:8080"},
      {"DPORT:443", "rport:443"},
      // Addresses.
      {"src:10.0.0.2", "laddr:10.0.0.2"},
      {"source:192.168", "laddr:192.168"},
      {"src:fd00", "laddr:fd00"},
      {"dst:8.8.8.8", "raddr:8.8.8.8"},
      {"dest:dead", "raddr:dead"},
      {"destination:10.0.0.80", "raddr:10.0.0.80"},
      // Aliases.
      {"proc:curl", "process:curl"},
      {"svc:domain", "service:domain"},
      {"hostname:example", "host:example"},
      {"application:dns", "app:dns"},
      {"protocol:udp", "proto:udp"},
      // TCP states by the original's names.
      {"state:SYN_RECV", "state:syn_received"},
      {"state:syn_recv", "state:syn_received"},
      {"state:fin_wait1", "state:fin_wait_1"},
      {"state:FIN_WAIT2", "state:fin_wait_2"},
      {"state:FIN-WAIT", "state:fin_wait"},
      {"state:TIME_WAIT", "state:time_wait"},
      {"state:established", "state:established"},
      // States that say more than a state.
      {"state:udp_active", "proto:udp state:active"},
      {"state:dns_query", "app:dns state:unreplied"},
      {"state:dns_response", "app:dns state:active"},
      {"state:echo_request", "proto:icmp state:unreplied"},
      {"state:echo_reply", "proto:icmpv6 state:active"},
      {"state:arp_request", "proto:arp state:unreplied"},
      {"state:arp_reply", "proto:arp state:active"},
      {"state:quic_connected", "app:quic state:active"},
      // Combinations from the original's documentation.
      {"sport:22 state:syn_recv", "lport:22 state:syn_received"},
      {"dport:443 hostname:google", "rport:443 host:google"},
      {"proc:firefox state:quic_connected", "process:firefox app:quic state:active"},
      // Regular expressions against their plain equivalents here.
      {"/curl/", "curl"},
      {"proc:/^(curl|sshd)$/", "pid:700-4242 -pid:701-4241"},
      {"dport:/^44/", "rport:440-449"},
      {"port:/^22$/", "port:22"},
      {"src:/^10\\./", "laddr:10.0.0.0/8"},
      {"dst:/^fd00:/", "raddr:fd00::/16"},
      {"sni:/\\.com$/", "sni:.com"},
      {"state:/wait/", "proto:tcp -state:established -state:syn"},
      {"-state:/wait/", "-state:fin_wait -state:time_wait"},
      {"app:/^(dns|quic)$/ -proto:tcp", "proto:udp -rport:7000"},
  };
  for (const Pair& p : pairs) {
    INFO(p.original << "  vs  " << p.ours);
    const auto a = Selected(p.original, table);
    const auto b = Selected(p.ours, table);
    CHECK(a == b);
    // Each pair tells connections apart: it is not trivially all or none.
    CHECK_FALSE(a.empty());
    CHECK(a.size() < table.size());
  }
}

TEST_CASE("filter compat: negating an original term negates its meaning", "[filter]") {
  const std::vector<Conn> table = Table();
  for (std::string_view expr :
       {"sport:22", "dst:8.8.8.8", "state:syn_recv", "state:udp_active", "state:echo_request",
        "state:dns_response", "proc:/^curl$/", "hostname:example"}) {
    const auto plain = Selected(expr, table);
    const auto negated = Selected(std::string("-") + std::string(expr), table);
    INFO(expr);
    CHECK(plain.size() + negated.size() == table.size());
    for (const std::string& name : plain) {
      CHECK(std::find(negated.begin(), negated.end(), name) == negated.end());
    }
  }
}

TEST_CASE("filter compat: every alias parses to its key", "[filter]") {
  struct Case {
    const char* expr;
    FilterKey key;
  };
  const Case cases[] = {
      {"sport:1", FilterKey::kLocalPort},        {"srcport:1", FilterKey::kLocalPort},
      {"source-port:1", FilterKey::kLocalPort},  {"dport:1", FilterKey::kRemotePort},
      {"dstport:1", FilterKey::kRemotePort},     {"dest-port:1", FilterKey::kRemotePort},
      {"destination-port:1", FilterKey::kRemotePort},
      {"src:x", FilterKey::kLocalAddr},          {"source:x", FilterKey::kLocalAddr},
      {"dst:x", FilterKey::kRemoteAddr},         {"dest:x", FilterKey::kRemoteAddr},
      {"destination:x", FilterKey::kRemoteAddr}, {"proc:x", FilterKey::kProcess},
      {"svc:x", FilterKey::kService},            {"hostname:x", FilterKey::kHost},
      {"application:x", FilterKey::kApp},        {"Source-Port:1", FilterKey::kLocalPort},
  };
  for (const Case& c : cases) {
    INFO(c.expr);
    auto f = ParseFilter(c.expr);
    REQUIRE(f.ok());
    REQUIRE(f->terms().size() == 1);
    CHECK(f->terms()[0].key == c.key);
    CHECK(f->terms()[0].column == 1);
  }
  // A dashed name before ':' is a key, known or not; without ':' a word.
  CHECK(ErrorOf("source-prt:1").starts_with("column 1: unknown key 'source-prt'; keys are: "));
  auto word = ParseFilter("my-host");
  REQUIRE(word.ok());
  CHECK(word->terms()[0].key == FilterKey::kWord);
}

TEST_CASE("filter compat: the original's states without a counterpart are refused", "[filter]") {
  for (std::string_view state : {"udp_idle", "UDP_STALE", "quic_handshake", "quic_draining",
                                 "quic_closed", "banner", "keyexchange", "authentication"}) {
    const std::string msg = ErrorOf(std::string("proto:udp state:").append(state));
    INFO(msg);
    CHECK(msg.starts_with("column 17: state:"));
    CHECK(msg.find("does not track; use ") != std::string::npos);
    CHECK(OneSentence(msg));
  }
  CHECK(ErrorOf("state:udp-idle") ==
        "column 7: state:udp_idle is the original rustnet's idle-time state, which rustnetd does "
        "not track; use proto:udp with state:active or state:unreplied");
}

// --- /regex/ -------------------------------------------------------------------

TEST_CASE("filter regex: case-insensitive, on the right field, pattern kept as written",
          "[filter]") {
  const std::vector<Conn> table = Table();
  CHECK(Selected("/CURL/", table) == std::vector<std::string>{"curl tls"});
  CHECK(Selected("sni:/^WWW\\.EXAMPLE\\.com$/", table) == std::vector<std::string>{"curl tls"});
  // \D is not \d: the pattern is not lowercased.
  CHECK(Selected("proc:/^\\D+$/", table) ==
        std::vector<std::string>{"curl tls", "sshd half-open", "quic"});
  CHECK(Selected("proc:/\\d/", table).empty());
  // A word pattern sees address:port as the plain word does.
  CHECK(Selected("/^8\\.8\\.8\\.8:53$/", table) == std::vector<std::string>{"dns unanswered"});
  // Lists (host names, both ends' processes on loopback): the whole or any
  // one of them.
  Conn loop = table[0];
  loop.process = "curl nginx";
  loop.hosts = "www.example.com cdn.example.net";
  for (std::string_view expr : {"proc:/^nginx$/", "proc:/^curl$/", "proc:\"/^curl nginx$/\"",
                                "hostname:/^cdn\\./", "/^nginx$/"}) {
    auto f = ParseFilter(expr);
    INFO(expr);
    REQUIRE(f.ok());
    CHECK(f->Matches(loop));
  }
  auto none = ParseFilter("proc:/^url/");
  REQUIRE(none.ok());
  CHECK_FALSE(none->Matches(loop));
  // Unknown (empty) fields match no pattern, even one that matches "".
  CHECK(Selected("proc:/^$/", table).empty());
  CHECK(Selected("proc:/.*/", table).size() == 3);
  // Ports and pids as decimal text; none (0) matches nothing.
  CHECK(Selected("port:/^0$/", table).empty());
  CHECK(Selected("pid:/^42/", table) == std::vector<std::string>{"curl tls"});
  // Quotes inside a pattern are the pattern's; a pattern quoted whole may
  // hold spaces.
  auto quoted = ParseFilter("proc:/\"a\"/");
  REQUIRE(quoted.ok());
  REQUIRE(quoted->terms()[0].regex != nullptr);
  Conn spaced = table[0];
  spaced.process = "my \"a\" tool";
  CHECK(quoted->Matches(spaced));
  CHECK_FALSE(quoted->Matches(table[0]));
  auto with_space = ParseFilter("proc:\"/^MY .a/\" port:51000");
  REQUIRE(with_space.ok());
  REQUIRE(with_space->terms().size() == 2);
  CHECK(with_space->terms()[0].regex != nullptr);
  CHECK(with_space->Matches(spaced));
}

TEST_CASE("filter regex: what is text, not a pattern", "[filter]") {
  for (std::string_view expr : {"/", "//", "/usr/bin/curl", "proc:/usr/bin/curl"}) {
    auto f = ParseFilter(expr);
    INFO(expr);
    REQUIRE(f.ok());
    CHECK(f->terms()[0].regex == nullptr);
  }
  auto f = ParseFilter("proc:/usr/");
  REQUIRE(f.ok());
  CHECK(f->terms()[0].regex != nullptr);
}

TEST_CASE("filter regex: errors are one sentence at the pattern's column", "[filter]") {
  std::string msg = ErrorOf("proto:tcp sni:/a(b/");
  CHECK(msg.starts_with("column 15: bad regular expression /a(b/: "));
  CHECK(OneSentence(msg));
  msg = ErrorOf("ip:/4/");
  CHECK(msg == "column 4: this key takes no /regex/; write its value as text");
  CHECK(ErrorOf("dir:/in/").starts_with("column 5: this key takes no /regex/"));
  CHECK(ErrorOf("asn:/33/").starts_with("column 5: this key takes no /regex/"));
  const std::string long_pattern = "/" + std::string(kMaxRegexBytes + 1, 'a') + "/";
  CHECK(ErrorOf(long_pattern) == "column 1: regular expression longer than 256 bytes; shorten it");
  CHECK(ParseFilter("/" + std::string(kMaxRegexBytes, 'a') + "/").ok());
  std::string many;
  for (size_t i = 0; i <= kMaxRegexTerms; ++i) many += "/a/ ";
  CHECK(ErrorOf(many) == "column 33: more than 8 regular expressions in one filter");
  // A pattern whose compiled form would exceed the memory cap is refused,
  // not built.
  msg = ErrorOf("/((a{100}){100}){100}/");
  CHECK(msg.starts_with("column 1: bad regular expression "));
  msg = ErrorOf("/(.{1000}){1000}/");
  CHECK(msg.starts_with("column 1: bad regular expression "));
  CHECK(OneSentence(msg));
}

// A backtracking engine takes time exponential in the input on these
// patterns (tens of 'a's already take seconds; 64 KiB would never end). RE2
// matches in time linear in the text, so this test finishing at all, at
// 64 KiB per field, is the proof; the ctest timeout is the bound.
TEST_CASE("filter regex: hostile patterns on long input stay linear", "[filter]") {
  Conn c = Make("long", "tcp", "10.0.0.1", 1, "10.0.0.2", 2, "established");
  c.process = std::string(64 * 1024, 'a') + "!";
  std::mt19937 rng(7);
  c.hosts.resize(64 * 1024);
  for (char& ch : c.hosts) ch = (rng() & 1) ? 'a' : 'b';
  c.sni = std::string(64 * 1024, 'a');
  const char* hostile[] = {
      "proc:/(a+)+$/",           // Nested quantifiers (classic ReDoS), no match at the end.
      "proc:/(a|a)*b/",          // Ambiguous alternation.
      "proc:/(a|aa)+$/",         //
      "proc:/(.*a){20}!x/",      // Polynomial blow-up for backtrackers.
      "host:/[ab]*a[ab]{20}c/",  // Exponential DFA states: RE2's cache bound.
      "sni:/^(a?){40}a{40}$/",   // The textbook pathological case.
      "/(\\w+\\s?)*$!/",
  };
  size_t matched = 0;
  for (const char* expr : hostile) {
    INFO(expr);
    auto f = ParseFilter(expr);
    REQUIRE(f.ok());
    for (int i = 0; i < 4; ++i) matched += f->Matches(c) ? 1U : 0U;
  }
  // (a+)+$ cannot match before the '!'; (a|aa)+$ neither; the others do not
  // match either, except ^(a?){40}a{40}$, which needs exactly 40..80 a's.
  CHECK(matched == 0);
  // The same patterns do match where they should.
  c.process = std::string(64 * 1024, 'a');
  auto f = ParseFilter("proc:/(a+)+$/");
  REQUIRE(f.ok());
  CHECK(f->Matches(c));
  c.sni = std::string(60, 'a');
  f = ParseFilter("sni:/^(a?){40}a{40}$/");
  REQUIRE(f.ok());
  CHECK(f->Matches(c));
}

}  // namespace
}  // namespace rustnet
