// DNS names that are not clean host names, and the answer records that
// carry names (issue 19): CNAME, PTR, NS, MX, SRV, SVCB/HTTPS, TXT length.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/dns.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;

// Labels split at '.', each byte as is (so "a b" puts a space in a label).
void PutName(Bytes& b, const std::string& name) {
  size_t start = name == "." ? 1 : 0;  // The root: no label.
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    Put8(b, static_cast<uint8_t>(dot - start));
    PutBytes(b, testing::Text(name.substr(start, dot - start)));
    start = dot + 1;
  }
  Put8(b, 0);
}

void PutHeader(Bytes& b, uint16_t flags, uint16_t qd, uint16_t an) {
  Put16(b, 0x4242);
  Put16(b, flags);
  Put16(b, qd);
  Put16(b, an);
  Put16(b, 0);
  Put16(b, 0);
}

struct Rr {
  uint16_t type;
  Bytes rdata;
};

// A response to `qname`/`qtype` whose answers are `rrs`, each owned by the
// question's name (a pointer to offset 12).
Bytes Response(const std::string& qname, uint16_t qtype, const std::vector<Rr>& rrs) {
  Bytes b;
  PutHeader(b, 0x8180, 1, static_cast<uint16_t>(rrs.size()));
  PutName(b, qname);
  Put16(b, qtype);
  Put16(b, 1);
  for (const Rr& rr : rrs) {
    PutBytes(b, {0xc0, 12});
    Put16(b, rr.type);
    Put16(b, 1);
    Put32(b, 300);
    Put16(b, static_cast<uint16_t>(rr.rdata.size()));
    PutBytes(b, rr.rdata);
  }
  return b;
}

Bytes Query(const std::string& qname, uint16_t qtype) {
  Bytes b;
  PutHeader(b, 0x0100, 1, 0);  // RD.
  PutName(b, qname);
  Put16(b, qtype);
  Put16(b, 1);
  return b;
}

Bytes NameRdata(const std::string& name) {
  Bytes b;
  PutName(b, name);
  return b;
}
Bytes PrefRdata(uint16_t pref, const std::string& name) {
  Bytes b;
  Put16(b, pref);
  PutName(b, name);
  return b;
}
Bytes SrvRdata(uint16_t prio, uint16_t weight, uint16_t port, const std::string& target) {
  Bytes b;
  Put16(b, prio);
  Put16(b, weight);
  Put16(b, port);
  PutName(b, target);
  return b;
}
// HTTPS/SVCB: priority, target, alpn (key 1), port (key 3).
Bytes SvcbRdata(uint16_t prio, const std::string& target, const std::vector<std::string>& alpn,
                uint16_t port) {
  Bytes b;
  Put16(b, prio);
  PutName(b, target);
  Bytes ids;
  for (const std::string& a : alpn) {
    Put8(ids, static_cast<uint8_t>(a.size()));
    PutBytes(ids, testing::Text(a));
  }
  Put16(b, 1);
  Put16(b, static_cast<uint16_t>(ids.size()));
  PutBytes(b, ids);
  Put16(b, 3);
  Put16(b, 2);
  Put16(b, port);
  return b;
}

Bytes Tcp(const Bytes& m) {
  Bytes b;
  Put16(b, static_cast<uint16_t>(m.size()));
  PutBytes(b, m);
  return b;
}

const std::vector<Rr>& NamedAnswers() {
  static const std::vector<Rr> rrs = {
      {5, NameRdata("alias.example.net")},
      {33, SrvRdata(10, 60, 5060, "sip1.example.net")},
      {15, PrefRdata(20, "mx.example.net")},
      {2, NameRdata("ns1.example.net")},
      {12, NameRdata("host-7.example.net")},
      {65, SvcbRdata(1, ".", {"h2", "h3"}, 8443)},
      {16, Bytes{11, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 'a', 'l', 'l'}},
  };
  return rrs;
}

