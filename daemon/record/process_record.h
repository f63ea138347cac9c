// ProcessRecord: who owns a socket on this host — one immutable record per
// process (pid + start time), shared by every connection it owns.
//
// A record type below the stages that share it: the process stage makes
// it, the tracker carries it on each Connection, snapshots read it.
//
// Thread-safety: written once by the attribution thread before it is
// shared; afterwards only `exited` changes (atomically).
#ifndef RUSTNET_DAEMON_RECORD_PROCESS_RECORD_H_
#define RUSTNET_DAEMON_RECORD_PROCESS_RECORD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rustnet {

struct ProcessRecord {
  uint32_t pid = 0;  // 0: only the socket's owner (uid) is known.
  uint32_t uid = 0;
  std::string name;  // Full name (see FullProcessName).
  std::string executable;
  std::vector<std::string> command_line;
  std::string user;
  std::string cgroup;
  std::string unit;
  std::string user_unit;
  std::string container_runtime;
  std::string container_id;
  int64_t started_us = 0;  // Microseconds since the epoch; 0 unknown.
  uint64_t start_ticks = 0;  // /proc/<pid>/stat starttime: tells reused pids apart.
  struct Ancestor {
    uint32_t pid = 0;
    std::string name;  // Empty: not readable (gone).
  };
  std::vector<Ancestor> lineage;  // Parent first, up to 4; stops at pid 1.
  // The network namespace when not the daemon's own (0: the daemon's).
  uint32_t netns_inode = 0;
  std::string netns_name;  // /run/netns/NAME, if it has one.
  // A kubelet-managed pod's container (daemon/process/kubernetes.h): the
  // pod's UID from the cgroup path; names from the node's metadata files
  // (empty when none said).
  std::string k8s_pod_uid;
  std::string k8s_pod;
  std::string k8s_namespace;
  std::string k8s_container;
  // Set once the process is seen gone; the record stays with its connections.
  mutable std::atomic<bool> exited{false};
};

// Mirrors rustnet.v1.AttributionMethod (same numbers).
enum class AttributionMethod : uint8_t {
  kNone = 0,
  kSocket = 1,    // The connection's own socket.
  kListener = 2,  // A listening TCP socket on the local port (not yet accepted).
  kBound = 3,     // An unconnected UDP socket bound to the local port.
};

struct SideAttribution {
  std::shared_ptr<const ProcessRecord> process;  // Null: nothing found.
  AttributionMethod method = AttributionMethod::kNone;
  bool ebpf = false;  // Found by the eBPF socket tracker.
};

// What is known about a connection's sockets, per endpoint of its FlowKey
// (side 0 = addr_a:port_a, side 1 = addr_b:port_b). Immutable once shared.
struct Attribution {
  SideAttribution side[2];
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RECORD_PROCESS_RECORD_H_
