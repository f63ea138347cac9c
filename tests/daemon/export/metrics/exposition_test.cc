// The exposition writer: label values escaped (and kept UTF-8), a small
// exposition byte for byte in both formats, and the Accept negotiation.
#include "daemon/export/metrics/exposition.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

namespace rustnet {
namespace {

std::string Escaped(std::string_view v) {
  std::string out;
  AppendEscapedLabelValue(v, &out);
  return out;
}

TEST_CASE("exposition: label values escape backslash, quote and newline", "[metrics]") {
  CHECK(Escaped("plain") == "plain");
  CHECK(Escaped("a\\b") == "a\\\\b");
  CHECK(Escaped("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(Escaped("two\nlines") == "two\\nlines");
  CHECK(Escaped("\\\"\n") == "\\\\\\\"\\n");
  CHECK(Escaped("") == "");
}

TEST_CASE("exposition: label values stay UTF-8 (invalid bytes become U+FFFD)", "[metrics]") {
  CHECK(Escaped("caf\xC3\xA9") == "caf\xC3\xA9");                  // é kept
  CHECK(Escaped("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");        // 4 bytes kept
  CHECK(Escaped("a\xFFz") == "a\xEF\xBF\xBDz");                    // not a lead byte
  CHECK(Escaped("\xC3") == "\xEF\xBF\xBD");                        // truncated sequence
  CHECK(Escaped("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");        // overlong '/'
  CHECK(Escaped("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

void WriteSmall(ExpositionWriter* w) {
  w->Family("rustnet_bytes_total", "Bytes seen.\nBy direction \\ protocol.", MetricType::kCounter);
  w->Sample("rustnet_bytes_total", {{"direction", "in"}, {"process", "a\"b"}}, uint64_t{42});
  w->Sample("rustnet_bytes_total", {{"direction", "out"}, {"process", "x\ny"}}, uint64_t{0});
  w->Single("rustnet_connections", "Now.", MetricType::kGauge, uint64_t{7});
  w->Single("process_cpu_seconds_total", "CPU.", MetricType::kCounter, 0.25);
}

TEST_CASE("exposition: a small exposition in the 0.0.4 text format, byte for byte", "[metrics]") {
  ExpositionWriter w(ExpositionFormat::kPrometheusText);
  WriteSmall(&w);
  CHECK(w.Finish() ==
        "# HELP rustnet_bytes_total Bytes seen.\\nBy direction \\\\ protocol.\n"
        "# TYPE rustnet_bytes_total counter\n"
        "rustnet_bytes_total{direction=\"in\",process=\"a\\\"b\"} 42\n"
        "rustnet_bytes_total{direction=\"out\",process=\"x\\ny\"} 0\n"
        "# HELP rustnet_connections Now.\n"
        "# TYPE rustnet_connections gauge\n"
        "rustnet_connections 7\n"
        "# HELP process_cpu_seconds_total CPU.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total 0.25\n");
}

TEST_CASE("exposition: OpenMetrics names counter families without _total and ends in EOF",
          "[metrics]") {
  ExpositionWriter w(ExpositionFormat::kOpenMetrics);
  WriteSmall(&w);
  CHECK(w.Finish() ==
        "# HELP rustnet_bytes Bytes seen.\\nBy direction \\\\ protocol.\n"
        "# TYPE rustnet_bytes counter\n"
        "rustnet_bytes_total{direction=\"in\",process=\"a\\\"b\"} 42\n"
        "rustnet_bytes_total{direction=\"out\",process=\"x\\ny\"} 0\n"
        "# HELP rustnet_connections Now.\n"
        "# TYPE rustnet_connections gauge\n"
        "rustnet_connections 7\n"
        "# HELP process_cpu_seconds CPU.\n"
        "# TYPE process_cpu_seconds counter\n"
        "process_cpu_seconds_total 0.25\n"
        "# EOF\n");
}

TEST_CASE("exposition: doubles in their shortest form, NaN and infinities spelled out",
          "[metrics]") {
  ExpositionWriter w(ExpositionFormat::kPrometheusText);
  w.Sample("a", {}, 0.1);
  w.Sample("b", {}, 1e21);
  w.Sample("c", {}, std::numeric_limits<double>::infinity());
  w.Sample("d", {}, -std::numeric_limits<double>::infinity());
  w.Sample("e", {}, std::numeric_limits<double>::quiet_NaN());
  CHECK(w.Finish() == "a 0.1\nb 1e+21\nc +Inf\nd -Inf\ne NaN\n");
}

TEST_CASE("exposition: the Accept header picks the format", "[metrics]") {
  CHECK(FormatForAccept("") == ExpositionFormat::kPrometheusText);
  CHECK(FormatForAccept("*/*") == ExpositionFormat::kPrometheusText);
  CHECK(FormatForAccept("text/plain;version=0.0.4;q=0.5,*/*;q=0.1") ==
        ExpositionFormat::kPrometheusText);
  // What Prometheus sends by default.
  CHECK(FormatForAccept("application/openmetrics-text;version=1.0.0,application/"
                        "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
                        "*/*;q=0.1") == ExpositionFormat::kOpenMetrics);
  CHECK(FormatForAccept("Application/OpenMetrics-Text") == ExpositionFormat::kOpenMetrics);
  CHECK(ContentTypeOf(ExpositionFormat::kPrometheusText) ==
        "text/plain; version=0.0.4; charset=utf-8");
  CHECK(ContentTypeOf(ExpositionFormat::kOpenMetrics) ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

}  // namespace
}  // namespace rustnet
