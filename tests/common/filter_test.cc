// The filter expression language (syntax at the top of
// proto/rustnet/v1/monitor.proto): parsing, matching against a fake subject,
// and error messages with exact columns.
#include "common/filter.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "tests/common/fake_filter_subject.h"

namespace rustnet {
namespace {

using testing::Addr;
using testing::FakeSubject;

// An IPv6 UDP flow with nothing known but the basics.
FakeSubject V6Subject() {
  FakeSubject s;
  s.protocol = "udp";
  s.ip_version = 6;
  s.addr[0] = Addr("fd00::1");
  s.addr[1] = Addr("dead::beef");
  s.port[0] = 5353;
  s.port[1] = 53;
  s.state = "active";
  s.direction = "in";
  s.service = "domain";
  s.app = "dns";
  s.sni = "";
  s.hosts = "";
  s.process = "";
  s.pid = 0;
  s.user = "";
  s.iface = "wlan0";
  return s;
}

bool Match(std::string_view expr, const FilterSubject& s) {
  auto f = ParseFilter(expr);
  INFO("filter: " << expr << " -> " << f.status().ToString());
  REQUIRE(f.ok());
  return f->Matches(s);
}

std::string ErrorOf(std::string_view expr) {
  auto f = ParseFilter(expr);
  INFO("filter: " << expr);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(f.status().message());
}

// The "column N" prefix of an error, for the many cases where only the
// position is under test.
std::string ColumnOf(std::string_view expr) {
  const std::string msg = ErrorOf(expr);
  const size_t colon = msg.find(':');
  REQUIRE(colon != std::string::npos);
  return msg.substr(0, colon);
}

TEST_CASE("filter: empty and blank filters match everything", "[filter]") {
  FakeSubject s;
  FakeSubject v6 = V6Subject();
  for (std::string_view expr : {"", " ", "  \t \n "}) {
    auto f = ParseFilter(expr);
    REQUIRE(f.ok());
    CHECK(f->empty());
    CHECK(f->terms().empty());
    CHECK_FALSE(f->needs_text());
    CHECK(f->Matches(s));
    CHECK(f->Matches(v6));
  }
  Filter default_filter;
  CHECK(default_filter.empty());
  CHECK(default_filter.Matches(s));
}

TEST_CASE("filter: proto and its alias protocol", "[filter]") {
  FakeSubject s;
  CHECK(Match("proto:tcp", s));
  CHECK(Match("protocol:tcp", s));
  CHECK_FALSE(Match("proto:udp", s));
  CHECK_FALSE(Match("protocol:udp", s));
  for (const char* p : {"udp", "icmp", "icmpv6", "arp"}) {
    s.protocol = p;
    CHECK(Match(std::string("proto:") + p, s));
    CHECK_FALSE(Match("proto:tcp", s));
  }
  // proto: is an exact match, not a substring one: icmp is not icmpv6.
  s.protocol = "icmpv6";
  CHECK_FALSE(Match("proto:icmp", s));
  auto f = ParseFilter("protocol:udp");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 1);
  CHECK(f->terms()[0].key == FilterKey::kProto);
}

TEST_CASE("filter: ip:4 and ip:6", "[filter]") {
  FakeSubject v4;
  FakeSubject v6 = V6Subject();
  CHECK(Match("ip:4", v4));
  CHECK_FALSE(Match("ip:6", v4));
  CHECK(Match("ip:6", v6));
  CHECK_FALSE(Match("ip:4", v6));
}

TEST_CASE("filter: port, lport and rport", "[filter]") {
  FakeSubject s;  // Local 51000, remote 443.
  CHECK(Match("port:443", s));
  CHECK(Match("port:51000", s));
  CHECK_FALSE(Match("port:80", s));
  CHECK(Match("lport:51000", s));
  CHECK_FALSE(Match("lport:443", s));
  CHECK(Match("rport:443", s));
  CHECK_FALSE(Match("rport:51000", s));
  CHECK(Match("port:0", s) == false);
  CHECK(Match("port:65535", s) == false);
}

TEST_CASE("filter: port ranges are inclusive at both ends", "[filter]") {
  FakeSubject s;
  CHECK(Match("port:443-443", s));
  CHECK(Match("port:400-443", s));
  CHECK(Match("port:443-500", s));
  CHECK_FALSE(Match("port:444-500", s));
  CHECK_FALSE(Match("port:1-442", s));
  CHECK(Match("port:50000-52000", s));  // Matches on the local end.
  CHECK(Match("rport:1-1023", s));
  CHECK_FALSE(Match("lport:1-1023", s));
  CHECK(Match("lport:1024-65535", s));
  CHECK(Match("port:0-65535", s));
  auto f = ParseFilter("port:1000-2000");
  REQUIRE(f.ok());
  CHECK(f->terms()[0].low == 1000);
  CHECK(f->terms()[0].high == 2000);
}

TEST_CASE("filter: a subject without ports matches no port term", "[filter]") {
  FakeSubject icmp;
  icmp.protocol = "icmp";
  icmp.port[0] = 0;
  icmp.port[1] = 0;
  CHECK_FALSE(Match("port:0", icmp));
  CHECK_FALSE(Match("port:0-65535", icmp));
  CHECK_FALSE(Match("lport:0-65535", icmp));
  CHECK_FALSE(Match("rport:0-65535", icmp));
  CHECK(Match("-port:443", icmp));
}

TEST_CASE("filter: addr, laddr and raddr as text", "[filter]") {
  FakeSubject s;  // Local 10.1.2.3, remote 93.184.215.14.
  CHECK(Match("addr:93.184", s));
  CHECK(Match("addr:10.1", s));
  CHECK_FALSE(Match("addr:192.168", s));
  CHECK(Match("laddr:10.1.2.3", s));
  CHECK_FALSE(Match("laddr:93.184", s));
  CHECK(Match("raddr:93.184.215.14", s));
  CHECK_FALSE(Match("raddr:10.1", s));
  // Text is a substring of the address alone, not of address:port.
  CHECK_FALSE(Match("raddr:14:443", s));
  FakeSubject v6 = V6Subject();
  CHECK(Match("laddr:fd00::1", v6));
  CHECK(Match("raddr:DEAD::BEEF", v6));  // Folded to the RFC 5952 lowercase text.
  CHECK_FALSE(Match("laddr:dead", v6));
}

TEST_CASE("filter: IPv4 CIDR prefixes", "[filter]") {
  FakeSubject s;
  CHECK(Match("addr:10.0.0.0/8", s));
  CHECK(Match("laddr:10.0.0.0/8", s));
  CHECK_FALSE(Match("raddr:10.0.0.0/8", s));
  CHECK(Match("raddr:93.184.215.0/24", s));
  CHECK_FALSE(Match("raddr:93.184.214.0/24", s));
  CHECK(Match("raddr:93.184.215.14/32", s));
  CHECK_FALSE(Match("raddr:93.184.215.15/32", s));
  CHECK(Match("laddr:10.1.2.2/31", s));  // 10.1.2.2-10.1.2.3.
  CHECK_FALSE(Match("laddr:10.1.2.4/31", s));
  CHECK(Match("addr:0.0.0.0/0", s));
  CHECK(Match("laddr:10.99.99.99/8", s));  // Host bits in the network are ignored.
  CHECK_FALSE(Match("addr:172.16.0.0/12", s));
  auto f = ParseFilter("addr:10.0.0.0/8");
  REQUIRE(f.ok());
  CHECK(f->terms()[0].has_prefix);
  CHECK(f->terms()[0].prefix_bits == 96 + 8);
}

TEST_CASE("filter: IPv6 CIDR prefixes", "[filter]") {
  FakeSubject v6 = V6Subject();  // fd00::1 -> dead::beef.
  CHECK(Match("addr:fd00::/8", v6));
  CHECK(Match("laddr:fd00::/8", v6));
  CHECK_FALSE(Match("raddr:fd00::/8", v6));
  CHECK(Match("raddr:dead::/16", v6));
  CHECK(Match("raddr:dead::beef/128", v6));
  CHECK_FALSE(Match("raddr:dead::beee/128", v6));
  CHECK(Match("addr:FD00::/8", v6));
  CHECK(Match("addr:fc00::/7", v6));
  CHECK_FALSE(Match("addr:2000::/3", v6));
  CHECK(Match("addr:::/0", v6));
}

TEST_CASE("filter: IPv4 and IPv6 prefixes never cross", "[filter]") {
  FakeSubject v4;
  FakeSubject v6 = V6Subject();
  // A v4 address is not in a v6 network.
  CHECK_FALSE(Match("addr:fd00::/8", v4));
  CHECK_FALSE(Match("addr:2000::/3", v4));
  CHECK_FALSE(Match("addr:fc00::/7", v4));
  // A v6 address is not in any v4 network, not even 0.0.0.0/0.
  CHECK_FALSE(Match("addr:0.0.0.0/0", v6));
  CHECK_FALSE(Match("addr:10.0.0.0/8", v6));
  // Not even one whose low 32 bits look like the v4 network (an
  // IPv4-compatible ::10.1.2.3).
  FakeSubject compat = V6Subject();
  compat.addr[0] = Addr("::10.1.2.3");
  CHECK_FALSE(Match("addr:10.0.0.0/8", compat));
}

// Regression test (this was a bug): a network written in IPv6 notation that
// happens to be v4-mapped ("::ffff:10.0.0.0/104") is taken as IPv4, so its
// prefix length is read over 32 bits: /104 is refused ("must be 0..32") and
// "::ffff:10.0.0.0/8" silently means 10.0.0.0/8.
TEST_CASE("filter: a v4-mapped network in v6 notation has a 128-bit prefix",
          "[filter]") {
  FakeSubject v4;  // 10.1.2.3 -> 93.184.215.14.
  auto f = ParseFilter("laddr:::ffff:10.0.0.0/104");
  INFO(f.status().ToString());
  CHECK(f.ok());
  CHECK(Match("addr:::ffff:0:0/96", v4));
  CHECK(Match("laddr:::ffff:10.0.0.0/104", v4));
}

TEST_CASE("filter: state matches by prefix and accepts dashes", "[filter]") {
  FakeSubject s;
  s.state = "fin_wait_1";
  CHECK(Match("state:fin", s));
  CHECK(Match("state:fin_wait", s));
  CHECK(Match("state:fin-wait-1", s));
  CHECK_FALSE(Match("state:fin_wait_2", s));
  s.state = "fin_wait_2";
  CHECK(Match("state:fin", s));
  CHECK(Match("state:FIN-WAIT-2", s));
  s.state = "time_wait";
  CHECK(Match("state:time-wait", s));
  CHECK(Match("state:time_wait", s));
  CHECK(Match("state:TIME-WAIT", s));
  CHECK_FALSE(Match("state:wait", s));  // A prefix, not a substring.
  CHECK_FALSE(Match("state:established", s));
  s.state = "established";
  CHECK(Match("state:est", s));
  CHECK_FALSE(Match("state:fin", s));
  auto f = ParseFilter("state:time-wait");
  REQUIRE(f.ok());
  CHECK(f->terms()[0].text == "time_wait");
}

TEST_CASE("filter: dir accepts in, out, inbound and outbound", "[filter]") {
  FakeSubject out;
  FakeSubject in = V6Subject();
  CHECK(Match("dir:out", out));
  CHECK(Match("dir:outbound", out));
  CHECK(Match("dir:OUT", out));
  CHECK_FALSE(Match("dir:in", out));
  CHECK_FALSE(Match("dir:inbound", out));
  CHECK(Match("dir:in", in));
  CHECK(Match("dir:inbound", in));
  CHECK(Match("dir:Inbound", in));
  CHECK_FALSE(Match("dir:out", in));
  CHECK_FALSE(Match("dir:outbound", in));
}

TEST_CASE("filter: text keys match substrings, case-insensitively", "[filter]") {
  FakeSubject s;
  CHECK(Match("service:http", s));
  CHECK(Match("service:HTTPS", s));
  CHECK_FALSE(Match("service:ssh", s));
  CHECK(Match("app:tls", s));
  CHECK(Match("app:TL", s));
  CHECK_FALSE(Match("app:quic", s));
  CHECK(Match("sni:example", s));
  CHECK(Match("sni:WWW.EXAMPLE.COM", s));  // The subject's "Example" is folded too.
  CHECK_FALSE(Match("sni:example.net", s));
  CHECK(Match("host:cdn.example.net", s));  // Any of the joined host names.
  CHECK(Match("host:www.example", s));
  CHECK_FALSE(Match("host:example.org", s));
  CHECK(Match("process:curl", s));  // Subject says "Curl".
  CHECK(Match("process:UR", s));
  CHECK_FALSE(Match("process:wget", s));
  CHECK(Match("user:ali", s));
  CHECK_FALSE(Match("user:bob", s));
  CHECK(Match("iface:eth", s));
  CHECK(Match("iface:ETH0", s));
  CHECK_FALSE(Match("iface:wlan", s));
}

TEST_CASE("filter: text keys do not match unknown (empty) fields", "[filter]") {
  FakeSubject v6 = V6Subject();  // No SNI, hosts, process or user.
  CHECK_FALSE(Match("sni:a", v6));
  CHECK_FALSE(Match("host:a", v6));
  CHECK_FALSE(Match("process:a", v6));
  CHECK_FALSE(Match("user:a", v6));
  CHECK(Match("-process:a", v6));
}

TEST_CASE("filter: pid values and ranges", "[filter]") {
  FakeSubject s;
  CHECK(Match("pid:4242", s));
  CHECK_FALSE(Match("pid:424", s));  // A number, not text.
  CHECK(Match("pid:4000-5000", s));
  CHECK(Match("pid:4242-4242", s));
  CHECK_FALSE(Match("pid:4243-5000", s));
  CHECK(Match("pid:0-4294967295", s));
  s.pid = 4294967295u;
  CHECK(Match("pid:4294967295", s));
  s.pid = 0;  // Unknown: nothing matches, not even a range with 0.
  CHECK_FALSE(Match("pid:0", s));
  CHECK_FALSE(Match("pid:0-4294967295", s));
}

TEST_CASE("filter: keys are case-insensitive and every alias parses to its key", "[filter]") {
  FakeSubject s;
  CHECK(Match("PORT:443", s));
  CHECK(Match("Proto:TCP", s));
  CHECK(Match("PROTOCOL:tcp", s));
  CHECK(Match("LAddr:10.0.0.0/8", s));
  CHECK(Match("STATE:ESTABLISHED", s));
  CHECK(Match("Ip:4", s));
  struct Case {
    const char* expr;
    FilterKey key;
  };
  const Case cases[] = {
      {"proto:tcp", FilterKey::kProto},   {"protocol:tcp", FilterKey::kProto},
      {"ip:4", FilterKey::kIp},           {"port:1", FilterKey::kPort},
      {"lport:1", FilterKey::kLocalPort}, {"rport:1", FilterKey::kRemotePort},
      {"addr:x", FilterKey::kAddr},       {"laddr:x", FilterKey::kLocalAddr},
      {"raddr:x", FilterKey::kRemoteAddr}, {"state:x", FilterKey::kState},
      {"dir:in", FilterKey::kDir},        {"service:x", FilterKey::kService},
      {"app:x", FilterKey::kApp},         {"sni:x", FilterKey::kSni},
      {"host:x", FilterKey::kHost},       {"process:x", FilterKey::kProcess},
      {"pid:1", FilterKey::kPid},         {"user:x", FilterKey::kUser},
      {"iface:x", FilterKey::kIface},     {"word", FilterKey::kWord},
  };
  for (const Case& c : cases) {
    INFO(c.expr);
    auto f = ParseFilter(c.expr);
    REQUIRE(f.ok());
    REQUIRE(f->terms().size() == 1);
    CHECK(f->terms()[0].key == c.key);
    CHECK_FALSE(f->terms()[0].negated);
    CHECK(f->terms()[0].column == 1);
  }
}

TEST_CASE("filter: terms AND together", "[filter]") {
  FakeSubject s;
  CHECK(Match("proto:tcp port:443 curl", s));
  CHECK(Match("proto:tcp\tport:443\n\ncurl", s));  // Any whitespace separates.
  CHECK_FALSE(Match("proto:tcp port:80", s));
  CHECK_FALSE(Match("proto:udp port:443", s));
  CHECK_FALSE(Match("curl wget", s));
  auto f = ParseFilter("  proto:tcp   port:443 curl");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 3);
  CHECK(f->terms()[0].column == 3);
  CHECK(f->terms()[1].column == 15);
  CHECK(f->terms()[2].column == 24);
}

