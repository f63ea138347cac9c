#include "daemon/service/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"

namespace rustnet {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = absl::Microseconds(static_cast<int64_t>(usec / 2));
  }
}

void ServiceNotifier::Send(const std::string& state) {
  if (!enabled_) return;
  const int rc = sd_notify(0, state.c_str());
  if (rc > 0) {
    ++sent_;
  } else if (rc < 0 && !warned_) {
    // Once: a broken notification socket must not flood the log.
    warned_ = true;
    spdlog::warn("cannot notify the service manager: {}", std::strerror(-rc));
  }
}

void ServiceNotifier::Ready() { Send("READY=1"); }

void ServiceNotifier::Reloading() {
  // systemd 253+ (Type=notify-reload) wants the CLOCK_MONOTONIC time the
  // reload began; older versions ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  Send(absl::StrCat("RELOADING=1\nMONOTONIC_USEC=", usec));
}

void ServiceNotifier::Status(std::string_view text) {
  std::string line(text.data(), text.size());
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  Send(absl::StrCat("STATUS=", line));
}

void ServiceNotifier::Watchdog() { Send("WATCHDOG=1"); }

void ServiceNotifier::Stopping() { Send("STOPPING=1"); }

std::string ServiceStatusLine(std::string_view source, double packets_per_second,
                              uint64_t connections, uint64_t dropped) {
  const double rate = std::isfinite(packets_per_second) && packets_per_second > 0
                          ? std::round(packets_per_second)
                          : 0.0;
  return absl::StrFormat("%s: %.0f packets/s, %d connections, %d dropped", std::string(source),
                         rate, connections, dropped);
}

}  // namespace rustnet
