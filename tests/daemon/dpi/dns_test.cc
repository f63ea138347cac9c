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
  CHECK(r.dns->query == "www.example.com");
  CHECK(r.dns->query_type == "A");
  CHECK(r.dns->response_code == "NOERROR");
  CHECK(r.dns->answers ==
        std::vector<std::string>{"example.com", "93.184.215.14",
                                 "2606:2800:21f:cb07:6820:80da:af6b:8b2c"});
  // The addresses also in binary, for the passive DNS cache (no CNAME).
  REQUIRE(r.dns->addresses.size() == 2);
  CHECK(r.dns->addresses[0].ToString() == "93.184.215.14");
  CHECK(r.dns->addresses[1].ToString() == "2606:2800:21f:cb07:6820:80da:af6b:8b2c");
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
    CHECK(r.dns->query == "a.test");
    CHECK(r.dns->query_type == "AAAA");
    CHECK(r.dns->over_tcp);
    CHECK(r.dns->answers.size() == 3);
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

// A response header (1 question, `answers` answers) and the question for
// "www.example.com" (its name at offset 12), A, IN.
Bytes ResponseStart(uint16_t answers) {
  Bytes b;
  Put16(b, 0x1234);
  Put16(b, 0x8180);
  Put16(b, 1);
  Put16(b, answers);
  Put16(b, 0);
  Put16(b, 0);
  PutName(b, "www.example.com");
  Put16(b, 1);
  Put16(b, 1);
  return b;
}

// Regression: the answer's TYPE, CLASS/TTL and RDLENGTH were once read
// without checking they were there. Cut right before each: the message is
// kept with the answers before it, and dns_answer_truncated counted once.
TEST_CASE("dns: an answer cut right before TYPE, CLASS or RDLENGTH is dns_answer_truncated",
          "[dpi][dns]") {
  Bytes full = ResponseStart(2);
  PutBytes(full, {0xc0, 12});  // A 93.184.215.14
  Put16(full, 1);
  Put16(full, 1);
  Put32(full, 60);
  Put16(full, 4);
  PutBytes(full, {93, 184, 215, 14});
  const size_t second = full.size();
  PutBytes(full, {0xc0, 12});
  Put16(full, 1);
  Put16(full, 1);
  Put32(full, 60);
  Put16(full, 4);
  PutBytes(full, {1, 2, 3, 4});
  for (size_t cut : {second + 2, second + 3, second + 4, second + 8, second + 10}) {
    INFO("cut at " << cut - second << " bytes into the second answer");
    DpiAnomalies a;
    auto m = ParseDnsMessage(std::span<const uint8_t>(full).first(cut), &a);
    REQUIRE(m.has_value());
    CHECK(m->query == "www.example.com");
    CHECK(m->answers == std::vector<std::string>{"93.184.215.14"});
    CHECK(a == DpiAnomalies{{"dns_answer_truncated", 1}});
  }
  DpiAnomalies a;
  auto m = ParseDnsMessage(std::span<const uint8_t>(full).first(full.size() - 1), &a);
  REQUIRE(m.has_value());
  CHECK(a == DpiAnomalies{{"dns_rdata_past_end", 1}});
  CHECK(ParseDnsMessage(full, &a)->answers.size() == 2);
}

TEST_CASE("dns: a question cut before QTYPE or QCLASS is dns_question_truncated", "[dpi][dns]") {
  const Bytes q = Query("www.example.com", 1);
  for (size_t cut : {q.size() - 4, q.size() - 3, q.size() - 1}) {
    DpiAnomalies a;
    CHECK_FALSE(ParseDnsMessage(std::span<const uint8_t>(q).first(cut), &a).has_value());
    CHECK(a == DpiAnomalies{{"dns_question_truncated", 1}});
  }
}

// A query whose question name is `name_bytes` (compression pointers and
// labels as given), then QTYPE and QCLASS.
Bytes QueryWithName(const Bytes& name_bytes) {
  Bytes b;
  Put16(b, 1);
  Put16(b, 0x0100);
  Put16(b, 1);
  Put16(b, 0);
  Put32(b, 0);
  PutBytes(b, name_bytes);
  Put32(b, 0x00010001);
  return b;
}

