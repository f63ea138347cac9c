// Linux capabilities (capabilities(7)) through the raw capget/capset and
// prctl system calls, so rustnetd needs no libcap.
//
// rustnetd needs most privileges only to start: CAP_CHOWN gives its own API
// socket the group `rustnet`, root's file access creates /run/rustnet. Once
// the capture is open and the API listens, DropCapabilities() keeps only
// what the running daemon needs (RuntimeCapabilities: CAP_NET_RAW to reopen
// a live capture's interface, and what process attribution reads /proc
// with), so running it by hand with sudo is as safe as the hardened service.
//
// Capabilities belong to threads, not processes: gRPC and spdlog have
// started threads by then, so DropCapabilities() makes every thread drop
// its own (a signal to each, as glibc does for setuid(2) and libcap's psx
// for cap_set_proc), then checks every thread in /proc/self/task.
//
// Thread-safety: DropCapabilities from one thread at a time.
#ifndef RUSTNET_DAEMON_SERVICE_CAPABILITIES_H_
#define RUSTNET_DAEMON_SERVICE_CAPABILITIES_H_

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rustnet {

// A set of capability numbers (CAP_* from <linux/capability.h>, 0..63).
class CapabilitySet {
 public:
  constexpr CapabilitySet() = default;
  constexpr explicit CapabilitySet(uint64_t bits) : bits_(bits) {}
  static constexpr CapabilitySet Of(std::initializer_list<int> caps) {
    uint64_t bits = 0;
    for (int c : caps) bits |= uint64_t{1} << c;
    return CapabilitySet(bits);
  }

  constexpr bool Has(int cap) const { return cap >= 0 && cap < 64 && ((bits_ >> cap) & 1) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr uint64_t bits() const { return bits_; }
  constexpr bool SubsetOf(CapabilitySet other) const { return (bits_ & ~other.bits_) == 0; }
  constexpr CapabilitySet operator&(CapabilitySet o) const {
    return CapabilitySet(bits_ & o.bits_);
  }
  constexpr CapabilitySet operator|(CapabilitySet o) const {
    return CapabilitySet(bits_ | o.bits_);
  }
  constexpr bool operator==(const CapabilitySet&) const = default;

  // "cap_net_raw,cap_sys_ptrace" (capsh's names, lowest number first);
  // "none" when empty; "cap_63" for numbers without a name.
  std::string ToString() const;

 private:
  uint64_t bits_ = 0;
};

// "cap_net_raw" or "CAP_NET_RAW" (also without the prefix) -> 13.
std::optional<int> CapabilityFromName(std::string_view name);

// What rustnetd keeps after start-up when it captures live: process
// attribution reads other users' /proc/PID/fd links (a ptrace access check:
// CAP_SYS_PTRACE) and searches their /proc/PID directories
// (CAP_DAC_READ_SEARCH); CAP_NET_RAW opens the interface again when it was
// removed or went down (PcapSource waits for it and reopens it by name).
// Replaying a file keeps nothing.
CapabilitySet RuntimeCapabilities(bool live_capture);

// One thread's five sets.
struct ThreadCapabilities {
  CapabilitySet effective;
  CapabilitySet permitted;
  CapabilitySet inheritable;
  CapabilitySet bounding;
  CapabilitySet ambient;
};

// The calling thread's sets (capget and prctl).
absl::StatusOr<ThreadCapabilities> CurrentCapabilities();

// Parses the Cap* lines of a /proc/PID/status file.
absl::StatusOr<ThreadCapabilities> ParseProcStatusCapabilities(std::string_view status);

// Every thread of this process, from /proc/self/task/TID/status.
absl::StatusOr<std::vector<std::pair<pid_t, ThreadCapabilities>>> AllThreadCapabilities();

// Reduces every thread of the process to `keep`: permitted and effective
// become keep ∩ permitted, inheritable and ambient lose what is not in
// keep, and the bounding set too when the thread may change it
// (CAP_SETPCAP: under systemd, CapabilityBoundingSet= has done that). Sets
// no_new_privs, so no exec can regain anything. Then checks that no thread
// holds more than `keep`. Errors name the thread that failed or refused.
absl::Status DropCapabilities(CapabilitySet keep);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SERVICE_CAPABILITIES_H_