TEST_CASE("filter: - and ! negate a term", "[filter]") {
  FakeSubject s;
  CHECK(Match("-proto:udp", s));
  CHECK(Match("!proto:udp", s));
  CHECK_FALSE(Match("-proto:tcp", s));
  CHECK_FALSE(Match("!proto:tcp", s));
  CHECK(Match("!port:80", s));
  CHECK_FALSE(Match("-port:443", s));
  CHECK_FALSE(Match("!port:400-500", s));
  CHECK(Match("-wget", s));
  CHECK_FALSE(Match("-curl", s));
  CHECK_FALSE(Match("!CURL", s));
  CHECK(Match("-raddr:10.0.0.0/8", s));
  CHECK_FALSE(Match("-laddr:10.0.0.0/8", s));
  CHECK(Match("proto:tcp -state:closed !dir:in", s));
  CHECK_FALSE(Match("proto:tcp -state:est", s));
  auto f = ParseFilter("-port:443 !curl x");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 3);
  CHECK(f->terms()[0].negated);
  CHECK(f->terms()[0].key == FilterKey::kPort);
  CHECK(f->terms()[1].negated);
  CHECK(f->terms()[1].text == "curl");
  CHECK_FALSE(f->terms()[2].negated);
  // A second '-' is part of the word.
  auto g = ParseFilter("--x");
  REQUIRE(g.ok());
  CHECK(g->terms()[0].negated);
  CHECK(g->terms()[0].text == "-x");
}

