// ProcessTable: socket inode -> owning process, from /proc.
//
// /proc/<pid>/fd/N links read "socket:[INODE]". Scanning every process's
// descriptors is what `ss -p` does on each call; the table instead keeps
// what it learnt (inode -> pid and fd) and, when asked for an inode it does
// not know, scans processes in the order most likely to hold it: processes
// new since the last look or whose descriptor count changed (the count is
// the st_size of /proc/<pid>/fd), then those running as the socket's uid,
// then — at most once a second — everyone else. A known inode is checked
// with one readlink of the remembered fd.
//
// Parsers take file contents, and the table takes a proc root, so all of it
// is tested on canned trees.
//
// Thread-safety: one thread (the attribution thread) uses a ProcessTable;
// the records it hands out are immutable except ProcessRecord::exited.
#ifndef RUSTNET_DAEMON_PROCESS_PROCESS_TABLE_H_
#define RUSTNET_DAEMON_PROCESS_PROCESS_TABLE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "daemon/process/cgroup_ids.h"
#include "daemon/process/kubernetes.h"
#include "daemon/record/process_record.h"

namespace rustnet {

struct ProcStat {
  std::string comm;
  uint32_t ppid = 0;         // Field 4.
  uint64_t start_ticks = 0;  // Field 22: clock ticks after boot.
};
// /proc/<pid>/stat. The comm may hold spaces and parentheses: it ends at the
// last ')'.
std::optional<ProcStat> ParseProcStat(std::string_view text);
// The effective uid from /proc/<pid>/status ("Uid:\treal\teffective\t...").
std::optional<uint32_t> ParseStatusEffectiveUid(std::string_view text);
// /proc/<pid>/cmdline: NUL-separated arguments; at most 64 arguments and
// 4 KiB in all are kept.
std::vector<std::string> ParseCmdline(std::string_view bytes);
// "socket:[12345]" -> 12345.
std::optional<uint64_t> SocketInodeFromLink(std::string_view link);

struct CgroupInfo {
  std::string path;  // The cgroup v2 path (or v1 name=systemd / first hierarchy).
  std::string unit;       // "nginx.service", "user@1000.service", "session-3.scope"
  std::string user_unit;  // Inside user@N.service: "app-firefox.scope"
  std::string container_runtime;  // "docker", "podman", "containerd", "cri-o"
  std::string container_id;       // The full hex id.
};
// /proc/<pid>/cgroup: systemd units and container ids from the path.
// Understands the systemd slice layout, docker (systemd and cgroupfs
// drivers), podman (libpod-*.scope, rootful and rootless), containerd
// (cri-containerd-*.scope and kubepods/<pod>/<id>) and CRI-O (crio-*.scope).
CgroupInfo ParseCgroup(std::string_view text);

// The process's full name: `comm` unless it is the kernel's 15-character
// truncation, in which case the base name of the executable, argv[0] or an
// interpreter's script (argv[1]) that it is a prefix of.
std::string FullProcessName(std::string_view comm, std::string_view executable,
                            const std::vector<std::string>& argv);

struct ProcessTableStats {
  uint64_t processes_scanned = 0;  // fd directories read.
  uint64_t fd_links_read = 0;
  uint64_t full_scans = 0;
  uint64_t no_permission = 0;      // fd directories we could not read.
};

class ProcessTable {
 public:
  // `k8s_root`: where the node's Kubernetes metadata files are (see
  // kubernetes.h; "" is "/").
  explicit ProcessTable(std::string proc_root = "/proc", std::string k8s_root = "");