void CheckNamedRecords(const AppRecord& r) {
  REQUIRE(r.dns->records.size() == 7);
  const auto& rec = r.dns->records;
  CHECK(rec[0].type == "CNAME");
  CHECK(rec[0].name == "_sip._udp.example.net");
  CHECK(rec[0].target == "alias.example.net");
  CHECK(rec[1].type == "SRV");
  CHECK(rec[1].target == "sip1.example.net");
  CHECK(rec[1].port == 5060);
  CHECK(rec[1].priority == 10);
  CHECK(rec[2].type == "MX");
  CHECK(rec[2].target == "mx.example.net");
  CHECK(rec[2].priority == 20);
  CHECK(rec[3].type == "NS");
  CHECK(rec[3].target == "ns1.example.net");
  CHECK(rec[4].type == "PTR");
  CHECK(rec[4].target == "host-7.example.net");
  CHECK(rec[5].type == "HTTPS");
  CHECK(rec[5].target == ".");
  CHECK(rec[5].alpn == std::vector<std::string>{"h2", "h3"});
  CHECK(rec[5].port == 8443);
  CHECK(rec[5].priority == 1);
  CHECK(rec[6].type == "TXT");
  CHECK(rec[6].txt_length == 12);  // The length only: the text is not kept.
  CHECK(rec[6].target.empty());
  // The CNAME target is still an answer too, as before.
  CHECK(r.dns->answers == std::vector<std::string>{"alias.example.net"});
}

TEST_CASE("dns names: CNAME, SRV, MX, NS, PTR, HTTPS and TXT answers become records",
          "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const Bytes query = Query("_sip._udp.example.net", 33);
  const Bytes response = Response("_sip._udp.example.net", 33, NamedAnswers());
  SECTION("UDP") {
    const FlowInfo flow{kIpProtoUdp, 40000, 53};
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, flow, {{true, query}, {false, response}},
                               testing::Split::kWhole, &r, &a) == ParseState::kDone);
    CheckNamedRecords(r);
    CHECK_FALSE(r.dns->unusual_name);  // Underscores are host-name bytes here.
    CHECK_FALSE(r.dns->suspicious_name);
    CHECK(r.dns->opcode.empty());
    CHECK(a.empty());
  }
  SECTION("TCP whole, byte by byte and at random splits") {
    const FlowInfo flow{kIpProtoTcp, 40000, 53};
    for (auto split :
         {testing::Split::kWhole, testing::Split::kByteByByte, testing::Split::kRandom}) {
      for (uint32_t seed = 1; seed <= (split == testing::Split::kRandom ? 20u : 1u); ++seed) {
        AppRecord r;
        DpiAnomalies a;
        CHECK(testing::FeedSession(*d, flow, {{true, Tcp(query)}, {false, Tcp(response)}}, split,
                                   &r, &a, seed) == ParseState::kDone);
        CheckNamedRecords(r);
        CHECK(a.empty());
      }
    }
  }
}

TEST_CASE("dns names: records are capped in count and bytes", "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 53};
  std::vector<Rr> many;
  for (int i = 0; i < 40; ++i) many.push_back({33, SrvRdata(1, 1, 80, "t.example")});
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, flow, {{false, Response("s.example", 33, many)}},
                             testing::Split::kWhole, &r, &a);
  CHECK(r.dns->records.size() == kMaxDnsRecordsKept);

  // Long targets: the byte cap ends the list first.
  const std::string label(60, 'x');
  const std::string target = label + "." + label + "." + label + ".example";
  std::vector<Rr> long_ones;
  for (int i = 0; i < 16; ++i) long_ones.push_back({12, NameRdata(target)});
  AppRecord r2;
  (void)testing::FeedSession(*d, flow, {{false, Response("p.example", 12, long_ones)}},
                             testing::Split::kWhole, &r2, &a);
  size_t bytes = 0;
  for (const DnsRecordFacts& rec : r2.dns->records) bytes += rec.name.size() + rec.target.size();
  CHECK(bytes <= kMaxDnsRecordBytes);
  CHECK(r2.dns->records.size() < 16);
  CHECK_FALSE(r2.dns->records.empty());
}

TEST_CASE("dns names: dns_name_unusual_bytes are replaced as nDPI does and counted",
          "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 53};
  Bytes q;
  PutHeader(q, 0x0100, 1, 0);
  // "we ird!\x01.example": a space and '!' (printable: '_'), 0x01 ('?').
  PutBytes(q, {8, 'w', 'e', ' ', 'i', 'r', 'd', '!', 0x01, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0});
  Put16(q, 1);
  Put16(q, 1);
  CHECK(d->Probe(flow, true, q));
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, flow, {{true, q}}, testing::Split::kWhole, &r, &a);
  CHECK(r.protocol == AppProtocol::kDns);
  CHECK(r.dns->query == "we_ird_?.example");
  CHECK(r.dns->unusual_name);
  CHECK(a["dns_name_unusual_bytes"] == 1);
}

