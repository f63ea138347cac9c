#include "common/filter.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>

namespace rustnet {
namespace {

IpAddress Addr(const std::string& text) {
  uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) return IpAddress::FromV4(b);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), b) == 1);
  return IpAddress::FromV6(b);
}

struct FakeSubject final : FilterSubject {
  std::string protocol = "tcp";
  int ip_version = 4;
  IpAddress addr[2] = {Addr("10.1.2.3"), Addr("93.184.215.14")};
  uint16_t port[2] = {51000, 443};
  std::string state = "established";
  std::string direction = "out";
  std::string service = "https";
  std::string app = "tls";
  std::string sni = "www.Example.com";
  std::string hosts = "www.example.com";
  std::string process = "curl";
  uint32_t pid = 4242;
  std::string user = "alice";
  std::string iface = "eth0";

  std::string_view Protocol() const override { return protocol; }
  int IpVersion() const override { return ip_version; }
  const IpAddress& Address(int side) const override { return addr[side]; }
  uint16_t Port(int side) const override { return port[side]; }
  std::string_view State() const override { return state; }
  std::string_view Direction() const override { return direction; }
  std::string_view Service() const override { return service; }
  std::string_view App() const override { return app; }
  std::string_view Sni() const override { return sni; }
  std::string_view Hosts() const override { return hosts; }
  std::string_view Process() const override { return process; }
  uint32_t Pid() const override { return pid; }
  std::string_view User() const override { return user; }
  std::string_view Interface() const override { return iface; }
};

bool Match(const std::string& expr, const FilterSubject& s) {
  auto f = ParseFilter(expr);
  INFO(expr << " -> " << f.status().ToString());
  REQUIRE(f.ok());
  return f->Matches(s);
}

std::string ErrorOf(const std::string& expr) {
  auto f = ParseFilter(expr);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(f.status().message());
}

TEST_CASE("filter: empty matches everything", "[filter]") {
  FakeSubject s;
  CHECK(Match("", s));
  CHECK(Match("   ", s));
  CHECK(ParseFilter("")->empty());
}

TEST_CASE("filter: every key matches its field and only it", "[filter]") {
  FakeSubject s;
  CHECK(Match("proto:tcp", s));
  CHECK_FALSE(Match("proto:udp", s));
  CHECK(Match("protocol:TCP", s));
  CHECK(Match("ip:4", s));
  CHECK_FALSE(Match("ip:6", s));
  CHECK(Match("port:443", s));
  CHECK(Match("port:51000", s));
  CHECK(Match("port:400-500", s));
  CHECK_FALSE(Match("port:444-500", s));
  CHECK(Match("rport:443", s));
  CHECK_FALSE(Match("lport:443", s));
  CHECK(Match("lport:51000", s));
  CHECK(Match("addr:93.184", s));
  CHECK(Match("raddr:93.184.215.14", s));
  CHECK_FALSE(Match("laddr:93.184", s));
  CHECK(Match("laddr:10.0.0.0/8", s));
  CHECK_FALSE(Match("raddr:10.0.0.0/8", s));
  CHECK(Match("addr:93.184.215.0/24", s));
  CHECK(Match("state:established", s));
  CHECK(Match("state:est", s));
  CHECK_FALSE(Match("state:closed", s));
  CHECK(Match("dir:out", s));
  CHECK(Match("dir:outbound", s));
  CHECK_FALSE(Match("dir:in", s));
  CHECK(Match("service:http", s));
  CHECK(Match("app:tls", s));
  CHECK(Match("sni:example", s));
  CHECK(Match("sni:EXAMPLE.COM", s));
  CHECK(Match("host:www.example", s));
  CHECK(Match("process:cur", s));
  CHECK_FALSE(Match("process:wget", s));
  CHECK(Match("pid:4242", s));
  CHECK(Match("pid:4000-5000", s));
  CHECK_FALSE(Match("pid:1", s));
  CHECK(Match("user:ali", s));
  CHECK(Match("iface:eth", s));
}

TEST_CASE("filter: terms AND together; - and ! negate", "[filter]") {
  FakeSubject s;
  CHECK(Match("proto:tcp port:443 curl", s));
  CHECK_FALSE(Match("proto:tcp port:80", s));
  CHECK(Match("-proto:udp", s));
  CHECK(Match("!port:80", s));
  CHECK_FALSE(Match("-port:443", s));
  CHECK(Match("-wget", s));
}