  struct Wanted {
    uint64_t inode;
    uint32_t uid;  // The socket's owner: processes of this uid are scanned first.
  };
  // Finds the owners of `wanted`; adds inode -> record to `found` for every
  // one found.
  void Resolve(const std::vector<Wanted>& wanted,
               absl::flat_hash_map<uint64_t, std::shared_ptr<const ProcessRecord>>* found,
               int64_t now_us);
  // Lists /proc, forgets processes that are gone and marks their records
  // exited. Resolve does this too when it lists.
  void Prune();
  // Reads every process's descriptors once (at start, so the first lookups
  // find known inodes instead of scanning).
  void Warm();
  // The record of the process `tgid` that the eBPF socket tracker saw act
  // as `comm`: read from /proc (cached) while it runs as that comm, else —
  // exited, or the pid reused — made from what the tracker carried (marked
  // exited). `ppid`: its parent chain at the time (0 past the top).
  // `cgroup_id`: its cgroup v2 id; when the process is gone, the resolver's
  // path for it (SetCgroupIds) gives the unit, container and pod.
  std::shared_ptr<const ProcessRecord> ForSocketOwner(uint32_t tgid, std::string_view comm,
                                                      uint32_t uid,
                                                      const std::array<uint32_t, 4>& ppid,
                                                      uint32_t netns_inode,
                                                      uint64_t cgroup_id = 0);
  // Where ForSocketOwner resolves cgroup ids (none: it does not).
  void SetCgroupIds(std::unique_ptr<CgroupIdResolver> resolver) {
    cgroup_ids_ = std::move(resolver);
  }
  // Null without a resolver.
  const CgroupIdStats* cgroup_id_stats() const {
    return cgroup_ids_ ? &cgroup_ids_->stats() : nullptr;
  }
  // A record that only says who owns a socket (pid 0), one per uid.
  std::shared_ptr<const ProcessRecord> UserOnly(uint32_t uid);
  // The user name for a uid (the number when it has none), cached.
  const std::string& UserName(uint32_t uid);

  size_t processes_known() const { return pids_.size(); }
  const ProcessTableStats& stats() const { return stats_; }
  const KubeStats& kube_stats() const { return kube_.stats(); }

 private:
  struct Pid {
    int64_t fd_count = -1;  // st_size of fd/ when last scanned; -1 never.
    int64_t fd_count_now = -1;
    uint32_t uid = 0;       // Owner of /proc/<pid>/fd (the effective uid).
    std::vector<uint64_t> inodes;
    std::shared_ptr<ProcessRecord> record;
  };
  struct Owner {
    int pid;
    int fd;
  };

  // Lists the pids in proc_root_, refreshing fd_count_now/uid; forgets the gone.
  void List(std::vector<int>* pids);
  // Reads pid's descriptors; records every socket inode. False if unreadable.
  bool ScanFds(int pid, Pid& p);
  bool StillOwns(const Owner& o, uint64_t inode);
  std::shared_ptr<const ProcessRecord> RecordFor(int pid);
  // Parent chain (up to 4) from /proc, starting at `ppid`.
  std::vector<ProcessRecord::Ancestor> Lineage(uint32_t ppid);
  // Fills netns_inode / netns_name when `inode` is not the daemon's namespace.
  void SetNetns(uint32_t inode, ProcessRecord* r);
  // Fills the cgroup, unit and container fields from `info`, then the k8s_*
  // fields when the cgroup is a kubelet pod's.
  void SetCgroup(CgroupInfo info, ProcessRecord* r);
  // Fills the k8s_* fields when r->cgroup is a kubelet pod's.
  void SetKubernetes(ProcessRecord* r);
  void Forget(int pid, Pid& p);

  std::string proc_root_;
  KubeMetadata kube_;
  std::unique_ptr<CgroupIdResolver> cgroup_ids_;  // Null: cgroup ids are not resolved.
  absl::flat_hash_map<int, Pid> pids_;
  absl::flat_hash_map<uint64_t, Owner> owners_;
  absl::flat_hash_map<uint32_t, std::shared_ptr<const ProcessRecord>> user_only_;
  absl::flat_hash_map<uint32_t, std::string> user_names_;
  int64_t last_full_scan_us_ = INT64_MIN / 2;
  int64_t boot_time_us_ = 0;
  int64_t clock_ticks_ = 100;
  ProcessTableStats stats_;
  uint32_t own_netns_ = 0;  // The daemon's network namespace inode.
  // ForSocketOwner's records by pid (bounded): what /proc said while the
  // process ran, or what the tracker carried when it was gone first.
  absl::flat_hash_map<uint32_t, std::shared_ptr<const ProcessRecord>> gone_;
  absl::flat_hash_map<uint32_t, std::string> netns_names_;  // inode -> /run/netns name
  int64_t netns_names_read_us_ = INT64_MIN / 2;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_PROCESS_TABLE_H_