TEST_CASE("filter: bare words match any text field and address:port", "[filter]") {
  FakeSubject s;
  CHECK(Match("CURL", s));  // Process.
  CHECK(Match("tcp", s));   // Protocol.
  CHECK(Match("establ", s));
  CHECK(Match("https", s));  // Service.
  CHECK(Match("tls", s));    // App.
  CHECK(Match("cdn.example", s));  // Hosts.
  CHECK(Match("alice", s));
  CHECK(Match("eth0", s));
  CHECK(Match("out", s));  // Direction.
  CHECK(Match("93.184.215.14:443", s));
  CHECK(Match("10.1.2.3:51000", s));
  CHECK(Match("443", s));
  CHECK(Match(":51000", s));
  CHECK_FALSE(Match("10.1.2.3:443", s));  // Wrong pairing of address and port.
  CHECK_FALSE(Match("4242", s));          // The pid is not text.
  CHECK_FALSE(Match("nothing-like-this", s));
  CHECK(ParseFilter("curl")->needs_text());
  CHECK(ParseFilter("port:1 -x")->needs_text());
  CHECK_FALSE(ParseFilter("port:1 proto:tcp addr:1.2")->needs_text());
}

TEST_CASE("filter: bare IPv6 addresses are words, not keys", "[filter]") {
  FakeSubject v6 = V6Subject();  // fd00::1 -> dead::beef.
  CHECK(Match("fd00::1", v6));
  CHECK(Match("dead::beef", v6));
  CHECK(Match("DEAD::BEEF", v6));
  CHECK(Match("dead::beef:53", v6));  // With the port appended.
  CHECK(Match("-cafe::1", v6));
  FakeSubject v4;
  CHECK_FALSE(Match("fd00::1", v4));
  CHECK_FALSE(Match("dead::beef", v4));
  auto f = ParseFilter("dead::beef");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 1);
  CHECK(f->terms()[0].key == FilterKey::kWord);
  CHECK(f->terms()[0].text == "dead::beef");
}

