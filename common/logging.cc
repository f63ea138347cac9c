#include "common/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {
// The stderr sink, so it can be switched on once start-up is over.
std::shared_ptr<spdlog::sinks::stderr_color_sink_mt> g_stderr_sink;
}  // namespace

void EnableStderrLogging(spdlog::level::level_enum level) {
  if (g_stderr_sink) g_stderr_sink->set_level(level);
}

std::optional<spdlog::level::level_enum> ParseLogLevel(std::string_view text) {
  if (text == "error") return spdlog::level::err;
  if (text == "warn" || text == "warning") return spdlog::level::warn;
  if (text == "info") return spdlog::level::info;
  if (text == "debug") return spdlog::level::debug;
  if (text == "trace") return spdlog::level::trace;
  return std::nullopt;
}

absl::StatusOr<std::string> SetupLogging(const LoggingOptions& options) {
  if (mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create log directory ", options.dir,
                                                    ": ", std::strerror(errno),
                                                    "; choose another with --log-dir"));
  }
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
  const std::string path = absl::StrCat(options.dir, "/", options.prefix, "_", stamp, ".log");

  // Create the file ourselves so it is 0600 whatever the umask; spdlog then
  // appends to it.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write log file ", path, ": ",
                                                    std::strerror(errno),
                                                    "; choose another directory with --log-dir"));
  }
  fchmod(fd, 0600);
  close(fd);

  std::vector<spdlog::sink_ptr> sinks;
  auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  file_sink->set_level(options.level);
  sinks.push_back(file_sink);
  g_stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  g_stderr_sink->set_level(options.to_stderr ? spdlog::level::warn : spdlog::level::off);
  sinks.push_back(g_stderr_sink);
  auto logger = std::make_shared<spdlog::logger>(options.prefix, sinks.begin(), sinks.end());
  logger->set_level(options.level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  if (options.periodic_flush) spdlog::flush_every(std::chrono::seconds(2));
  return path;
}

}  // namespace rustnet
