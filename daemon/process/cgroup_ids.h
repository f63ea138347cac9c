// CgroupIdResolver: a cgroup v2 id -> the cgroup's path ("/kubepods.slice/
// .../cri-containerd-<id>.scope"), for processes that are gone before
// /proc/<pid>/cgroup could be read: the socket-tracking BPF records carry
// bpf_get_current_cgroup_id(), and on cgroup v2 a cgroup's id is the inode
// number of its directory. So a walk of the hierarchy maps ids to paths.
//
// The walk starts at a descriptor of the hierarchy's root and goes on with
// openat/fdopendir/fstatat relative to it, never a path: the root may be a
// private mount made for a moment inside `ip netns exec` (bpf_source.cc)
// that no path reaches. It is bounded (kMaxDepth levels, max_walk_dirs
// directories; a walk cut short is counted), the cache of id -> path is
// bounded (max_cached; a walk replaces it, keeping the id asked for), and a
// miss walks again at most once per rescan_interval_us: ids of cgroups made
// since the last walk are found, an unknown id costs nothing more.
//
// Paths are relative to the root, as /proc/<pid>/cgroup's "0::" line is
// (the root is "/"), so ParseCgroup reads them the same way.
//
// Thread-safety: one thread (the attribution thread).
#ifndef RUSTNET_DAEMON_PROCESS_CGROUP_IDS_H_
#define RUSTNET_DAEMON_PROCESS_CGROUP_IDS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace rustnet {

struct CgroupIdStats {
  uint64_t lookups = 0;
  uint64_t resolved = 0;         // Lookups answered (from the cache or a walk).
  uint64_t misses = 0;           // Ids not found (or not looked for: throttled).
  uint64_t walks = 0;            // Walks of the hierarchy.
  uint64_t walks_truncated = 0;  // Walks cut short by the depth or directory bound.
  uint64_t cached = 0;           // Ids in the cache now.
};

class CgroupIdResolver {
 public:
  static constexpr int kMaxDepth = 16;
  struct Options {
    size_t max_cached = 16384;
    size_t max_walk_dirs = 100'000;
    int64_t rescan_interval_us = 1'000'000;
  };
  // Takes `root_fd` (a directory descriptor of the cgroup2 root; closed on
  // destruction). With -1 every lookup misses.
  CgroupIdResolver(int root_fd, Options options);
  ~CgroupIdResolver();
  CgroupIdResolver(const CgroupIdResolver&) = delete;
  CgroupIdResolver& operator=(const CgroupIdResolver&) = delete;

  // The path of cgroup `id` ("/" for the root); nullopt when it is not (or
  // no longer) in the hierarchy, or a walk was made less than
  // rescan_interval_us before `now_us` (CLOCK_MONOTONIC).
  std::optional<std::string> Lookup(uint64_t id, int64_t now_us);

  const CgroupIdStats& stats() const { return stats_; }

 private:
  // Walks the hierarchy into a fresh cache; true if `want` was found.
  bool Walk(uint64_t want);
  // Reads directory `dir_fd` (taken) at `path`, `depth` levels down.
  void WalkDir(int dir_fd, const std::string& path, int depth, uint64_t want,
               absl::flat_hash_map<uint64_t, std::string>* out, std::string* found, size_t* dirs,
               bool* truncated);

  int root_fd_;
  Options options_;
  absl::flat_hash_map<uint64_t, std::string> cache_;
  int64_t last_walk_us_ = INT64_MIN / 2;
  CgroupIdStats stats_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_CGROUP_IDS_H_