// Regression test (this was a bug): an IPv6 address whose first group is all
// letters and is followed by a single ':' is read as an unknown key, so
// "fdab:cdef::1" (a plausible ULA) fails with "unknown key 'fdab'".
TEST_CASE("filter: bare IPv6 addresses with a letters-only first group are words",
          "[filter]") {
  FakeSubject v6 = V6Subject();
  v6.addr[1] = Addr("fdab:cdef::1");
  for (std::string_view expr : {"fdab:cdef::1", "dead:beef::1", "cafe:1:2:3:4:5:6:7"}) {
    auto f = ParseFilter(expr);
    INFO(expr << " -> " << f.status().ToString());
    CHECK(f.ok());
  }
  CHECK(Match("fdab:cdef::1", v6));
}

TEST_CASE("filter: quotes group spaces and are removed", "[filter]") {
  FakeSubject s;
  s.process = "My Server";
  CHECK(Match("process:\"my server\"", s));
  CHECK(Match("\"my server\"", s));
  CHECK(Match("-process:\"my client\"", s));
  CHECK(Match("process:my\" \"ser", s));  // Quotes may open mid-token.
  CHECK_FALSE(Match("process:\"my client\"", s));
  CHECK_FALSE(Match("-\"my server\"", s));
  CHECK(Match("proto:\"tcp\"", s));
  auto f = ParseFilter("a\"b c\"d e");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 2);
  CHECK(f->terms()[0].text == "ab cd");
  CHECK(f->terms()[1].text == "e");
  CHECK(f->terms()[1].column == 9);
  // A quoted key is not a key: the whole token is a word.
  auto g = ParseFilter("\"proto\":tcp");
  REQUIRE(g.ok());
  CHECK(g->terms()[0].key == FilterKey::kWord);
  CHECK(g->terms()[0].text == "proto:tcp");
}

