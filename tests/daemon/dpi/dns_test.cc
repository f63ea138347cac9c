#include "daemon/dpi/dns.h"

#include <catch2/catch.hpp>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;

void PutName(Bytes& b, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    Put8(b, static_cast<uint8_t>(dot - start));
    PutBytes(b, testing::Text(name.substr(start, dot - start)));
    start = dot + 1;
  }
  Put8(b, 0);
}

Bytes Query(const std::string& name, uint16_t type) {
  Bytes b;
  Put16(b, 0x1234);
  Put16(b, 0x0100);  // RD
  Put16(b, 1);
  Put16(b, 0);
  Put16(b, 0);
  Put16(b, 0);
  PutName(b, name);
  Put16(b, type);
  Put16(b, 1);
  return b;
}

// Answer: CNAME www.example.com -> example.com (compressed), then an A and
// an AAAA record for it.
Bytes Response() {
  Bytes b;
  Put16(b, 0x1234);
  Put16(b, 0x8180);
  Put16(b, 1);
  Put16(b, 3);
  Put16(b, 0);
  Put16(b, 0);
  PutName(b, "www.example.com");  // at offset 12
  Put16(b, 1);
  Put16(b, 1);
  // CNAME: name = pointer to 12; rdata = pointer to "example.com" (offset 16).
  PutBytes(b, {0xc0, 12});
  Put16(b, 5);
  Put16(b, 1);
  Put32(b, 60);
  Put16(b, 2);
  PutBytes(b, {0xc0, 16});
  PutBytes(b, {0xc0, 16});
  Put16(b, 1);
  Put16(b, 1);
  Put32(b, 60);
  Put16(b, 4);
  PutBytes(b, {93, 184, 215, 14});
  PutBytes(b, {0xc0, 16});
  Put16(b, 28);
  Put16(b, 1);
  Put32(b, 60);
  Put16(b, 16);
  PutBytes(b, testing::Ip("2606:2800:21f:cb07:6820:80da:af6b:8b2c"));
  return b;
}

TEST_CASE("dns: query and compressed answers over UDP", "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 53};
  AppRecord r;
  DpiAnomalies a;
  CHECK(d->Probe(flow, true, Query("www.example.com", 1)));
  CHECK(testing::FeedSession(*d, flow, {{true, Query("www.example.com", 1)}, {false, Response()}},
                             testing::Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kDns);
  CHECK(r.dns.query == "www.example.com");
  CHECK(r.dns.query_type == "A");
  CHECK(r.dns.response_code == "NOERROR");
  CHECK(r.dns.answers ==
        std::vector<std::string>{"example.com", "93.184.215.14",
                                 "2606:2800:21f:cb07:6820:80da:af6b:8b2c"});
  CHECK(a.empty());
}

TEST_CASE("dns: over TCP, two messages in one segment and a split length prefix",
          "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoTcp, 40000, 53};
  Bytes stream;
  for (const Bytes& m : {Query("a.test", 28), Query("b.test", 1)}) {
    Put16(stream, static_cast<uint16_t>(m.size()));
    PutBytes(stream, m);
  }
  Bytes reply;
  const Bytes resp = Response();
  Put16(reply, static_cast<uint16_t>(resp.size()));
  PutBytes(reply, resp);
  for (auto split : {testing::Split::kWhole, testing::Split::kByteByByte, testing::Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, flow, {{true, stream}, {false, reply}}, split, &r, &a) ==
          ParseState::kDone);
    CHECK(r.dns.query == "a.test");
    CHECK(r.dns.query_type == "AAAA");
    CHECK(r.dns.over_tcp);
    CHECK(r.dns.answers.size() == 3);
  }
}

TEST_CASE("dns: dns_pointer_not_backwards (a loop) is refused", "[dpi][dns]") {
  // A question whose name is a pointer to itself.
  DpiAnomalies a;
  Bytes q;
  Put16(q, 1);
  Put16(q, 0x0100);
  Put16(q, 1);
  Put16(q, 0);
  Put32(q, 0);
  PutBytes(q, {0xc0, 12});
  Put32(q, 0x00010001);
  CHECK_FALSE(ParseDnsMessage(q, &a).has_value());
  CHECK(a["dns_pointer_not_backwards"] == 1);
}

TEST_CASE("dns: dns_bad_label_type for a length over 63, and dns_name_past_end", "[dpi][dns]") {
  Bytes q;
  Put16(q, 1);
  Put16(q, 0x0100);
  Put16(q, 1);
  Put16(q, 0);
  Put32(q, 0);
  Put8(q, 64);
  q.insert(q.end(), 64, 'a');
  Put8(q, 0);
  Put32(q, 0x00010001);
  DpiAnomalies a;
  CHECK_FALSE(ParseDnsMessage(q, &a).has_value());
  CHECK(a["dns_bad_label_type"] == 1);  // 64 = 0x40: a reserved label type (RFC 6891 §5), not a length.
  Bytes cut = Query("www.example.com", 1);
  cut.resize(20);
  CHECK_FALSE(ParseDnsMessage(cut, &a).has_value());
  CHECK(a["dns_label_past_end"] + a["dns_name_past_end"] >= 1);
}

TEST_CASE("dns: every truncation of a response parses or fails cleanly", "[dpi][dns]") {
  const Bytes full = Response();
  for (size_t n = 0; n <= full.size(); ++n) {
    DpiAnomalies a;
    (void)ParseDnsMessage(std::span<const uint8_t>(full).subspan(0, n), &a);
  }
  SUCCEED("no crash; ASan checks the reads");
}

TEST_CASE("dns: probe refuses random UDP", "[dpi][dns]") {
  auto d = MakeDnsDissector();
  CHECK_FALSE(d->Probe(FlowInfo{kIpProtoUdp, 1, 2}, true, Bytes(40, 0xff)));
}

}  // namespace
}  // namespace rustnet
