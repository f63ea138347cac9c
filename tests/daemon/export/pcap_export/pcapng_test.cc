// pcapng blocks byte for byte against vectors built by hand from the
// specification (draft-ietf-opsawg-pcapng §3.5, §4.1-4.3): SHB and IDB with
// and without options, EPB with and without a comment, data and option
// padding to 32 bits; comments cut on a UTF-8 boundary; process names made
// valid UTF-8 without control characters.
#include "daemon/export/pcap_export/pcapng.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace rustnet::pcapng {
namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST_CASE("pcapng section header without options") {
  std::string out;
  AppendSectionHeader("", &out);
  CHECK(out == B({0x0A, 0x0D, 0x0D, 0x0A,  // Block type.
                  28, 0, 0, 0,             // Block total length.
                  0x4D, 0x3C, 0x2B, 0x1A,  // Byte-order magic, little-endian.
                  1, 0, 0, 0,              // Version 1.0.
                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // Section length -1.
                  28, 0, 0, 0}));
}

TEST_CASE("pcapng section header with shb_userappl padded") {
  std::string out;
  AppendSectionHeader("abc", &out);
  CHECK(out == B({0x0A, 0x0D, 0x0D, 0x0A, 40, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0,
                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                  4, 0, 3, 0, 'a', 'b', 'c', 0,  // shb_userappl, 3 bytes + 1 pad.
                  0, 0, 0, 0,                    // opt_endofopt.
                  40, 0, 0, 0}));
}

TEST_CASE("pcapng interface description with link type, snaplen and if_name") {
  std::string out;
  AppendInterfaceDescription(113, 262144, "lo", &out);
  CHECK(out == B({1, 0, 0, 0, 32, 0, 0, 0,
                  113, 0, 0, 0,        // LINKTYPE_LINUX_SLL, reserved.
                  0, 0, 4, 0,          // Snaplen 262144.
                  2, 0, 2, 0, 'l', 'o', 0, 0,  // if_name.
                  0, 0, 0, 0, 32, 0, 0, 0}));
  std::string bare;
  AppendInterfaceDescription(1, 0, "", &bare);
  CHECK(bare == B({1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0}));
}

TEST_CASE("pcapng enhanced packet without comment pads the data") {
  const std::vector<uint8_t> data = {0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
  std::string out;
  // 0x1_0000_0002 us: the high word is 1.
  AppendEnhancedPacket(0x100000002LL, data, 60, "", &out);
  CHECK(out == B({6, 0, 0, 0, 40, 0, 0, 0,
                  0, 0, 0, 0,    // Interface 0.
                  1, 0, 0, 0,    // Timestamp, high.
                  2, 0, 0, 0,    // Timestamp, low.
                  5, 0, 0, 0,    // Captured.
                  60, 0, 0, 0,   // Original length.
                  0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0, 0, 0,
                  40, 0, 0, 0}));
  CHECK(EnhancedPacketSize(5, 0) == out.size());
}

TEST_CASE("pcapng enhanced packet with opt_comment") {
  const std::vector<uint8_t> data = {1, 2, 3, 4};
  std::string out;
  AppendEnhancedPacket(7, data, 4, "hello", &out);
  CHECK(out == B({6, 0, 0, 0, 52, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0,
                  4, 0, 0, 0, 1, 2, 3, 4,  // No padding: 4 bytes.
                  1, 0, 5, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0,  // opt_comment.
                  0, 0, 0, 0, 52, 0, 0, 0}));
  CHECK(EnhancedPacketSize(4, 5) == out.size());
}

TEST_CASE("pcapng enhanced packet clamps a negative time and a short original length") {
  const std::vector<uint8_t> data = {1, 2, 3};
  std::string out;
  AppendEnhancedPacket(-5, data, 1, "", &out);
  REQUIRE(out.size() == 36);
  CHECK(out.substr(12, 8) == B({0, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(out.substr(24, 4) == B({3, 0, 0, 0}));  // Original >= captured.
}

TEST_CASE("pcapng comment cut at its limit on a UTF-8 boundary") {
  // 1023 ASCII bytes then a two-byte character across the limit.
  std::string comment(kMaxCommentBytes - 1, 'x');
  comment += "\xC3\xA9tail";
  std::string out;
  AppendEnhancedPacket(0, {}, 0, comment, &out);
  // Option value: 1023 bytes, padded to 1024.
  REQUIRE(out.size() == 32 + 4 + 1024 + 4);
  CHECK(out.substr(28, 4) == B({1, 0, 0xFF, 0x03}));  // opt_comment, 1023 bytes.
  CHECK(EnhancedPacketSize(0, 1023) == out.size());
}

TEST_CASE("pcapng process names sanitized to printable UTF-8") {
  CHECK(SanitizeUtf8("curl") == "curl");
  CHECK(SanitizeUtf8("a\nb\x7f") == "a?b?");
  CHECK(SanitizeUtf8("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(SanitizeUtf8("\xF0\x9F\x98\x80!") == "\xF0\x9F\x98\x80!");
  CHECK(SanitizeUtf8("\xFF") == "?");
  CHECK(SanitizeUtf8("x\xC3") == "x?");              // Truncated sequence.
  CHECK(SanitizeUtf8("\xC0\xAF") == "??");            // Overlong.
  CHECK(SanitizeUtf8("\xE0\x80\xAF") == "???");       // Overlong, 3 bytes.
  CHECK(SanitizeUtf8("\xED\xA0\x80") == "???");       // Surrogate.
  CHECK(SanitizeUtf8("\xF4\x90\x80\x80") == "????");  // Past U+10FFFF.
  CHECK(SanitizeUtf8("\xC3(") == "?(");                // Bad continuation.
}

TEST_CASE("pcapng link type numbers") {
  CHECK(LinkTypeNumber(LinkType::kEthernet) == 1);
  CHECK(LinkTypeNumber(LinkType::kLinuxSll) == 113);
  CHECK(LinkTypeNumber(LinkType::kLinuxSll2) == 276);
  CHECK(LinkTypeNumber(LinkType::kRaw) == 101);
  CHECK(LinkTypeNumber(LinkType::kNull) == 0);
  CHECK(LinkTypeNumber(LinkType::kLoop) == 108);
}

}  // namespace
}  // namespace rustnet::pcapng
