// IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) encoding against vectors
// written out by hand from the RFCs' layouts: the template sets, a data
// record, variable-length strings (short and the 255 escape), sequence
// numbers, message size limits.
#include "daemon/export/ipfix/flow_encoder.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace rustnet::ipfix {
namespace {

// "00 0a ..." (spaces and | ignored) -> bytes.
std::string Hex(std::string_view text) {
  std::string out;
  int nibble = -1;
  for (char ch : text) {
    if (!std::isxdigit(static_cast<unsigned char>(ch))) continue;
    const int v = std::isdigit(static_cast<unsigned char>(ch))
                      ? ch - '0'
                      : std::tolower(static_cast<unsigned char>(ch)) - 'a' + 10;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<char>(nibble << 4 | v));
      nibble = -1;
    }
  }
  REQUIRE(nibble < 0);
  return out;
}

std::string ToHex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// "10.0.0.1", "2001:db8::1" (tests/test_util.h).
constexpr auto V4 = &testing::Addr;
constexpr auto V6 = &testing::Addr;

uint32_t Be32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}
uint16_t Be16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) << 8 | static_cast<uint8_t>(b[at + 1]));
}

// The rustnet enterprise elements of the per-direction templates, 1..8
// under PEN 32473 (0x7ed9): varlen (ffff) but processId (4 bytes).
constexpr std::string_view kEnterpriseFields =
    "8001 ffff 00007ed9 | 8002 ffff 00007ed9 | 8003 ffff 00007ed9 | 8004 ffff 00007ed9 |"
    "8005 0004 00007ed9 | 8006 ffff 00007ed9 | 8007 ffff 00007ed9 | 8008 ffff 00007ed9";
// After the addresses: ports, protocol, ipVersion, octet and packet deltas,
// flowStart/EndMilliseconds, tcpControlBits (1 byte), flowEndReason,
// ingressInterface, sourceMacAddress.
constexpr std::string_view kCommonFields =
    "0007 0002 | 000b 0002 | 0004 0001 | 003c 0001 | 0001 0008 | 0002 0008 |"
    "0098 0008 | 0099 0008 | 0006 0001 | 0088 0001 | 000a 0004 | 0038 0006";

FlowRecord SampleV4() {
  FlowRecord r;
  r.src = V4("192.0.2.1");
  r.dst = V4("198.51.100.2");
  r.src_port = 12345;
  r.dst_port = 443;
  r.protocol = 6;
  r.ip_version = 4;
  r.octets = 100;
  r.packets = 2;
  r.start_ms = 1'700'000'000'000;  // 0x18bcfe56800
  r.end_ms = 1'700'000'000'500;    // 0x18bcfe569f4
  r.tcp_flags = 0x1b;
  r.end_reason = EndReason::kEndOfFlow;
  r.ingress_interface = 3;
  r.src_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  r.application = "tls";
  r.host_name = "example.com";
  r.pid = 4242;
  r.process_name = "curl";
  return r;
}

TEST_CASE("ipfix varlen strings: one length byte below 255, 255 and two bytes from 255 on") {
  std::string out;
  AppendVarlen("", &out);
  CHECK(out == Hex("00"));
  out.clear();
  AppendVarlen("abc", &out);
  CHECK(out == Hex("03 616263"));
  out.clear();
  AppendVarlen(std::string(254, 'x'), &out);
  CHECK(out.size() == 255);
  CHECK(static_cast<uint8_t>(out[0]) == 254);
  out.clear();
  AppendVarlen(std::string(255, 'x'), &out);  // RFC 7011 §7: 255 itself takes the escape.
  CHECK(out.substr(0, 3) == Hex("ff 00ff"));
  CHECK(out.size() == 3 + 255);
  out.clear();
  AppendVarlen(std::string(300, 'y'), &out);
  CHECK(out.substr(0, 3) == Hex("ff 012c"));
  CHECK(out.substr(3) == std::string(300, 'y'));
  out.clear();
  AppendVarlen(std::string(70000, 'z'), &out);  // Cut at the 16-bit length's limit.
  CHECK(out.substr(0, 3) == Hex("ff ffff"));
  CHECK(out.size() == 3 + 65535);
}

TEST_CASE("ipfix strings are cut without splitting a UTF-8 sequence") {
  CHECK(CutUtf8("h\xc3\xa9llo", 2) == "h");  // 'é' is two bytes at 1..2.
  CHECK(CutUtf8("h\xc3\xa9llo", 3) == "h\xc3\xa9");
  CHECK(CutUtf8("abc", 10) == "abc");
  CHECK(CutUtf8("\xe2\x82\xac", 2).empty());  // '€' whole or not at all.
}

