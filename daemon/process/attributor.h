// Attributor: the attribution thread. Workers (and the capture thread, at a
// TCP SYN) ask which processes own a connection's sockets; the thread reads
// the socket table (sock_diag), maps socket inodes to processes
// (ProcessTable) and hands the answers back through `deliver`, off the
// packet path. Requests are batched: one socket-table read answers every
// request that arrived while the previous batch was being answered, so a
// burst of new connections costs a few reads, not one per connection.
//
// With eBPF (Options::ebpf), the socket-tracking BPF programs
// (BpfSocketSource, loaded in the constructor, before the daemon drops its
// capabilities) report each socket's owner when it acts; their records
// (SocketRecordTable) answer first, and sock_diag + /proc answer what they
// did not see. A question that no record answers yet waits a while for
// one: the client's record comes when its connection is established,
// usually just after its SYN was captured. A second thread reads the ring
// buffer into a bounded queue.
//
// Thread-safety: Request and Stats from any thread; Start/Stop from the
// owner.
#ifndef RUSTNET_DAEMON_PROCESS_ATTRIBUTOR_H_
#define RUSTNET_DAEMON_PROCESS_ATTRIBUTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/flow_key.h"
#include "daemon/process/socket_records.h"
#include "daemon/record/process_record.h"

namespace rustnet {

struct SocketEntry;
class BpfSocketSource;

struct AttributionResult {
  FlowKey key;
  std::shared_ptr<const Attribution> attribution;  // Never null.
};

struct AttributorStats {
  std::string socket_source;  // "netlink", "procfs"
  std::string source;         // "ebpf" or "sock_diag"
  std::string ebpf_status;    // "active", or why not
  std::vector<std::string> ebpf_programs, ebpf_programs_failed;
  std::string ebpf_cgroup;
  uint64_t ebpf_events = 0, ebpf_lost = 0, ebpf_records = 0, ebpf_matched = 0,
           ebpf_expired = 0, ebpf_evicted = 0, ebpf_attributed = 0, ebpf_late = 0,
           ebpf_run_ns = 0, ebpf_run_count = 0;
  // Kubernetes metadata lookups (kubernetes.h): found, none, files refused.
  uint64_t kubernetes_found = 0, kubernetes_not_found = 0, kubernetes_bad_files = 0;
  // Cgroup ids of exited processes' records resolved to paths (cgroup_ids.h).
  uint64_t cgroup_ids_resolved = 0, cgroup_ids_missed = 0, cgroup_walks = 0,
           cgroup_walks_truncated = 0, cgroup_ids_cached = 0;
  uint64_t requests = 0;
  uint64_t attributed = 0;
  uint64_t user_only = 0;
  uint64_t misses = 0;
  uint64_t socket_dumps = 0;
  uint64_t socket_lookup_batches = 0;  // Batches answered by per-socket lookups.
  uint64_t processes_scanned = 0;
  uint64_t fd_links_read = 0;
  uint64_t processes_known = 0;
  uint64_t latency_us_avg = 0;
  uint64_t latency_us_max = 0;
  uint64_t dropped = 0;
  double thread_cpu_seconds = 0;
};

class Attributor {
 public:
  struct Options {
    std::string proc_root = "/proc";
    // Prefix of the Kubernetes metadata paths (kubernetes.h); empty: the
    // environment's RUSTNETD_K8S_ROOT (a test hook), else "/".
    std::string k8s_root;
    bool force_procfs = false;     // Tests: read /proc/net instead of netlink.
    size_t max_pending = 65536;    // Requests waiting; more are dropped and counted.
    bool ebpf = false;             // Try the eBPF source (falls back when it cannot load).
    std::string ebpf_fail_program;  // Test hook: this BPF program fails to load.
    size_t max_bpf_events = 65536;  // Records read, not yet joined; more are dropped, counted.
    // How long a question no record answered waits for a late one.
    int64_t ebpf_wait_us = 2'000'000;
    // Called on the attribution thread with each batch's answers.
    std::function<void(std::vector<AttributionResult>&&)> deliver;
  };
  explicit Attributor(Options options);
  ~Attributor();
  Attributor(const Attributor&) = delete;
  Attributor& operator=(const Attributor&) = delete;

  void Start();
  void Stop();
  // Asks for `key`'s owners. False (and counted) if the queue is full.
  bool Request(const FlowKey& key);
  AttributorStats Stats() const;

 private:
  struct Pending {
    FlowKey key;
    int64_t asked_us;  // Monotonic clock.
  };
  struct ThreadState;  // The attribution thread's tables (attributor.cc).
  struct Requests;     // A batch, each connection once (attributor.cc).
  enum class Answered { kProcess, kUserOnly, kNothing };

  // The attribution thread: waits for requests, answers them a batch at a
  // time, publishes its statistics.
  void Loop();
  // Moves the waiting requests and records into `batch` and `events` (empty
  // when nothing came within timeout_us); false once Stop() was called.
  bool WaitForRequests(std::vector<Pending>* batch, std::vector<SocketEvent>* events,
                       int64_t timeout_us);
  // Socket table, then processes, then one delivery for the batch.
  void AnswerBatch(const std::vector<Pending>& batch, ThreadState* state);
  // The sockets that matter to `requests`: looked up one by one when they
  // are few, else the whole table read.
  void ReadSockets(const Requests& requests, ThreadState* state,
                   std::vector<SocketEntry>* entries);
  void CountAnswer(Answered how, uint64_t latency_us);
  void PublishThreadStats(const ThreadState& state);
  // The ring buffer reader thread.
  void BpfLoop();
  // Joins the records read since the last call; answers questions that
  // were waiting for them.
  void IngestRecords(std::vector<SocketEvent>* events, ThreadState* state);
  // The eBPF answer for one side of `key` (null process when none); exact:
  // from a record of the very 4-tuple, which settles the question.
  struct RecordAnswer {
    SideAttribution side;
    bool exact = false;
  };
  RecordAnswer FromRecords(const FlowKey& key, int side, int64_t at_us, ThreadState* state);

  Options options_;
  std::thread thread_;
  std::unique_ptr<BpfSocketSource> bpf_;  // Null: no eBPF (see ebpf_status_).
  std::string ebpf_status_;
  std::thread bpf_thread_;

  mutable absl::Mutex mu_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<SocketEvent> bpf_events_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<bool> procfs_{false};
  std::atomic<uint64_t> requests_{0}, attributed_{0}, user_only_{0}, misses_{0}, dumps_{0},
      lookups_{0},
      scanned_{0}, links_{0}, known_{0}, latency_sum_{0}, latency_max_{0}, answered_{0},
      dropped_{0}, cpu_ns_{0}, bpf_events_read_{0}, bpf_queue_lost_{0}, bpf_records_{0},
      bpf_matched_{0}, bpf_expired_{0}, bpf_evicted_{0}, bpf_attributed_{0}, bpf_late_{0},
      k8s_found_{0}, k8s_not_found_{0}, k8s_bad_{0}, cg_resolved_{0}, cg_misses_{0},
      cg_walks_{0}, cg_truncated_{0}, cg_cached_{0};
};

// Merges a new answer into what a connection had: per side, a better or
// equally good answer replaces the old one (own socket over listener/bound
// socket, a process over only a user), so a refresh that finds nothing —
// the process exited — keeps what was found. Returns null when nothing
// changes.
std::shared_ptr<const Attribution> MergeAttribution(const std::shared_ptr<const Attribution>& old,
                                                    const std::shared_ptr<const Attribution>& fresh);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_ATTRIBUTOR_H_