TEST_CASE("filter: values and words are lowercased when parsed", "[filter]") {
  auto f = ParseFilter("SNI:WWW.Example.COM Curl");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 2);
  CHECK(f->terms()[0].key == FilterKey::kSni);
  CHECK(f->terms()[0].text == "www.example.com");
  CHECK(f->terms()[1].text == "curl");
}

TEST_CASE("filter: unknown key names the key's column", "[filter]") {
  const std::string keys =
      "keys are: proto, ip, port, lport, rport, addr, laddr, raddr, state, dir, service, app, "
      "sni, host, process, pid, user, iface, country, asn, org, pod, namespace (ns), container";
  CHECK(ErrorOf("prot:tcp") == "column 1: unknown key 'prot'; " + keys);
  CHECK(ErrorOf("proto:tcp  Foo:bar") == "column 12: unknown key 'foo'; " + keys);
  CHECK(ErrorOf("x:") == "column 1: unknown key 'x'; " + keys);
  CHECK(ColumnOf("-prot:tcp") == "column 2");  // The key, after the '-'.
  CHECK(ColumnOf("\tport:1 !nope:1") == "column 10");
}

TEST_CASE("filter: missing value and empty terms", "[filter]") {
  CHECK(ErrorOf("port:") == "column 6: missing value after ':'");
  CHECK(ErrorOf("proto:tcp port:") == "column 16: missing value after ':'");
  CHECK(ErrorOf("port: 443") == "column 6: missing value after ':'");
  CHECK(ErrorOf("-sni:") == "column 6: missing value after ':'");
  CHECK(ErrorOf("host:\"\"") == "column 6: missing value after ':'");
  CHECK(ErrorOf("\"\"") == "column 1: empty term");
  CHECK(ErrorOf("a \"\"") == "column 3: empty term");
}

