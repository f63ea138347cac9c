// ReopenableFileSink: an spdlog sink writing a log file that can be
// reopened at the same path, so SIGHUP after logrotate(8) renamed the file
// makes a new one (mode 0600: connection logs are sensitive) and the old
// one is closed.
//
// Thread-safety: like spdlog's _mt sinks (a mutex), Reopen included.
#ifndef RUSTNET_DAEMON_SERVICE_LOG_FILE_H_
#define RUSTNET_DAEMON_SERVICE_LOG_FILE_H_

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spdlog/sinks/base_sink.h"

namespace rustnet {

class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Opens (creating 0600, appending) `path`.
  static absl::StatusOr<std::shared_ptr<ReopenableFileSink>> Open(const std::string& path);
  ~ReopenableFileSink() override;

  // Opens the path again; on failure keeps writing to the old file.
  absl::Status Reopen();
  const std::string& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  ReopenableFileSink(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  static absl::StatusOr<std::FILE*> OpenFile(const std::string& path);

  const std::string path_;
  std::FILE* file_;  // Guarded by base_sink's mutex_.
};

// Replaces spdlog's default logger by one with the same name, level and
// sinks, except that its file sink (spdlog's basic_file_sink, as
// SetupLogging in common/logging.h installs) writing `path` becomes a
// ReopenableFileSink. The new sink lets every level through, so changing
// the logger's level alone (SIGHUP) changes what is written. Call it
// before other threads log.
absl::StatusOr<std::shared_ptr<ReopenableFileSink>> MakeLogFileReopenable(const std::string& path);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SERVICE_LOG_FILE_H_
