// ExpositionWriter: the Prometheus text exposition format (version 0.0.4)
// and OpenMetrics 1.0 text, written by hand because both are small: a
// family's `# HELP` and `# TYPE` lines, then one line per sample.
//
// What differs between the two, and is handled here:
//  OpenMetrics names a counter family without its `_total` suffix in HELP
//  and TYPE (the sample keeps it) and ends the exposition with `# EOF`.
// HELP text escapes backslash and newline only, in both formats (Prometheus'
// OpenMetrics parser rejects `\"` there): keep double quotes out of it.
// Label values are escaped as both formats want (backslash, double quote,
// newline), and bytes that are not UTF-8 become U+FFFD: process names come
// from /proc and may hold anything, and Prometheus rejects a scrape with an
// invalid UTF-8 label value.
//
// Threads: one writer per scrape, used by one thread.
#ifndef RUSTNET_DAEMON_EXPORT_METRICS_EXPOSITION_H_
#define RUSTNET_DAEMON_EXPORT_METRICS_EXPOSITION_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace rustnet {

enum class ExpositionFormat { kPrometheusText, kOpenMetrics };

// The Content-Type of each format.
std::string_view ContentTypeOf(ExpositionFormat format);

// The format an Accept header asks for: OpenMetrics when it names
// application/openmetrics-text, the 0.0.4 text otherwise (no header, */*).
ExpositionFormat FormatForAccept(std::string_view accept);

enum class MetricType { kCounter, kGauge };

using Label = std::pair<std::string_view, std::string_view>;

// Appends `value` escaped as a label value (without the quotes).
void AppendEscapedLabelValue(std::string_view value, std::string* out);

class ExpositionWriter {
 public:
  explicit ExpositionWriter(ExpositionFormat format) : format_(format) {}

  // Starts a family. `name` is the sample name; a counter's ends in _total.
  void Family(std::string_view name, std::string_view help, MetricType type);
  // One sample of the current family: `name` as given to Family (or with a
  // suffix of its own), labels in the order given.
  void Sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // Family + one unlabelled sample.
  void Single(std::string_view name, std::string_view help, MetricType type, uint64_t value);
  void Single(std::string_view name, std::string_view help, MetricType type, double value);

  // The exposition (with `# EOF` for OpenMetrics). The writer is spent.
  std::string Finish();

 private:
  void Head(std::string_view name, std::initializer_list<Label> labels);

  ExpositionFormat format_;
  std::string out_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_METRICS_EXPOSITION_H_
