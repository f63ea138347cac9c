// Kubernetes: which pod and container a process belongs to, from what the
// node has on disk — no API server client.
//
// The kubelet puts every container of a pod in a cgroup under the pod's
// (ParseKubeCgroup reads its UID and the container id from the path):
//   systemd driver  /kubepods.slice/kubepods-besteffort.slice/
//                     kubepods-besteffort-pod<uid with '_'>.slice/cri-containerd-<id>.scope
//                   (kubepods-burstable-..., guaranteed: kubepods-pod<uid>.slice;
//                    crio-<id>.scope, docker-<id>.scope)
//   cgroupfs driver /kubepods/besteffort/pod<uid>/<id>   (burstable/, or none: guaranteed)
// Names then come from the first of these that answers (KubeMetadata):
//   1. the CRI runtime's OCI bundle config.json, its annotations:
//      containerd  run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json
//                  io.kubernetes.cri.sandbox-name / sandbox-namespace / container-name
//      CRI-O       run/containers/storage/overlay-containers/<id>/userdata/config.json
//                  io.kubernetes.pod.name / pod.namespace / container.name
//   2. the kubelet's log directory var/log/pods/<namespace>_<pod>_<uid>/
//      (namespace and pod name; the container's name when the pod has one)
//   3. the kubelet's pod directory var/lib/kubelet/pods/<uid>/: the pod's
//      host name from etc-hosts (the pod's name unless spec.hostname is
//      set), its namespace from a service-account volume's `namespace`
//      file, the container's name when containers/ holds only one.
// Paths are under a root ("/" on a node; a temporary tree in tests; the
// daemon takes RUSTNETD_K8S_ROOT).
//
// Every file is hostile (a container's owner controls its annotations):
// reads are capped (kMaxConfigBytes), the JSON goes through a bounded,
// non-recursive parser, values are cut to kMaxValueBytes, and a file that
// is too big or not JSON is counted and skipped. Answers are cached per
// container id (at most kMaxCached; a miss is asked again after
// kRetryUs, as a container's bundle may not be written yet).
//
// Thread-safety: one thread (the attribution thread) uses a KubeMetadata.
#ifndef RUSTNET_DAEMON_PROCESS_KUBERNETES_H_
#define RUSTNET_DAEMON_PROCESS_KUBERNETES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace rustnet {

inline constexpr size_t kMaxConfigBytes = 1 << 20;  // An OCI config.json is ~10-50 KiB.
inline constexpr size_t kMaxJsonDepth = 64;
inline constexpr size_t kMaxJsonMembers = 512;  // Kept from the object asked for.
inline constexpr size_t kMaxValueBytes = 253;   // A DNS subdomain, as Kubernetes names are.
inline constexpr size_t kMaxCached = 4096;
inline constexpr int64_t kRetryUs = 10'000'000;

struct KubeCgroupRef {
  std::string pod_uid;       // "0c9a1f2e-...-..." (lowercase, dashes).
  std::string container_id;  // 64 hex digits; empty when the path ends at the pod.
  std::string runtime;       // "containerd", "cri-o", "docker"; "" (cgroupfs: unknown).
  std::string qos;           // "besteffort", "burstable", "guaranteed".
};
// The pod and container of a cgroup v2 path (or v1 name=systemd path), or
// nullopt when it is no kubelet pod's (also under user.slice or a
// user@UID.service: a user's delegated subtree). Deeper cgroups inside the
// container's (a container running systemd) belong to it.
std::optional<KubeCgroupRef> ParseKubeCgroup(std::string_view path);

// The string members of the object at `path` (a chain of member names from
// the top-level object; empty: the top level itself) in the JSON document
// `text`, in order, values unescaped (\uXXXX to UTF-8) and cut to
// kMaxValueBytes; members of other types are skipped. Errors
// (InvalidArgument) on a document that is not JSON, nests deeper than
// kMaxJsonDepth or holds more than kMaxJsonMembers such members. Iterative:
// no input makes it recurse.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> JsonStringMembers(
    std::string_view text, const std::vector<std::string_view>& path);

struct KubeInfo {
  std::string pod;
  std::string pod_namespace;
  std::string container;
  std::string pod_uid;
  std::string source;  // "containerd", "cri-o", "docker", "pod-logs", "kubelet"
};

struct KubeStats {
  uint64_t lookups = 0;    // Not answered from the cache.
  uint64_t found = 0;      // With a name (pod, namespace or container).
  uint64_t not_found = 0;  // No metadata for the pod/container.
  uint64_t bad_files = 0;  // Not JSON, too deep, too many members.
  uint64_t oversized = 0;  // Past kMaxConfigBytes.
  uint64_t evicted = 0;    // Cache entries dropped at kMaxCached.
};

class KubeMetadata {
 public:
  // `root`: prefix of every path ("" or "/": the node's own).
  explicit KubeMetadata(std::string root = "");

  // The names for `ref` (cached); null when nothing is known beyond the
  // UID (the caller still has ref.pod_uid).
  std::shared_ptr<const KubeInfo> Lookup(const KubeCgroupRef& ref, int64_t now_us);

  const KubeStats& stats() const { return stats_; }

 private:
  // Reads a file of at most kMaxConfigBytes; nullopt (and counted when
  // too big) otherwise.
  std::optional<std::string> ReadCapped(const std::string& path, size_t cap);
  // 1: the runtime's bundle. Fills what it finds.
  bool FromRuntime(const KubeCgroupRef& ref, KubeInfo* info);
  // 2 and 3.
  bool FromPodLogs(const KubeCgroupRef& ref, KubeInfo* info);
  bool FromKubelet(const KubeCgroupRef& ref, KubeInfo* info);

  struct Entry {
    std::shared_ptr<const KubeInfo> info;  // Null: a miss.
    int64_t at_us = 0;
    // Pod, namespace and (for a container) its name all known. A miss or a
    // partial answer (a pod still starting: its log directory made, its
    // bundle not yet) is looked up again after kRetryUs.
    bool complete = false;
  };
  std::string root_;
  absl::flat_hash_map<std::string, Entry> cache_;  // container id (or pod uid) -> names
  KubeStats stats_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_KUBERNETES_H_