TEST_CASE("dns names: underscores and a wildcard label are host names", "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 53};
  for (const std::string name : {"_dmarc.example.com", "*.example.com", "_25._tcp.mx.example"}) {
    AppRecord r;
    DpiAnomalies a;
    (void)testing::FeedSession(*d, flow, {{true, Query(name, 16)}}, testing::Split::kWhole, &r,
                               &a);
    CHECK(r.dns->query == name);
    CHECK_FALSE(r.dns->unusual_name);
    CHECK(a.empty());
  }
  // '*' inside a label is not a wildcard: replaced.
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, flow, {{true, Query("a*b.example", 1)}}, testing::Split::kWhole,
                             &r, &a);
  CHECK(r.dns->query == "a_b.example");
  CHECK(a["dns_name_unusual_bytes"] == 1);
}

TEST_CASE("dns names: mDNS instance names keep their spaces, uncounted", "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 5353, 5353};
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, flow, {{true, Query("My Printer._ipp._tcp.local", 33)}},
                             testing::Split::kWhole, &r, &a);
  CHECK(r.protocol == AppProtocol::kMdns);
  CHECK(r.dns->query == "My Printer._ipp._tcp.local");
  CHECK_FALSE(r.dns->unusual_name);
  CHECK(a.empty());
}

TEST_CASE("dns names: dns_name_suspicious: a 63-byte label or a long name is kept and flagged",
          "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 53};
  // iodine-like: a full label of base32.
  const std::string tunnel = std::string(63, 'a') + ".t.example.com";
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, flow, {{true, Query(tunnel, 10)}}, testing::Split::kWhole, &r,
                             &a);
  CHECK(r.dns->query == tunnel);
  CHECK(r.dns->suspicious_name);
  CHECK(a["dns_name_suspicious"] == 1);
  // Many short labels, 170 bytes in all.
  std::string exfil;
  for (int i = 0; i < 17; ++i) exfil += "abcdefghi.";
  exfil += "x";
  AppRecord r2;
  DpiAnomalies a2;
  (void)testing::FeedSession(*d, flow, {{true, Query(exfil, 16)}}, testing::Split::kWhole, &r2,
                             &a2);
  CHECK(r2.dns->query == exfil);
  CHECK(r2.dns->suspicious_name);
  // A 59-byte label and a short name are not flagged.
  AppRecord r3;
  DpiAnomalies a3;
  (void)testing::FeedSession(*d, flow, {{true, Query(std::string(59, 'b') + ".example", 1)}},
                             testing::Split::kWhole, &r3, &a3);
  CHECK_FALSE(r3.dns->suspicious_name);
  CHECK(a3.empty());
}

TEST_CASE("dns names: an inverse query (opcode 1) is named by its answer's address",
          "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 53};
  // RFC 1035 §6.4.2: no question; one answer with the address.
  Bytes q;
  PutHeader(q, 0x0800, 0, 1);  // Opcode 1.
  Put8(q, 0);                  // Root owner name.
  Put16(q, 1);
  Put16(q, 1);
  Put32(q, 0);
  Put16(q, 4);
  PutBytes(q, {192, 0, 2, 7});
  CHECK(d->Probe(flow, true, q));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, flow, {{true, q}}, testing::Split::kWhole, &r, &a) ==
        ParseState::kNeedMore);
  CHECK(r.protocol == AppProtocol::kDns);
  CHECK(r.dns->query == "192.0.2.7");
  CHECK(r.dns->query_type == "IQUERY");
  CHECK(r.dns->opcode == "IQUERY");
  CHECK(a.empty());
  // A request with neither question nor inverse opcode is not DNS.
  Bytes bare;
  PutHeader(bare, 0x0000, 0, 1);
  CHECK_FALSE(d->Probe(flow, true, bare));
}