TEST_CASE("ipfix template message byte-exact: header, set 2, templates 256 and 257") {
  FlowEncoder e(EncoderOptions{Format::kIpfix, false, 0x01020304, 1472});
  const std::string got = e.TemplateMessage(1'700'000'000'123);
  const std::string want =
      // Version 10, length 268, export time 1700000000 s, sequence 0, domain.
      Hex("000a 010c 6553f100 00000000 01020304") +
      // Template set (ID 2), 252 bytes: two templates of 22 fields each.
      Hex("0002 00fc") +
      Hex("0100 0016 | 0008 0004 | 000c 0004") + Hex(kCommonFields) + Hex(kEnterpriseFields) +
      Hex("0101 0016 | 001b 0010 | 001c 0010") + Hex(kCommonFields) + Hex(kEnterpriseFields);
  CHECK(ToHex(got) == ToHex(want));
  CHECK(e.sequence() == 0);  // Templates are not data records.
}

TEST_CASE("ipfix biflow templates carry RFC 5103 reverse elements under PEN 29305") {
  FlowEncoder e(EncoderOptions{Format::kIpfix, true, 0, 1472});
  const std::string got = e.TemplateMessage(0);
  // Template 258: after the forward deltas, reverseOctetDeltaCount and
  // reversePacketDeltaCount (0x8001/0x8002, 0x7279), and reverse
  // tcpControlBits after the forward one.
  const std::string v4 =
      Hex("0102 0019 | 0008 0004 | 000c 0004 | 0007 0002 | 000b 0002 | 0004 0001 | 003c 0001 |"
          "0001 0008 | 0002 0008 | 8001 0008 00007279 | 8002 0008 00007279 |"
          "0098 0008 | 0099 0008 | 0006 0001 | 8006 0001 00007279 | 0088 0001 | 000a 0004 |"
          "0038 0006") +
      Hex(kEnterpriseFields);
  REQUIRE(got.size() > 20);
  CHECK(ToHex(got.substr(20, v4.size())) == ToHex(v4));
  CHECK(got.find(Hex("0103 0019 001b 0010")) != std::string::npos);
}

TEST_CASE("ipfix data record byte-exact, with varlen enterprise strings") {
  FlowEncoder e(EncoderOptions{Format::kIpfix, false, 0x01020304, 1472});
  const FlowRecord r = SampleV4();
  std::vector<FlowEncoder::Message> out;
  e.Encode({&r, 1}, false, 1'700'000'000'123, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].records == 1);
  const std::string want =
      Hex("000a 006b 6553f100 00000000 01020304") +  // 107 bytes, sequence 0
      Hex("0100 005b") +                             // Data set for template 256, 91 bytes
      Hex("c0000201 c6336402 | 3039 01bb | 06 | 04 | 0000000000000064 | 0000000000000002 |"
          "0000018bcfe56800 | 0000018bcfe569f4 | 1b | 03 | 00000003 | 020000000001") +
      Hex("03 746c73 | 0b 6578616d706c652e636f6d | 00 | 04 6375726c | 00001092 | 00 | 00 | 00");
  CHECK(ToHex(out[0].bytes) == ToHex(want));
}

TEST_CASE("ipfix IPv6 records use template 257 with 16-byte addresses") {
  FlowEncoder e(EncoderOptions{Format::kIpfix, false, 0, 1472});
  FlowRecord r = SampleV4();
  r.src = V6("2001:db8::1");
  r.dst = V6("2001:db8::2");
  r.ip_version = 6;
  std::vector<FlowEncoder::Message> out;
  e.Encode({&r, 1}, false, 0, &out);
  REQUIRE(out.size() == 1);
  const std::string& b = out[0].bytes;
  CHECK(Be16(b, 16) == 257);
  CHECK(ToHex(b.substr(20, 32)) == ToHex(Hex("20010db8000000000000000000000001"
                                                "20010db8000000000000000000000002")));
  CHECK(static_cast<uint8_t>(b[20 + 32 + 5]) == 6);  // ipVersion after ports and protocol.
}

