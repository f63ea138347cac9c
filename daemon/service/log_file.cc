#include "daemon/service/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/spdlog.h"

namespace rustnet {

absl::StatusOr<std::FILE*> ReopenableFileSink::OpenFile(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot open log file ", path, ": ",
                                                    std::strerror(errno),
                                                    "; check the --log-dir directory"));
  }
  fchmod(fd, 0600);  // Whatever the umask, and if it existed wider.
  std::FILE* file = fdopen(fd, "a");
  if (file == nullptr) {
    const int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("fdopen ", path, ": ", std::strerror(err)));
  }
  return file;
}

absl::StatusOr<std::shared_ptr<ReopenableFileSink>> ReopenableFileSink::Open(
    const std::string& path) {
  auto file = OpenFile(path);
  if (!file.ok()) return file.status();
  return std::shared_ptr<ReopenableFileSink>(new ReopenableFileSink(path, *file));
}

ReopenableFileSink::~ReopenableFileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status ReopenableFileSink::Reopen() {
  auto file = OpenFile(path_);
  if (!file.ok()) return file.status();
  std::lock_guard<std::mutex> lock(mutex_);
  std::fflush(file_);
  std::fclose(file_);
  file_ = *file;
  return absl::OkStatus();
}

void ReopenableFileSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  std::fwrite(formatted.data(), 1, formatted.size(), file_);
}

void ReopenableFileSink::flush_() { std::fflush(file_); }

absl::StatusOr<std::shared_ptr<ReopenableFileSink>> MakeLogFileReopenable(const std::string& path) {
  std::shared_ptr<spdlog::logger> old = spdlog::default_logger();
  std::shared_ptr<ReopenableFileSink> reopenable;
  std::vector<spdlog::sink_ptr> sinks;
  for (const spdlog::sink_ptr& sink : old->sinks()) {
    auto* file = dynamic_cast<spdlog::sinks::basic_file_sink_mt*>(sink.get());
    if (file == nullptr || file->filename() != path) {
      sinks.push_back(sink);
      continue;
    }
    auto opened = ReopenableFileSink::Open(path);
    if (!opened.ok()) return opened.status();
    reopenable = *opened;
    reopenable->set_level(spdlog::level::trace);
    sinks.push_back(reopenable);
  }
  if (!reopenable) {
    return absl::NotFoundError(absl::StrCat("the default logger does not write ", path));
  }
  old->flush();
  auto logger = std::make_shared<spdlog::logger>(old->name(), sinks.begin(), sinks.end());
  logger->set_level(old->level());
  logger->flush_on(old->flush_level());
  spdlog::set_default_logger(logger);
  return reopenable;
}

}  // namespace rustnet