TEST_CASE("dns names: dns_too_many_pointers: a chain of pointers ends without a hang",
          "[dpi][dns]") {
  // An answer whose owner name points to itself (a loop): counted, the
  // question kept.
  Bytes m;
  PutHeader(m, 0x8180, 1, 1);
  PutName(m, "a.example");
  Put16(m, 1);
  Put16(m, 1);
  const size_t self = m.size();
  PutBytes(m, {static_cast<uint8_t>(0xc0 | (self >> 8)), static_cast<uint8_t>(self & 0xff)});
  Put16(m, 1);
  Put16(m, 1);
  Put32(m, 0);
  Put16(m, 4);
  PutBytes(m, {1, 2, 3, 4});
  DpiAnomalies a;
  auto loop = ParseDnsMessage(m, &a);
  REQUIRE(loop.has_value());
  CHECK(loop->query == "a.example");
  CHECK(loop->answers.empty());
  CHECK(a["dns_pointer_not_backwards"] == 1);

  // A TXT whose RDATA is a chain of 20 backward pointers (p0 -> 12,
  // pk -> pk-1), then a CNAME whose target points at the chain's end: 21
  // jumps, more than kMaxDnsPointers.
  Bytes c;
  PutHeader(c, 0x8180, 1, 2);
  PutName(c, "a.example");
  Put16(c, 1);
  Put16(c, 1);
  PutBytes(c, {0xc0, 12});
  Put16(c, 16);
  Put16(c, 1);
  Put32(c, 0);
  Put16(c, 40);
  const size_t first = c.size();
  PutBytes(c, {0xc0, 12});
  for (size_t k = 1; k < 20; ++k) {
    const size_t prev = first + 2 * (k - 1);
    PutBytes(c, {static_cast<uint8_t>(0xc0 | (prev >> 8)), static_cast<uint8_t>(prev & 0xff)});
  }
  const size_t last = first + 2 * 19;
  PutBytes(c, {0xc0, 12});
  Put16(c, 5);
  Put16(c, 1);
  Put32(c, 0);
  Put16(c, 2);
  PutBytes(c, {static_cast<uint8_t>(0xc0 | (last >> 8)), static_cast<uint8_t>(last & 0xff)});
  DpiAnomalies a2;
  auto chain = ParseDnsMessage(c, &a2);
  REQUIRE(chain.has_value());
  CHECK(chain->query == "a.example");
  REQUIRE(chain->records.size() == 1);
  CHECK(chain->records[0].type == "TXT");
  CHECK(chain->records[0].txt_length == 40);
  CHECK(a2["dns_too_many_pointers"] == 1);
}

TEST_CASE("dns names: dns_svc_param_malformed keeps the target, counts the param", "[dpi][dns]") {
  Bytes rdata;
  Put16(rdata, 1);
  PutName(rdata, "svc.example");
  Put16(rdata, 1);   // alpn
  Put16(rdata, 40);  // ... longer than what follows.
  PutBytes(rdata, {2, 'h', '2'});
  DpiAnomalies a;
  auto m = ParseDnsMessage(Response("example", 65, {{65, rdata}}), &a);
  REQUIRE(m.has_value());
  REQUIRE(m->records.size() == 1);
  CHECK(m->records[0].target == "svc.example");
  CHECK(m->records[0].alpn.empty());
  CHECK(a["dns_svc_param_malformed"] == 1);
}

TEST_CASE("dns names: dns_rdata_bad_length: an SRV cut before its port is dropped", "[dpi][dns]") {
  Bytes rdata;
  Put16(rdata, 1);
  Put16(rdata, 1);
  DpiAnomalies a;
  auto m = ParseDnsMessage(Response("_x._tcp.example", 33,
                                    {{33, rdata}, {15, PrefRdata(5, "mx.example")}}),
                           &a);
  REQUIRE(m.has_value());
  REQUIRE(m->records.size() == 1);  // The MX after it is still read.
  CHECK(m->records[0].type == "MX");
  CHECK(a["dns_rdata_bad_length"] == 1);
}

TEST_CASE("dns names: a record's name past its RDATA is refused (dns_name_past_end)",
          "[dpi][dns]") {
  // A PTR whose RDATA length cuts its name short.
  Bytes rdata = NameRdata("host.example");
  rdata.resize(5);
  DpiAnomalies a;
  auto m = ParseDnsMessage(Response("7.2.0.192.in-addr.arpa", 12, {{12, rdata}}), &a);
  REQUIRE(m.has_value());
  CHECK(m->records.empty());
  CHECK(a.size() == 1);
}

}  // namespace
}  // namespace rustnet