TEST_CASE("ipfix sequence numbers count data records, not messages or templates") {
  FlowEncoder e(EncoderOptions{Format::kIpfix, false, 7, 1472});
  std::vector<FlowRecord> three(3, SampleV4());
  std::vector<FlowEncoder::Message> out;
  e.Encode(three, true, 0, &out);
  REQUIRE(out.size() == 1);
  CHECK(Be32(out[0].bytes, 8) == 0);
  CHECK(Be32(out[0].bytes, 12) == 7);  // Observation domain.
  CHECK(Be16(out[0].bytes, 16) == 2);  // The template set first.
  CHECK(e.sequence() == 3);
  CHECK(Be32(e.TemplateMessage(0), 8) == 3);
  out.clear();
  e.Encode({three.data(), 1}, false, 0, &out);
  CHECK(Be32(out[0].bytes, 8) == 3);
  CHECK(e.sequence() == 4);
}

TEST_CASE("ipfix messages stay under the size limit and sets switch with the address family") {
  FlowEncoder e(EncoderOptions{Format::kIpfix, false, 0, 1472});
  std::vector<FlowRecord> records;
  for (int i = 0; i < 300; ++i) {
    FlowRecord r = SampleV4();
    r.host_name = std::string(static_cast<size_t>(i % 300), 'h');  // Up to 299: cut at 253.
    if (i % 3 == 0) {
      r.src = V6("2001:db8::1");
      r.dst = V6("2001:db8::2");
      r.ip_version = 6;
    }
    records.push_back(r);
  }
  std::vector<FlowEncoder::Message> out;
  e.Encode(records, true, 0, &out);
  REQUIRE(out.size() > 10);
  uint32_t total = 0;
  uint32_t expected_sequence = 0;
  for (const FlowEncoder::Message& m : out) {
    CHECK(m.bytes.size() <= 1472);
    CHECK(Be16(m.bytes, 2) == m.bytes.size());
    CHECK(Be32(m.bytes, 8) == expected_sequence);
    expected_sequence += m.records;
    // Walk the sets: their lengths add up to the message's.
    size_t at = 16;
    while (at + 4 <= m.bytes.size()) {
      const uint16_t id = Be16(m.bytes, at);
      CHECK((id == 2 || id == 256 || id == 257));
      const uint16_t len = Be16(m.bytes, at + 2);
      REQUIRE(len >= 4);
      at += len;
    }
    CHECK(at == m.bytes.size());
    total += m.records;
  }
  CHECK(total == 300);
  CHECK(e.sequence() == 300);
}

TEST_CASE("netflow v9 template flowset and data flowset byte-exact") {
  FlowEncoder e(EncoderOptions{Format::kNetflowV9, false, 0x0a0b0c0d, 1472});
  const std::string t = e.TemplateMessage(1'700'000'000'123);
  // sysUptime counts from 24 h before the first message, from whole
  // seconds: 1700000000000 - 1699913600123 = 86399877 ms.
  const std::string v9_fields =
      "0007 0002 | 000b 0002 | 0004 0001 | 003c 0001 | 0001 0008 | 0002 0008 |"
      "0016 0004 | 0015 0004 | 0006 0001 | 000a 0004 | 0038 0006";
  const std::string want_t =
      Hex("0009 0002 05265b85 6553f100 00000000 0a0b0c0d") +  // count 2: two templates
      Hex("0000 0074") +                                    // FlowSet 0, 116 bytes
      Hex("0100 000d | 0008 0004 | 000c 0004") + Hex(v9_fields) +
      Hex("0101 000d | 001b 0010 | 001c 0010") + Hex(v9_fields);
  CHECK(ToHex(t) == ToHex(want_t));
  CHECK(e.sequence() == 1);  // v9 counts packets, templates' too.

  const FlowRecord r = SampleV4();
  std::vector<FlowEncoder::Message> out;
  e.Encode({&r, 1}, false, 1'700'000'000'123, &out);
  REQUIRE(out.size() == 1);
  const std::string want_d =
      Hex("0009 0001 05265b85 6553f100 00000001 0a0b0c0d") +
      Hex("0100 0038") +  // 4 + 49 bytes of record + 3 of padding (RFC 3954 §5.3)
      Hex("c0000201 c6336402 | 3039 01bb | 06 | 04 | 0000000000000064 | 0000000000000002 |"
          "05265b85 | 05265d79 | 1b | 00000003 | 020000000001 | 000000");
  CHECK(ToHex(out[0].bytes) == ToHex(want_d));
  CHECK(e.sequence() == 2);
}

}  // namespace
}  // namespace rustnet::ipfix
