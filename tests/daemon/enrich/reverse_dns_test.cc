// Reverse DNS: PTR names, the answer parser as hostile input, the token
// bucket, and the resolver thread against a DNS server run by the test on
// loopback (answers with a TTL, NXDOMAIN, silence): names appear, one
// query per address however often it is asked for, negative caching, a
// resolver that never answers costs nothing to the caller and bounded
// memory, the rate limit holds.
#include "daemon/enrich/reverse_dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

IpAddress Parse(const std::string& text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return IpAddress::FromV4(buf);
  REQUIRE(inet_pton(AF_INET6, text.c_str(), buf) == 1);
  return IpAddress::FromV6(buf);
}

std::vector<uint8_t> EncodeName(const std::string& name) {
  std::vector<uint8_t> out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<ptrdiff_t>(start),
               name.begin() + static_cast<ptrdiff_t>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

void Put16(std::vector<uint8_t>* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}

// A response to `qname` (PTR) with `rcode`, and a PTR answer to `target`
// with `ttl` unless target is empty; `cname_first` puts a CNAME before it.
std::vector<uint8_t> Response(uint16_t id, const std::string& qname, int rcode,
                              const std::string& target, uint32_t ttl, bool cname_first = false) {
  std::vector<uint8_t> m;
  Put16(&m, id);
  Put16(&m, static_cast<uint16_t>(0x8180 | rcode));
  Put16(&m, 1);
  Put16(&m, static_cast<uint16_t>(target.empty() ? 0 : (cname_first ? 2 : 1)));
  Put16(&m, 0);
  Put16(&m, 0);
  const std::vector<uint8_t> q = EncodeName(qname);
  m.insert(m.end(), q.begin(), q.end());
  Put16(&m, 12);
  Put16(&m, 1);
  auto record = [&](uint16_t type, const std::vector<uint8_t>& rdata) {
    Put16(&m, 0xC00C);  // The question's name.
    Put16(&m, type);
    Put16(&m, 1);
    Put16(&m, static_cast<uint16_t>(ttl >> 16));
    Put16(&m, static_cast<uint16_t>(ttl));
    Put16(&m, static_cast<uint16_t>(rdata.size()));
    m.insert(m.end(), rdata.begin(), rdata.end());
  };
  if (!target.empty()) {
    if (cname_first) record(5, EncodeName("9.0/25.69.2.81.in-addr.arpa"));
    record(12, EncodeName(target));
  }
  return m;
}

TEST_CASE("reverse_dns_ptr_names", "[enrich][rdns]") {
  CHECK(PtrQueryName(Parse("81.2.69.142")) == "142.69.2.81.in-addr.arpa");
  CHECK(PtrQueryName(Parse("2001:db8::567:89ab")) ==
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST_CASE("reverse_dns_answer_parser_hostile_input", "[enrich][rdns]") {
  std::string name;
  uint32_t ttl = 0;
  auto ok = Response(7, "142.69.2.81.in-addr.arpa", 0, "host.example.test", 3600);
  REQUIRE(ParsePtrAnswer(ok.data(), ok.size(), &name, &ttl));
  CHECK(name == "host.example.test");
  CHECK(ttl == 3600);
  auto cname = Response(7, "142.69.2.81.in-addr.arpa", 0, "after.cname.test", 60, true);
  REQUIRE(ParsePtrAnswer(cname.data(), cname.size(), &name, &ttl));
  CHECK(name == "after.cname.test");
  auto none = Response(7, "142.69.2.81.in-addr.arpa", 3, "", 0);
  CHECK_FALSE(ParsePtrAnswer(none.data(), none.size(), &name, &ttl));
  // Every truncation of a good answer is refused or parsed, never read past.
  for (size_t n = 0; n < ok.size(); ++n) {
    std::vector<uint8_t> cut(ok.begin(), ok.begin() + static_cast<ptrdiff_t>(n));
    CHECK_FALSE(ParsePtrAnswer(cut.data(), cut.size(), &name, &ttl));
  }
  // A compression pointer to itself, an answer count past the end.
  std::vector<uint8_t> loop = ok;
  loop[loop.size() - EncodeName("host.example.test").size() - 10 - 2] = 0xC0;
  ParsePtrAnswer(loop.data(), loop.size(), &name, &ttl);  // Must not hang or crash.
  std::vector<uint8_t> many = ok;
  many[6] = 0xff;
  many[7] = 0xff;
  CHECK(ParsePtrAnswer(many.data(), many.size(), &name, &ttl));  // The first PTR is whole.

  CHECK(IsPlausibleHostName("host.example.test"));
  CHECK(IsPlausibleHostName("host.example.test."));
  CHECK(IsPlausibleHostName("_x-1.a"));
  CHECK_FALSE(IsPlausibleHostName(""));
  CHECK_FALSE(IsPlausibleHostName("a..b"));
  CHECK_FALSE(IsPlausibleHostName("evil\x1b[2J.test"));
  CHECK_FALSE(IsPlausibleHostName("sp ace.test"));
  CHECK_FALSE(IsPlausibleHostName(std::string(64, 'a') + ".test"));
  CHECK_FALSE(IsPlausibleHostName(std::string(250, 'a').replace(60, 1, ".") + ".test"));
}

TEST_CASE("reverse_dns_token_bucket", "[enrich][rdns]") {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  TokenBucket b(2, 2);
  CHECK(b.Take(t0));
  CHECK(b.Take(t0));
  CHECK_FALSE(b.Take(t0));  // Burst spent.
  CHECK_FALSE(b.Take(t0 + absl::Milliseconds(400)));
  CHECK(b.Take(t0 + absl::Milliseconds(500)));  // 2/s: one more after 0.5 s.
  CHECK_FALSE(b.Take(t0 + absl::Milliseconds(500)));
  // A long pause refills only up to the burst.
  int taken = 0;
  for (int i = 0; i < 10; ++i) taken += b.Take(t0 + absl::Seconds(100)) ? 1 : 0;
  CHECK(taken == 2);
  // Over 10 s at 2/s: 20 tokens, plus at most the burst.
  TokenBucket c(2, 2);
  taken = 0;
  for (int ms = 0; ms <= 10'000; ms += 10) {
    taken += c.Take(t0 + absl::Milliseconds(ms)) ? 1 : 0;
  }
  CHECK(taken >= 20);
  CHECK(taken <= 22);
}

// A DNS server on 127.0.0.1 (a port of its own): PTR answers from `names`
// (TTL 300), NXDOMAIN for the rest; silent: reads and never answers.
class FakeDns {
 public:
  FakeDns(std::map<std::string, std::string> names, bool silent)
      : names_(std::move(names)), silent_(silent) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string server() const { return absl::StrCat("127.0.0.1:", port_); }
  uint16_t port() const { return port_; }
  // The source ports queries came from.
  std::set<uint16_t> sources() {
    std::lock_guard<std::mutex> l(mu_);
    return sources_;
  }
  int queries(const std::string& qname) {
    std::lock_guard<std::mutex> l(mu_);
    return seen_[qname];
  }
  int total() {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const auto& [k, v] : seen_) n += v;
    return n;
  }

 private:
  void Serve() {
    uint8_t buf[1500];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 17) continue;
      // The question's name, label by label (no compression in queries).
      std::string qname;
      size_t i = 12;
      while (i < static_cast<size_t>(n) && buf[i] != 0) {
        const size_t l = buf[i];
        if (!qname.empty()) qname += '.';
        qname.append(reinterpret_cast<const char*>(buf + i + 1), l);
        i += l + 1;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        ++seen_[qname];
        sources_.insert(ntohs(from.sin_port));
      }
      if (silent_) continue;
      const uint16_t id = static_cast<uint16_t>((buf[0] << 8) | buf[1]);
      auto it = names_.find(qname);
      const auto reply = it == names_.end() ? Response(id, qname, 3, "", 0)
                                            : Response(id, qname, 0, it->second, 300);
      sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  std::map<std::string, std::string> names_;
  bool silent_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, int> seen_;
  std::set<uint16_t> sources_;
};

// Polls `address` until a name (or the stats say it was answered).
std::string WaitForName(ReverseDns* r, const IpAddress& a) {
  for (int i = 0; i < 1000; ++i) {
    std::string name = r->Lookup(a);
    if (!name.empty()) return name;
    usleep(10'000);
  }
  return {};
}

TEST_CASE("reverse_dns_names_from_a_server_once_per_address", "[enrich][rdns]") {
  FakeDns dns({{"142.69.2.81.in-addr.arpa", "host.example.test"},
               {"9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.f.c.2.0.a.2.ip6.arpa",
                "v6.example.test"}},
              false);
  ReverseDnsOptions o;
  o.servers = dns.server();
  o.timeout_ms = 500;
  auto r = ReverseDns::Start(o);
  REQUIRE(r.ok());
  const IpAddress gb = Parse("81.2.69.142");
  // Asked for many times before the answer: one query.
  for (int i = 0; i < 50; ++i) (*r)->Lookup(gb);
  CHECK(WaitForName(r->get(), gb) == "host.example.test");
  CHECK(dns.queries("142.69.2.81.in-addr.arpa") == 1);
  CHECK(WaitForName(r->get(), Parse("2a02:cf40::9")) == "v6.example.test");
  // NXDOMAIN: negative, cached (asked once).
  const IpAddress none = Parse("8.8.4.4");
  (*r)->Lookup(none);
  for (int i = 0; i < 500 && (*r)->stats().not_found == 0; ++i) usleep(10'000);
  CHECK((*r)->stats().not_found == 1);
  for (int i = 0; i < 20; ++i) CHECK((*r)->Lookup(none).empty());
  CHECK(dns.queries("4.4.8.8.in-addr.arpa") == 1);
  // Loopback and multicast are never asked about.
  CHECK((*r)->Lookup(Parse("127.0.0.1")).empty());
  CHECK((*r)->Lookup(Parse("224.0.0.251")).empty());
  const ReverseDns::Stats s = (*r)->stats();
  CHECK(s.answered == 2);
  CHECK(s.queries == 3);
  CHECK(s.hits >= 20);
  CHECK(s.cache_entries == 3);
  CHECK(dns.total() == 3);
}

TEST_CASE("reverse_dns_remembers_its_own_sockets", "[enrich][rdns]") {
  FakeDns dns({{"142.69.2.81.in-addr.arpa", "host.example.test"}}, false);
  ReverseDnsOptions o;
  o.servers = dns.server();
  o.timeout_ms = 500;
  auto r = ReverseDns::Start(o);
  REQUIRE(r.ok());
  const IpAddress server = Parse("127.0.0.1");
  CHECK_FALSE((*r)->IsOwnSocket(server, dns.port(), 1));
  CHECK(WaitForName(r->get(), Parse("81.2.69.142")) == "host.example.test");
  (*r)->Lookup(Parse("8.8.4.4"));
  for (int i = 0; i < 500 && (*r)->stats().not_found == 0; ++i) usleep(10'000);
  const std::set<uint16_t> sources = dns.sources();
  REQUIRE_FALSE(sources.empty());
  for (uint16_t port : sources) {
    CHECK((*r)->IsOwnSocket(server, dns.port(), port));
    // Another server, another server port: not ours.
    CHECK_FALSE((*r)->IsOwnSocket(Parse("127.0.0.2"), dns.port(), port));
    CHECK_FALSE((*r)->IsOwnSocket(server, static_cast<uint16_t>(dns.port() + 1), port));
  }
  uint16_t other = 1;
  while (sources.contains(other)) ++other;
  CHECK_FALSE((*r)->IsOwnSocket(server, dns.port(), other));
}

TEST_CASE("reverse_dns_silent_server_bounded_and_rate_limited", "[enrich][rdns]") {
  FakeDns dns({}, true);
  ReverseDnsOptions o;
  o.servers = dns.server();
  o.timeout_ms = 200;
  o.tries = 1;
  o.queue_capacity = 64;
  o.max_in_flight = 8;
  o.rate_per_second = 20;
  const absl::Time start = absl::Now();
  auto r = ReverseDns::Start(o);
  REQUIRE(r.ok());
  // 1000 addresses: each call answers at once (nothing to show); what does
  // not fit the queue is dropped and counted.
  for (int i = 0; i < 1000; ++i) {
    CHECK((*r)->Lookup(Parse(absl::StrCat("81.2.", i / 256, ".", i % 256))).empty());
  }
  ReverseDns::Stats s = (*r)->stats();
  CHECK(s.dropped >= 1000 - 64 - 8);
  CHECK(s.queued + s.in_flight <= 64 + 8);
  // Failures are counted and cached as negatives once timed out.
  for (int i = 0; i < 1000 && (*r)->stats().failed < 8; ++i) usleep(10'000);
  s = (*r)->stats();
  CHECK(s.failed >= 8);
  CHECK(s.in_flight <= 8);
  CHECK(s.cache_entries <= 64 + 8);
  // The rate limit: never more queries than the bucket allows since start
  // (an upper bound, not a speed).
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  INFO("queries " << s.queries << " in " << elapsed << " s");
  CHECK(static_cast<double>(s.queries) <= 20 * elapsed + 20 + 1);
  CHECK(dns.total() <= static_cast<int>(s.queries) * 2);
}

TEST_CASE("reverse_dns_bad_server_is_one_sentence", "[enrich][rdns]") {
  ReverseDnsOptions o;
  o.servers = "not an address";
  auto r = ReverseDns::Start(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("--resolve-dns-server") != std::string_view::npos);
}

}  // namespace
}  // namespace rustnet
