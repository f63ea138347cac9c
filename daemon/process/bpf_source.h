// BpfSocketSource: the socket-tracking BPF programs (bpf/socket_trace.bpf.c,
// embedded as a libbpf skeleton) loaded, attached to the cgroup v2 root and
// to the inet_sock_set_state tracepoint, and their ring buffer read into
// SocketEvents. The only code that knows the ring buffer's record layout.
//
// Each program is optional: one that the kernel refuses (verifier, a hook
// this kernel lacks) is left out and the rest load; the state tracepoint is
// tried as a BTF tracepoint, then as a raw tracepoint. Create fails (and the
// attributor keeps to sock_diag + /proc) only when nothing useful loads:
// no BTF, no CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN, no cgroup v2.
//
// Loading needs the privileges; reading the ring buffer afterwards does
// not, so the daemon creates the source before it drops its capabilities.
//
// Test hook: RUSTNETD_EBPF_FAIL=<program> (e.g. rn_connect6) makes that
// program fail to load (the kernel refuses it, as it would a program its
// verifier rejects or a hook it lacks).
//
// Thread-safety: Create on any thread; Poll from one thread at a time;
// the accessors are constant after Create.
#ifndef RUSTNET_DAEMON_PROCESS_BPF_SOURCE_H_
#define RUSTNET_DAEMON_PROCESS_BPF_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/process/socket_records.h"

namespace rustnet {

class BpfSocketSource {
 public:
  struct Options {
    std::string cgroup_root;  // Empty: the cgroup2 mount from /proc/self/mountinfo.
    std::string fail_program;  // Test hook (see above); also RUSTNETD_EBPF_FAIL.
  };
  // Whether this build has the BPF programs at all.
  static bool Built();
  static absl::StatusOr<std::unique_ptr<BpfSocketSource>> Create(Options options);
  ~BpfSocketSource();
  BpfSocketSource(const BpfSocketSource&) = delete;
  BpfSocketSource& operator=(const BpfSocketSource&) = delete;

  // Waits up to timeout_ms for records and hands each to `sink`; returns
  // how many (negative errno on failure).
  int Poll(int timeout_ms, const std::function<void(SocketEvent&&)>& sink);
  // Records the kernel side could not put on the full ring buffer.
  uint64_t Lost() const;
  // Kernel-side run time and runs of all programs (non-zero only while
  // kernel.bpf_stats_enabled is 1).
  void RunStats(uint64_t* run_ns, uint64_t* run_count) const;

  const std::vector<std::string>& loaded() const { return loaded_; }
  // "program: reason" for each one left out.
  const std::vector<std::string>& failed() const { return failed_; }
  const std::string& cgroup_root() const { return cgroup_root_; }
  // A new descriptor (close-on-exec, the caller's) of the cgroup v2 root the
  // programs attach to — which may be a private mount no path reaches; -1
  // when there is none.
  int DupCgroupRoot() const;

 private:
  struct Impl;
  explicit BpfSocketSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> loaded_;
  std::vector<std::string> failed_;
  std::string cgroup_root_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_BPF_SOURCE_H_