TEST_CASE("filter: bad port values", "[filter]") {
  const std::string range = " is not a number or range N-M (0..65535)";
  CHECK(ErrorOf("port:abc") == "column 6: 'abc'" + range);
  CHECK(ErrorOf("port:65536") == "column 6: '65536'" + range);
  CHECK(ErrorOf("lport:-1") == "column 7: '-1'" + range);
  CHECK(ErrorOf("rport:10-") == "column 7: '10-'" + range);
  CHECK(ErrorOf("port:1-2-3") == "column 6: '1-2-3'" + range);
  CHECK(ErrorOf("port:+80") == "column 6: '+80'" + range);
  CHECK(ErrorOf("port:80x") == "column 6: '80x'" + range);
  CHECK(ErrorOf("port:1-65536") == "column 6: '1-65536'" + range);
  CHECK(ErrorOf("a port:99999999999999999999") == "column 8: '99999999999999999999'" + range);
  CHECK(ErrorOf("pid:4294967296") ==
        "column 5: '4294967296' is not a number or range N-M (0..4294967295)");
  CHECK(ErrorOf("pid:x") == "column 5: 'x' is not a number or range N-M (0..4294967295)");
}

TEST_CASE("filter: reversed port range", "[filter]") {
  CHECK(ErrorOf("port:2000-1000") ==
        "column 6: '2000-1000' is not a number or range N-M (0..65535)");
  CHECK(ColumnOf("proto:tcp rport:444-443") == "column 17");
  CHECK(ColumnOf("pid:10-9") == "column 5");
  CHECK(ParseFilter("port:1000-1000").ok());
}

TEST_CASE("filter: bad address prefixes", "[filter]") {
  CHECK(ErrorOf("addr:10.0.0.0/33") == "column 6: prefix length in '10.0.0.0/33' must be 0..32");
  CHECK(ErrorOf("addr:fd00::/129") == "column 6: prefix length in 'fd00::/129' must be 0..128");
  CHECK(ErrorOf("laddr:10.0.0.0/") == "column 7: prefix length in '10.0.0.0/' must be 0..32");
  CHECK(ErrorOf("raddr:10.0.0.0/-1") == "column 7: prefix length in '10.0.0.0/-1' must be 0..32");
  CHECK(ErrorOf("addr:10.0.0.0/8x") == "column 6: prefix length in '10.0.0.0/8x' must be 0..32");
  CHECK(ErrorOf("addr:10.0.0.0/8/8") ==
        "column 6: prefix length in '10.0.0.0/8/8' must be 0..32");
  CHECK(ErrorOf("raddr:banana/8") == "column 7: 'banana/8' is not an address/prefix");
  CHECK(ErrorOf("addr:10.0.0/8") == "column 6: '10.0.0/8' is not an address/prefix");
  CHECK(ErrorOf("addr:/8") == "column 6: '/8' is not an address/prefix");
  CHECK(ParseFilter("addr:10.0.0.0/32").ok());
  CHECK(ParseFilter("addr:fd00::/128").ok());
  CHECK(ParseFilter("addr:10.0.0.0/0").ok());
}

// Regression test (this was a bug): the address before '/' is handed to
// inet_pton as a C string, so an embedded NUL ends it and what follows is
// silently ignored: "addr:10.0.0.0<NUL>junk/8" parses as 10.0.0.0/8.
//
TEST_CASE("filter: an address with an embedded NUL is rejected", "[filter]") {
  const std::string expr("addr:10.0.0.0\0junk/8", 20);
  REQUIRE(expr.size() == 20);
  auto f = ParseFilter(expr);
  CHECK_FALSE(f.ok());
}

