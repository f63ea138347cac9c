// ServiceNotifier: systemd's notification protocol (sd_notify(3)) for a
// Type=notify service. rustnetd sends READY=1 once the capture is open and
// the API listens, STATUS= lines with live figures, WATCHDOG=1 while the
// pipeline makes progress (see watchdog.h), RELOADING=1 / READY=1 around a
// SIGHUP reload and STOPPING=1 on shutdown.
//
// Not run by systemd (no NOTIFY_SOCKET), every call is a cheap no-op.
//
// Thread-safety: one thread (rustnetd's main thread) uses a notifier.
#ifndef RUSTNET_DAEMON_SERVICE_NOTIFY_H_
#define RUSTNET_DAEMON_SERVICE_NOTIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace rustnet {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once, now.
  ServiceNotifier();

  // True when a service manager listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }

  // How often to send WATCHDOG=1: half of WatchdogSec=, as sd_watchdog_enabled(3)
  // advises. nullopt when the watchdog is off, or WATCHDOG_PID names another
  // process (the watchdog is not ours).
  std::optional<absl::Duration> watchdog_interval() const { return watchdog_interval_; }

  void Ready();
  // RELOADING=1 with MONOTONIC_USEC; follow with Ready() when done.
  void Reloading();
  // STATUS=<text>; line breaks become spaces (one STATUS line).
  void Status(std::string_view text);
  void Watchdog();
  void Stopping();

  // The datagrams sent so far, for tests and debug logs.
  uint64_t sent() const { return sent_; }

 private:
  void Send(const std::string& state);

  bool enabled_ = false;
  std::optional<absl::Duration> watchdog_interval_;
  uint64_t sent_ = 0;
  bool warned_ = false;
};

// The STATUS= line rustnetd shows in `systemctl status`:
// "eth0: 1234 packets/s, 56 connections, 0 dropped".
std::string ServiceStatusLine(std::string_view source, double packets_per_second,
                              uint64_t connections, uint64_t dropped);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SERVICE_NOTIFY_H_
