// Threads: see exposition.h.
#include "daemon/export/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 section 4),
// or 0 if it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&s](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint8_t lo = 0x80;
  uint8_t hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // No surrogates.
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

void AppendEscaped(std::string_view value, bool quote, std::string* out) {
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote) {
      out->append("\\\"");
    } else {
      const size_t n = Utf8Length(value, i);
      if (n == 0) {
        out->append(kReplacement);
        ++i;
        continue;
      }
      out->append(value.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
}

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);  // Shortest round-trip form.
    out->append(buf, r.ec == std::errc() ? r.ptr : buf);
  }
}

}  // namespace

std::string_view ContentTypeOf(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

ExpositionFormat FormatForAccept(std::string_view accept) {
  std::string lower(accept);
  for (char& c : lower) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return lower.find("application/openmetrics-text") != std::string::npos
             ? ExpositionFormat::kOpenMetrics
             : ExpositionFormat::kPrometheusText;
}

void AppendEscapedLabelValue(std::string_view value, std::string* out) {
  AppendEscaped(value, /*quote=*/true, out);
}

void ExpositionWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  std::string_view family = name;
  if (format_ == ExpositionFormat::kOpenMetrics && type == MetricType::kCounter &&
      family.ends_with("_total")) {
    family.remove_suffix(6);
  }
  out_.append("# HELP ").append(family).append(" ");
  AppendEscaped(help, /*quote=*/false, &out_);
  out_.append("\n# TYPE ").append(family).append(" ");
  out_.append(type == MetricType::kCounter ? "counter\n" : "gauge\n");
}

void ExpositionWriter::Head(std::string_view name, std::initializer_list<Label> labels) {
  out_.append(name);
  if (labels.size() != 0) {
    out_.push_back('{');
    bool first = true;
    for (const Label& l : labels) {
      if (!first) out_.push_back(',');
      first = false;
      out_.append(l.first);
      out_.append("=\"");
      AppendEscapedLabelValue(l.second, &out_);
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  out_.push_back(' ');
}

void ExpositionWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              uint64_t value) {
  Head(name, labels);
  absl::StrAppend(&out_, value, "\n");
}

void ExpositionWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              double value) {
  Head(name, labels);
  AppendDouble(value, &out_);
  out_.push_back('\n');
}

void ExpositionWriter::Single(std::string_view name, std::string_view help, MetricType type,
                              uint64_t value) {
  Family(name, help, type);
  Sample(name, {}, value);
}

void ExpositionWriter::Single(std::string_view name, std::string_view help, MetricType type,
                              double value) {
  Family(name, help, type);
  Sample(name, {}, value);
}

std::string ExpositionWriter::Finish() {
  if (format_ == ExpositionFormat::kOpenMetrics) out_.append("# EOF\n");
  return std::move(out_);
}

}  // namespace rustnet