TEST_CASE("filter: bare words match anywhere, case-insensitively", "[filter]") {
  FakeSubject s;
  CHECK(Match("CURL", s));
  CHECK(Match("93.184.215.14:443", s));
  CHECK(Match("eth0", s));
  CHECK(Match("established", s));
  CHECK(Match("https", s));
  CHECK_FALSE(Match("nothing-like-this", s));
  CHECK(ParseFilter("curl")->needs_text());
  CHECK_FALSE(ParseFilter("port:1")->needs_text());
}

TEST_CASE("filter: quotes group spaces", "[filter]") {
  FakeSubject s;
  s.process = "my server";
  CHECK(Match("process:\"my server\"", s));
  CHECK(Match("\"my server\"", s));
  CHECK_FALSE(Match("process:\"my client\"", s));
}

TEST_CASE("filter: IPv6 prefixes and addresses", "[filter]") {
  FakeSubject s;
  s.ip_version = 6;
  s.addr[0] = Addr("fd00::1");
  s.addr[1] = Addr("2001:db8::beef");
  CHECK(Match("addr:fd00::/8", s));
  CHECK(Match("raddr:2001:db8::/32", s));
  CHECK_FALSE(Match("addr:10.0.0.0/8", s));
  CHECK(Match("fd00::1", s));         // A bare IPv6 address is a word.
  CHECK(Match("2001:db8::beef", s));  // Letters before "::" are not a key.
  FakeSubject v4;
  CHECK(Match("addr:::/0", v4));  // ::/0 covers everything, v4-mapped too.
  CHECK_FALSE(Match("addr:fd00::/8", v4));
}

TEST_CASE("filter: state values accept dashes and prefixes", "[filter]") {
  FakeSubject s;
  s.state = "time_wait";
  CHECK(Match("state:time-wait", s));
  s.state = "fin_wait_2";
  CHECK(Match("state:fin", s));
}

TEST_CASE("filter: errors name the column", "[filter]") {
  CHECK(ErrorOf("prot:tcp") == std::string("column 1: unknown key 'prot'; keys are: proto, ip, "
                                           "port, lport, rport, addr, laddr, raddr, state, dir, "
                                           "service, app, sni, host, process, pid, user, iface"));
  CHECK(ErrorOf("proto:tcp port:") == "column 16: missing value after ':'");
  CHECK(ErrorOf("port:abc").starts_with("column 6: 'abc' is not a number"));
  CHECK(ErrorOf("port:2000-1000").starts_with("column 6:"));
  CHECK(ErrorOf("port:70000").starts_with("column 6:"));
  CHECK(ErrorOf("addr:10.0.0.0/33").starts_with("column 6: prefix length"));
  CHECK(ErrorOf("addr:banana/8").starts_with("column 6:"));
  CHECK(ErrorOf("ok \"open").starts_with("column 4: unterminated quote"));
  CHECK(ErrorOf("tcp -").starts_with("column 5:"));
  CHECK(ErrorOf("proto:sctp").starts_with("column 7: unknown protocol"));
  CHECK(ErrorOf("ip:5").starts_with("column 4:"));
  CHECK(ErrorOf("dir:sideways").starts_with("column 5:"));
}

TEST_CASE("filter: limits on size and terms", "[filter]") {
  CHECK(ErrorOf(std::string(kMaxFilterBytes + 1, 'a')).find("longer than 4096") !=
        std::string::npos);
  CHECK(ParseFilter(std::string(kMaxFilterBytes, 'a')).ok());
  std::string many;
  for (size_t i = 0; i < kMaxFilterTerms; ++i) many += "a ";
  CHECK(ParseFilter(many).ok());
  CHECK(ErrorOf(many + "b").find("more than 64 terms") != std::string::npos);
}

TEST_CASE("filter: random input parses or fails cleanly", "[filter]") {
  std::mt19937 rng(20261125);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:/-!\" .\t\x01\xff";
  FakeSubject s;
  for (int i = 0; i < 2000; ++i) {
    std::string input(rng() % 200, ' ');
    for (char& c : input) c = alphabet[rng() % alphabet.size()];
    auto f = ParseFilter(input);
    if (f.ok()) {
      (void)f->Matches(s);
    } else {
      CHECK(std::string(f.status().message()).starts_with("column "));
    }
  }
}

}  // namespace
}  // namespace rustnet