TEST_CASE("filter: unterminated quotes name the quote's column", "[filter]") {
  CHECK(ErrorOf("\"open") == "column 1: unterminated quote; close it with \"");
  CHECK(ErrorOf("ok \"open") == "column 4: unterminated quote; close it with \"");
  CHECK(ColumnOf("process:\"my server") == "column 9");
  CHECK(ColumnOf("a\"b") == "column 2");
  CHECK(ColumnOf("\"a b\"\"c") == "column 6");  // The second, unclosed quote.
  CHECK(ColumnOf("-\"x") == "column 2");
}

TEST_CASE("filter: a lone - or ! is an error at its column", "[filter]") {
  const std::string msg = ": '-' or '!' must be followed by a term";
  CHECK(ErrorOf("-") == "column 1" + msg);
  CHECK(ErrorOf("!") == "column 1" + msg);
  CHECK(ErrorOf("tcp -") == "column 5" + msg);
  CHECK(ErrorOf("tcp - udp") == "column 5" + msg);
  CHECK(ErrorOf("! tcp") == "column 1" + msg);
  CHECK(ErrorOf("a  !\tb") == "column 4" + msg);
}

TEST_CASE("filter: other bad values name the value's column", "[filter]") {
  CHECK(ErrorOf("proto:sctp") ==
        "column 7: unknown protocol 'sctp'; use tcp, udp, icmp, icmpv6 or arp");
  CHECK(ErrorOf("ip:5") == "column 4: ip:5 must be ip:4 or ip:6");
  CHECK(ErrorOf("ip:v4") == "column 4: ip:v4 must be ip:4 or ip:6");
  CHECK(ErrorOf("dir:sideways") == "column 5: dir:sideways must be dir:in or dir:out");
  CHECK(ColumnOf("tcp -dir:up") == "column 10");
}

TEST_CASE("filter: at most 4096 bytes", "[filter]") {
  CHECK(ParseFilter(std::string(kMaxFilterBytes, 'a')).ok());
  CHECK(ParseFilter(std::string(kMaxFilterBytes, ' ')).ok());
  CHECK(ErrorOf(std::string(kMaxFilterBytes + 1, 'a')) ==
        "column 4097: filter is longer than 4096 bytes");
  CHECK(ErrorOf(std::string(kMaxFilterBytes + 1, ' ')) ==
        "column 4097: filter is longer than 4096 bytes");
  // The length limit wins over a syntax error earlier in the text.
  CHECK(ColumnOf("prot:x " + std::string(kMaxFilterBytes, 'a')) == "column 4097");
}

TEST_CASE("filter: at most 64 terms", "[filter]") {
  std::string many;
  for (size_t i = 0; i < kMaxFilterTerms; ++i) many += "a ";
  auto f = ParseFilter(many);
  REQUIRE(f.ok());
  CHECK(f->terms().size() == 64);
  // The 65th term starts at column 2 * 64 + 1.
  CHECK(ErrorOf(many + "b") == "column 129: more than 64 terms");
  CHECK(ErrorOf(many + "-port:1 x") == "column 129: more than 64 terms");
}

