// Network interfaces: what can be captured, which one to use by default,
// and the machine's own addresses (to tell local from remote endpoints).
#ifndef RUSTNET_DAEMON_CAPTURE_INTERFACES_H_
#define RUSTNET_DAEMON_CAPTURE_INTERFACES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/record/local_addresses.h"

namespace rustnet {

struct InterfaceInfo {
  std::string name;
  std::string description;
  bool up = false;
  bool running = false;
  bool loopback = false;
  std::vector<std::string> addresses;  // IPv4 and IPv6, as text.
};

// The kernel's counters of one interface (/sys/class/net/NAME/statistics).
struct InterfaceCounters {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t rx_errors = 0;
  uint64_t tx_errors = 0;
  uint64_t rx_dropped = 0;
  uint64_t tx_dropped = 0;
};

// Reads them from `sysfs_root`/NAME/statistics/ (each file at most 32 bytes
// read, a decimal number). nullopt when NAME is not a plain interface name
// (empty, longer than 15 bytes, "." or "..", or with a '/'), or when any
// file is missing or does not hold a number.
std::optional<InterfaceCounters> ReadInterfaceCounters(
    const std::string& name, const std::string& sysfs_root = "/sys/class/net");

// Interfaces libpcap can open, in libpcap's order.
absl::StatusOr<std::vector<InterfaceInfo>> ListCaptureInterfaces();

// The interface the original tool picks: the first that is up, not
// loopback, and has an address. Error if there is none.
absl::StatusOr<std::string> DefaultInterface();

// False for libpcap's non-network sources (dbus-system, nflog, usbmon0...).
bool IsNetworkInterface(const std::string& name);

// "eth0, lo, any" — for error messages.
std::string CapturableInterfaceNames();

// Every address configured on this machine (getifaddrs).
std::shared_ptr<const LocalAddresses> MachineAddresses();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_INTERFACES_H_
