// Logging setup shared by rustnetd and rustnet-tui (spdlog).
//
// Each run writes its own file, DIR/PREFIX_YYYY-MM-DD_HH-MM-SS.log, created
// with mode 0600 because connection logs are sensitive. Never logs per
// packet above debug.
#ifndef RUSTNET_COMMON_LOGGING_H_
#define RUSTNET_COMMON_LOGGING_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "spdlog/common.h"

namespace rustnet {

// Parses "error|warn|info|debug|trace" (also "warning"); nullopt otherwise.
std::optional<spdlog::level::level_enum> ParseLogLevel(std::string_view text);

struct LoggingOptions {
  spdlog::level::level_enum level = spdlog::level::info;
  std::string dir = "logs";       // Created if missing (mode 0700).
  std::string prefix = "rustnet";
  // Also log warnings and errors to stderr. Off while a program starts up
  // and reports its own errors; see EnableStderrLogging.
  bool to_stderr = true;
  // Flush the file every 2 s (from a thread of spdlog's). Off for one-shot
  // runs, which flush when they end: no thread to start, to reach with a
  // capability drop, or to join on the way out.
  bool periodic_flush = true;
};

// Installs the default logger. Returns the log file's path, or an error
// naming the directory that could not be written.
absl::StatusOr<std::string> SetupLogging(const LoggingOptions& options);

// Sets the level from which log records also go to stderr (off: none).
void EnableStderrLogging(spdlog::level::level_enum level);

}  // namespace rustnet

#endif  // RUSTNET_COMMON_LOGGING_H_