TEST_CASE("filter: random bytes parse or fail with a column", "[filter]") {
  std::mt19937 rng(20261125);
  FakeSubject v4;
  FakeSubject v6 = V6Subject();
  // Half the inputs are raw bytes; the other half come from the language's
  // own alphabet, so they get past the lexer into keys, ranges and prefixes.
  const std::string alphabet =
      "abcdefpilortsnu0123456789:::///---!!\"  .\t\x01\xff";
  const std::string_view keys[] = {"port:", "addr:", "raddr:", "pid:", "state:", "ip:",
                                   "dir:",  "proto:", "-",     "!",    "fd00::", "\""};
  int parsed = 0;
  int failed = 0;
  for (int i = 0; i < 4000; ++i) {
    size_t len = i % 3 == 0 ? rng() % 64 : rng() % 5001;
    if (i < 40) len = 4090 + static_cast<size_t>(i) * 23;  // Around the size limit.
    std::string input;
    input.reserve(len + 8);
    const bool raw = i % 2 == 0;
    while (input.size() < len) {
      if (raw) {
        input.push_back(static_cast<char>(rng() & 0xff));
      } else if (rng() % 8 == 0) {
        input.append(keys[rng() % std::size(keys)]);
      } else {
        input.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    input.resize(len);
    auto f = ParseFilter(input);
    if (f.ok()) {
      ++parsed;
      CHECK(input.size() <= kMaxFilterBytes);
      CHECK(f->terms().size() <= kMaxFilterTerms);
      for (const FilterTerm& t : f->terms()) {
        CHECK(t.column >= 1);
        CHECK(t.column <= input.size());
      }
      (void)f->Matches(v4);
      (void)f->Matches(v6);
    } else {
      ++failed;
      INFO(f.status().ToString());
      CHECK(f.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK(std::string(f.status().message()).starts_with("column "));
      if (input.size() > kMaxFilterBytes) {
        CHECK(std::string(f.status().message()).starts_with("column 4097: "));
      }
    }
  }
  // Both outcomes were exercised.
  CHECK(parsed > 100);
  CHECK(failed > 100);
}

TEST_CASE("filter: country, asn and org match the remote end's location", "[filter]") {
  FakeSubject s;
  CHECK(Match("country:us", s));
  CHECK(Match("country:US", s));
  CHECK(Match("country:united", s));       // Text in the name.
  CHECK(Match("country:\"united states\"", s));
  CHECK_FALSE(Match("country:de", s));
  CHECK(Match("-country:de", s));
  s.location.country_name = "Sweden";
  s.location.country_code = "SE";
  CHECK_FALSE(Match("country:de", s));     // Two letters are the code, not "swe-de-n".
  CHECK(Match("country:swe", s));
  CHECK(Match("asn:15133", s));
  CHECK(Match("asn:AS15133", s));
  CHECK(Match("asn:15000-16000", s));
  CHECK_FALSE(Match("asn:15134", s));
  CHECK(Match("org:edgecast", s));
  CHECK(Match("org:\"edgecast inc\"", s));
  CHECK_FALSE(Match("org:google", s));
  // A special range: named by country:, no ASN.
  s.location = FilterLocation{"", "", "CGNAT", 0, ""};
  CHECK(Match("country:cgnat", s));
  CHECK_FALSE(Match("country:private", s));
  CHECK_FALSE(Match("asn:0", s));          // Unknown is not AS 0.
  CHECK_FALSE(Match("asn:0-4294967295", s));
  // Without GeoIP every such term fails (and its negation matches).
  s.location = FilterLocation{};
  CHECK_FALSE(Match("country:us", s));
  CHECK(Match("-org:x", s));
  CHECK(ErrorOf("asn:google").starts_with("column 5: 'google' is not a number"));
  CHECK(ErrorOf("asn:AS").starts_with("column 5:"));
  CHECK(ErrorOf("asn:99999999999").starts_with("column 5:"));
}

TEST_CASE("filter: pod, namespace (ns) and container", "[filter][k8s]") {
  FakeSubject s;
  // Outside Kubernetes every such term fails (its negation matches).
  CHECK_FALSE(Match("pod:web", s));
  CHECK_FALSE(Match("namespace:shop", s));
  CHECK_FALSE(Match("container:nginx", s));
  CHECK(Match("-pod:web", s));
  s.pod = "web-7d4b9c-xk2lp";
  s.pod_namespace = "shop";
  s.container = "nginx " + std::string(64, 'a');  // Name and id.
  CHECK(Match("pod:web", s));
  CHECK(Match("POD:WEB-7D4B9C-XK2LP", s));
  CHECK_FALSE(Match("pod:db", s));
  CHECK(Match("namespace:shop ns:sho", s));
  CHECK_FALSE(Match("ns:kube-system", s));
  CHECK(Match("container:nginx", s));
  CHECK(Match("container:aaaaaaaaaaaa", s));  // A short id.
  CHECK_FALSE(Match("container:envoy", s));
  CHECK(Match("pod:/^web-[0-9a-f]+-/ ns:/^shop$/", s));
  CHECK(Match("container:/^nginx$/", s));  // One of the listed values, anchored.
  CHECK_FALSE(Match("pod:/^xk2lp/", s));
  // Keys parse as their own, not as words.
  auto f = ParseFilter("pod:a namespace:b ns:c container:d");
  REQUIRE(f.ok());
  REQUIRE(f->terms().size() == 4);
  CHECK(f->terms()[0].key == FilterKey::kPod);
  CHECK(f->terms()[1].key == FilterKey::kNamespace);
  CHECK(f->terms()[2].key == FilterKey::kNamespace);
  CHECK(f->terms()[3].key == FilterKey::kContainer);
  CHECK(f->terms()[3].text == "d");
  CHECK(ErrorOf("pod:") == "column 5: missing value after ':'");
  // Bare words do not look at pods (a pod name is asked for by key).
  CHECK_FALSE(Match("xk2lp", s));
}

}  // namespace
}  // namespace rustnet
