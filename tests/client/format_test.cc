// rustnet-tui's text formatting: units, durations, endpoints, the
// sanitizing of wire text, fitting to columns, base64 and OSC 52.
#include "client/format.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

TEST_CASE("format: rates in human units, at most 9 characters", "[client][format]") {
  CHECK(FormatRate(0) == "0 B/s");
  CHECK(FormatRate(-5) == "0 B/s");
  CHECK(FormatRate(0.0 / 0.0) == "0 B/s");
  CHECK(FormatRate(512) == "512 B/s");
  CHECK(FormatRate(1023) == "1023 B/s");
  CHECK(FormatRate(1536) == "1.50 KB/s");
  CHECK(FormatRate(12.34 * 1024) == "12.3 KB/s");
  CHECK(FormatRate(123.4 * 1024) == "123 KB/s");
  CHECK(FormatRate(5.0 * 1024 * 1024) == "5.00 MB/s");
  CHECK(FormatRate(2.5 * 1024 * 1024 * 1024) == "2.50 GB/s");
  // Rounding never produces a fourth significant digit past the unit.
  CHECK(FormatRate(9.999 * 1024) == "10.0 KB/s");
  CHECK(FormatRate(1023.9 * 1024) == "1.00 MB/s");
  for (double v = 0; v < 1e15; v = v * 1.37 + 1) {
    INFO(v);
    CHECK(FormatRate(v).size() <= 9);
  }
}