TEST_CASE("dns: compression pointers forward, to themselves and in loops are refused",
          "[dpi][dns]") {
  DpiAnomalies a;
  // Forward: to the QTYPE after the name.
  CHECK_FALSE(ParseDnsMessage(QueryWithName({0xc0, 14}), &a).has_value());
  CHECK(a == DpiAnomalies{{"dns_pointer_not_backwards", 1}});
  // A loop through backward pointers: "a" at 12, then a pointer back to 12,
  // forever; stopped after kMaxDnsPointers.
  a.clear();
  CHECK_FALSE(ParseDnsMessage(QueryWithName({1, 'a', 0xc0, 12}), &a).has_value());
  CHECK(a == DpiAnomalies{{"dns_too_many_pointers", 1}});
  // A pointer whose second byte is missing.
  a.clear();
  const Bytes cut = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0};
  CHECK_FALSE(ParseDnsMessage(cut, &a).has_value());
  CHECK(a == DpiAnomalies{{"dns_name_past_end", 1}});
}

TEST_CASE("dns: a chain of kMaxDnsPointers backward pointers is followed, one more is not",
          "[dpi][dns]") {
  // A records whose names each point to the previous answer's name: the
  // k-th answer's name takes k pointers to reach the question's.
  for (int chain : {kMaxDnsPointers, kMaxDnsPointers + 1}) {
    Bytes b = ResponseStart(static_cast<uint16_t>(chain));
    size_t previous = 12;
    for (int i = 0; i < chain; ++i) {
      const size_t here = b.size();
      PutBytes(b, {static_cast<uint8_t>(0xc0 | (previous >> 8)), static_cast<uint8_t>(previous)});
      Put16(b, 1);
      Put16(b, 1);
      Put32(b, 60);
      Put16(b, 4);
      PutBytes(b, {10, 0, 0, static_cast<uint8_t>(i + 1)});
      previous = here;
    }
    DpiAnomalies a;
    auto m = ParseDnsMessage(b, &a);
    REQUIRE(m.has_value());
    INFO("chain " << chain);
    CHECK(m->answers.size() == static_cast<size_t>(kMaxDnsPointers));
    CHECK(m->answers.back() == "10.0.0.16");
    CHECK(a.size() == (chain == kMaxDnsPointers ? 0u : 1u));
    if (chain > kMaxDnsPointers) CHECK(a["dns_too_many_pointers"] == 1);
  }
}

TEST_CASE("dns: a CNAME target may point back but not past its RDATA", "[dpi][dns]") {
  Bytes b = ResponseStart(1);
  PutBytes(b, {0xc0, 12});
  Put16(b, 5);
  Put16(b, 1);
  Put32(b, 60);
  Put16(b, 2);
  PutBytes(b, {3, 'w', 'w'});  // A label running past the 2-byte RDATA.
  Put8(b, 0);
  DpiAnomalies a;
  auto m = ParseDnsMessage(b, &a);
  REQUIRE(m.has_value());
  CHECK(m->answers.empty());
  CHECK(a["dns_label_past_end"] == 1);
}

TEST_CASE("dns: dns_rdata_bad_length for an A record of 5 bytes; empty RDATA is legal",
          "[dpi][dns]") {
  for (uint16_t rdlength : {uint16_t{5}, uint16_t{0}}) {
    Bytes b = ResponseStart(1);
    PutBytes(b, {0xc0, 12});
    Put16(b, 1);
    Put16(b, 1);
    Put32(b, 60);
    Put16(b, rdlength);
    b.insert(b.end(), rdlength, 7);
    DpiAnomalies a;
    auto m = ParseDnsMessage(b, &a);
    REQUIRE(m.has_value());
    CHECK(m->answers.empty());
    CHECK(a.size() == (rdlength == 0 ? 0u : 1u));
    if (rdlength != 0) CHECK(a["dns_rdata_bad_length"] == 1);
  }
}

TEST_CASE("dns: TCP messages of the largest length are reassembled", "[dpi][dns]") {
  auto d = MakeDnsDissector();
  const FlowInfo flow{kIpProtoTcp, 40000, 53};
  // A query padded with an additional record to 65,535 bytes.
  Bytes q = Query("big.test", 1);
  q[11] = 1;  // ARCOUNT: the padding follows as an unparsed record.
  q.resize(0xffff, 0);
  Bytes stream;
  Put16(stream, 0xffff);
  PutBytes(stream, q);
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, flow, {{true, stream}}, testing::Split::kRandom, &r, &a, 5);
  CHECK(r.dns->query == "big.test");
  CHECK(a.empty());
}

}  // namespace
}  // namespace rustnet