TEST_CASE("format: bytes, counts, durations, RTTs", "[client][format]") {
  CHECK(FormatBytes(0) == "0 B");
  CHECK(FormatBytes(398) == "398 B");
  CHECK(FormatBytes(1536) == "1.50 KB");
  CHECK(FormatBytes(3ULL << 40) == "3.00 TB");

  CHECK(FormatCount(0) == "0");
  CHECK(FormatCount(999) == "999");
  CHECK(FormatCount(1000) == "1,000");
  CHECK(FormatCount(1234567) == "1,234,567");

  CHECK(FormatDuration(-1) == "0s");
  CHECK(FormatDuration(0) == "0s");
  CHECK(FormatDuration(59'999'999) == "59s");
  CHECK(FormatDuration(185'000'000) == "3m05s");
  CHECK(FormatDuration((2 * 3600 + 3 * 60 + 59) * 1'000'000LL) == "2h03m");
  CHECK(FormatDuration((4 * 86400 + 2 * 3600) * 1'000'000LL) == "4d02h");

  const Glyphs ascii{false};
  const Glyphs utf8{true};
  CHECK(FormatRtt(61, ascii) == "61 us");
  CHECK(FormatRtt(61, utf8) == "61 \u00b5s");
  CHECK(FormatRtt(1234, ascii) == "1.23 ms");
  CHECK(FormatRtt(45'600, ascii) == "45.6 ms");
  CHECK(FormatRtt(1'500'000, ascii) == "1.50 s");
}

TEST_CASE("format: endpoints", "[client][format]") {
  v1::Endpoint e;
  e.set_address("1.2.3.4");
  e.set_port(443);
  CHECK(FormatEndpoint(e) == "1.2.3.4:443");
  e.set_address("2001:db8::1");
  CHECK(FormatEndpoint(e) == "[2001:db8::1]:443");
  e.set_port(0);  // ICMP, ARP
  CHECK(FormatEndpoint(e) == "2001:db8::1");
  CHECK(FormatNamedEndpoint("example.com", 443) == "example.com:443");
  CHECK(FormatNamedEndpoint("example.com", 0) == "example.com");
}

TEST_CASE("format: enum names", "[client][format]") {
  CHECK(ProtocolName(v1::PROTOCOL_ICMPV6) == "ICMP6");
  CHECK(StateName(v1::CONNECTION_STATE_SYN_RECEIVED) == "SYN_RECV");
  for (int s = 0; s <= 12; ++s) {
    CHECK(StateName(static_cast<v1::ConnectionState>(s)).size() <= 11);
  }
  CHECK(StateName(static_cast<v1::ConnectionState>(99)) == "?");  // From a newer daemon.
  CHECK(TcpFlagsText(0) == "none");
  CHECK(TcpFlagsText(0x02 | 0x10 | 0x01) == "SYN ACK FIN");
  CHECK(IcmpTypeName(false, 8) == "echo request");
  CHECK(IcmpTypeName(true, 128) == "echo request");
  CHECK(IcmpTypeName(false, 200).empty());
}

TEST_CASE("format: wire text cannot reach the terminal as commands", "[client][format]") {
  // An SNI or Host header carrying escape sequences.
  CHECK(SanitizeText("evil\x1b]52;c;AAAA\x07.com", true) == "evil?]52;c;AAAA?.com");
  CHECK(SanitizeText("a\r\nb\tc\x7f", true) == "a??b?c?");
  // C1 controls encoded in UTF-8 (U+009B is CSI).
  CHECK(SanitizeText("x\xc2\x9b"
                     "31m",
                     true) == "x?31m");
  // Invalid UTF-8: stray continuation, truncated sequence, overlong, surrogate.
  CHECK(SanitizeText("\x80", true) == "?");
  CHECK(SanitizeText("ab\xe2\x80", true) == "ab??");
  CHECK(SanitizeText("\xc0\xaf", true) == "??");
  CHECK(SanitizeText("\xed\xa0\x80", true) == "???");
  // Bidi overrides and zero-width characters would reorder or hide text.
  CHECK(SanitizeText("a\u202eb\u200bc", true) == "a?b?c");
  // Ordinary accented and Cyrillic text passes; the middle dot of labels too.
  CHECK(SanitizeText("caf\u00e9 \u043f\u0440\u0438\u0432\u0435\u0442", true) ==
        "caf\u00e9 \u043f\u0440\u0438\u0432\u0435\u0442");
  CHECK(SanitizeText("HTTPS \u00b7 example.com", false) == "HTTPS - example.com");
  CHECK(SanitizeText("caf\u00e9", false) == "caf?");
  // Wide characters (CJK, emoji) would take two columns.
  CHECK(SanitizeText("\u4e2d\U0001F600", true) == "??");
}

TEST_CASE("format: fitting text to columns", "[client][format]") {
  const Glyphs utf8{true};
  const Glyphs ascii{false};
  CHECK(FitEnd("abc", 5, utf8) == "abc  ");
  CHECK(FitEnd("abc", 5, utf8, /*right=*/true) == "  abc");
  CHECK(FitEnd("abcdef", 4, utf8) == "abc\u2026");
  CHECK(FitEnd("abcdef", 4, ascii) == "abc~");
  CHECK(FitStart("www.example.com:443", 12, utf8) == "\u2026ple.com:443");
  CHECK(DisplayWidth(FitStart("www.example.com:443", 12, utf8)) == 12);
  CHECK(FitEnd("abc", 0, utf8).empty());
  // Multi-byte characters count as one column and are never split.
  const std::string dots = "\u00b7\u00b7\u00b7\u00b7\u00b7";
  CHECK(DisplayWidth(dots) == 5);
  CHECK(FitEnd(dots, 3, utf8) == "\u00b7\u00b7\u2026");
  CHECK(FitStart(dots, 3, utf8) == "\u2026\u00b7\u00b7");
}

// --- Processes ------------------------------------------------------------------

v1::ProcessInfo MakeProcess(uint32_t pid, const std::string& name) {
  v1::ProcessInfo p;
  p.set_pid(pid);
  p.set_name(name);
  p.set_uid(1000);
  p.set_user("jane");
  return p;
}

TEST_CASE("format: the Process column's text", "[client][format]") {
  const Glyphs utf8{true};
  const Glyphs ascii{false};
  v1::ProcessInfo p = MakeProcess(1234, "firefox");
  CHECK(MakeProcessCell(p, false, utf8).Text() == "firefox (1234)");
  CHECK(MakeProcessCell(p, true, utf8).Text() == "peer firefox (1234)");
  p.set_exited(true);
  CHECK(MakeProcessCell(p, false, utf8).Text() == "firefox (1234) \u2020");
  CHECK(MakeProcessCell(p, false, ascii).Text() == "firefox (1234) exited");
  // The parts: the name alone is what a narrow column cuts.
  const ProcessCell cell = MakeProcessCell(p, true, utf8);
  CHECK(cell.prefix == "peer ");
  CHECK(cell.name == "firefox");
  CHECK(cell.suffix == " (1234) \u2020");

  // pid 0: only the socket's owner is known.
  v1::ProcessInfo user_only;
  user_only.set_uid(1000);
  user_only.set_user("jane");
  CHECK(MakeProcessCell(user_only, false, utf8).Text() == "user jane");
  CHECK(MakeProcessCell(user_only, true, utf8).Text() == "peer user jane");
  user_only.clear_user();
  CHECK(MakeProcessCell(user_only, false, utf8).Text() == "uid 1000");
  // A pid without a name.
  CHECK(MakeProcessCell(MakeProcess(77, ""), false, utf8).Text() == "pid 77");
}

TEST_CASE("format: process names from the host are sanitized", "[client][format]") {
  const Glyphs utf8{true};
  v1::ProcessInfo p = MakeProcess(66, "evil\x1b]52;c;AAAA\x07\r\n\u202e");
  CHECK(MakeProcessCell(p, false, utf8).Text() == "evil?]52;c;AAAA???? (66)");
  p.set_pid(0);
  p.set_user("ja\x1b[2Jne");
  CHECK(MakeProcessCell(p, false, utf8).Text() == "user ja?[2Jne");
  // A very long name: only its start is cleaned and kept.
  p = MakeProcess(5, std::string(100'000, 'A'));
  const ProcessCell cell = MakeProcessCell(p, false, utf8);
  CHECK(cell.name.size() <= 256);
  CHECK(cell.suffix == " (5)");
}

TEST_CASE("format: a narrow column cuts the name and keeps the pid", "[client][format]") {
  const Glyphs utf8{true};
  const Glyphs ascii{false};
  CHECK(FitAffixed("", "firefox", " (1234)", 20, utf8) == "firefox (1234)      ");
  CHECK(FitAffixed("", "firefox", " (1234)", 14, utf8) == "firefox (1234)");
  CHECK(FitAffixed("", "firefox", " (1234)", 12, utf8) == "fire\u2026 (1234)");
  CHECK(FitAffixed("peer ", "averyverylongname", " (4194304) \u2020", 30, utf8) ==
        "peer averyverylon\u2026 (4194304) \u2020");
  CHECK(FitAffixed("", "averyverylongname", " (4194304)", 16, ascii) == "avery~ (4194304)");
  for (size_t w = 0; w <= 40; ++w) {
    INFO(w);
    CHECK(DisplayWidth(FitAffixed("peer ", "averyverylongname", " (4194304) \u2020", w, utf8)) ==
          w);
  }
  // Too narrow to leave the name 4 columns: the whole text is cut at its end.
  CHECK(FitAffixed("peer ", "firefox", " (4194304)", 16, utf8) == "peer firefox (4\u2026");
  // A short name needs only its own width.
  CHECK(FitAffixed("", "sh", " (4194304)", 12, utf8) == "sh (4194304)");
}

TEST_CASE("format: command lines, containers, attribution methods", "[client][format]") {
  const Glyphs utf8{true};
  const Glyphs ascii{false};
  v1::ProcessInfo p;
  for (const char* arg : {"/usr/bin/python3", "-c", "print('hi')", "", "a b", "--x=1"}) {
    p.add_command_line(arg);
  }
  CHECK(FormatCommandLine(p, utf8) == R"(/usr/bin/python3 -c 'print('\''hi'\'')' '' 'a b' --x=1)");
  // Control characters in arguments are sanitized, quoted or not.
  p.clear_command_line();
  p.add_command_line("sh\x1b[31m");
  p.add_command_line("x\ny");
  CHECK(FormatCommandLine(p, utf8) == "'sh?[31m' 'x?y'");
  // Long ones are cut after max_width columns, with an ellipsis.
  p.clear_command_line();
  for (int i = 0; i < 64; ++i) p.add_command_line(std::string(64, 'a'));
  const std::string long_line = FormatCommandLine(p, utf8);
  CHECK(DisplayWidth(long_line) == kMaxCommandLineWidth);
  CHECK(long_line.substr(long_line.size() - 3) == "\u2026");
  CHECK(FormatCommandLine(p, ascii, 10) == "aaaaaaaaa~");
  CHECK(FormatCommandLine(v1::ProcessInfo(), utf8).empty());

  v1::ProcessInfo c;
  CHECK(FormatContainer(c, utf8).empty());
  c.set_container_runtime("docker");
  CHECK(FormatContainer(c, utf8) == "docker");
  c.set_container_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  CHECK(FormatContainer(c, utf8) == "docker 0123456789ab");
  c.clear_container_runtime();
  CHECK(FormatContainer(c, utf8) == "0123456789ab");
  c.set_container_runtime("pod\x1bman");
  CHECK(FormatContainer(c, utf8) == "pod?man 0123456789ab");

  CHECK(AttributionMethodName(v1::ATTRIBUTION_METHOD_SOCKET) == "own socket");
  CHECK(AttributionMethodName(v1::ATTRIBUTION_METHOD_LISTENER) ==
        "listening socket (not yet accepted)");
  CHECK(AttributionMethodName(v1::ATTRIBUTION_METHOD_BOUND) == "bound socket");
  CHECK(AttributionMethodName(v1::ATTRIBUTION_METHOD_UNSPECIFIED).empty());
  CHECK(AttributionMethodName(static_cast<v1::AttributionMethod>(99)).empty());
}

TEST_CASE("format: wrapping text at spaces", "[client][format]") {
  using V = std::vector<std::string>;
  CHECK(WrapText("", 10) == V{""});
  CHECK(WrapText("is rustnetd running? check it", 12) == V{"is rustnetd", "running?", "check it"});
  CHECK(WrapText("  spaced   out  ", 20) == V{"spaced out"});
  CHECK(WrapText("abcdefghij", 4) == V{"abcd", "efgh", "ij"});
  CHECK(WrapText("ab abcdefghij", 5) == V{"ab", "abcde", "fghij"});
  for (size_t w = 1; w < 30; ++w) {
    for (const std::string& line :
         WrapText("the quick brown fox jumps over a lazy-dog-with-a-long-name", w)) {
      CHECK(DisplayWidth(line) <= w);
    }
  }
}

TEST_CASE("format: base64 (RFC 4648 test vectors) and OSC 52", "[client][format]") {
  CHECK(Base64Encode("").empty());
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  CHECK(Base64Encode("foob") == "Zm9vYg==");
  CHECK(Base64Encode("fooba") == "Zm9vYmE=");
  CHECK(Base64Encode("foobar") == "Zm9vYmFy");
  CHECK(Base64Encode(std::string("\xff\xfe\x00", 3)) == "//4A");
  CHECK(Osc52("1.2.3.4:443") == "\033]52;c;MS4yLjMuNDo0NDM=\a");
}

}  // namespace
}  // namespace rustnet::client
