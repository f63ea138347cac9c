#include "daemon/process/attributor.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/monotonic_clock.h"
#include "daemon/process/bpf_source.h"
#include "daemon/process/process_table.h"
#include "daemon/process/socket_table.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int Rank(const SideAttribution& s) {
  if (!s.process) return 0;
  const bool own = s.method == AttributionMethod::kSocket;
  if (s.process->pid != 0) return own ? 4 : 3;
  return own ? 2 : 1;
}

// How often exited processes are looked for (and forgotten).
constexpr int64_t kIdlePruneUs = 2'000'000;
// Up to this many connections in a batch are looked up one by one (up to
// four kernel round trips each, ~10 us apiece, whatever the table's size);
// more, and one dump of the whole table is cheaper.
constexpr size_t kMaxExactLookups = 64;

// One end of a connection, seen from `side` (0: addr_a's end, 1: addr_b's).
struct End {
  const IpAddress& addr;
  uint16_t port;
  const IpAddress& peer;
  uint16_t peer_port;
};

End EndOf(const FlowKey& key, int side) {
  return side == 0 ? End{key.addr_a, key.port_a, key.addr_b, key.port_b}
                   : End{key.addr_b, key.port_b, key.addr_a, key.port_a};
}

bool HasSockets(const FlowKey& key) {
  return key.protocol == kIpProtoTcp || key.protocol == kIpProtoUdp;
}

// The sockets that matter to `keys`, from one sock_diag lookup per end and
// protocol (the connection's own socket, or the listener / bound socket the
// kernel falls back to), plus the listener behind an own socket (the
// fallback owner when the socket is gone before its process is found).
absl::Status LookUpEach(SocketTableReader& sockets,
                        const absl::flat_hash_map<FlowKey, int64_t>& keys,
                        std::vector<SocketEntry>* out) {
  out->clear();
  for (const auto& [key, asked] : keys) {
    if (!HasSockets(key)) continue;
    for (int side = 0; side < 2; ++side) {
      const End e = EndOf(key, side);
      const size_t before = out->size();
      absl::Status s = sockets.Lookup(key.protocol, e.addr, e.port, e.peer, e.peer_port, out);
      if (!s.ok()) return s;
      const bool got = out->size() > before;
      const bool listening =
          got && (key.protocol == kIpProtoTcp ? out->back().state == kTcpStateListen
                                              : out->back().remote_port == 0);
      // TCP with nothing kept may be a request socket (dropped: no owner)
      // in front of a listener; UDP with nothing has no bound socket either.
      if (listening || (!got && key.protocol == kIpProtoUdp)) continue;
      static const IpAddress kAny4 = [] {
        const uint8_t zero[4] = {};
        return IpAddress::FromV4(zero);
      }();
      s = sockets.Lookup(key.protocol, e.addr, e.port, e.addr.IsV4() ? kAny4 : IpAddress{}, 0,
                         out);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// One connection's sockets, per side.
struct Found {
  const SocketEntry* entry[2] = {nullptr, nullptr};
  AttributionMethod method[2] = {AttributionMethod::kNone, AttributionMethod::kNone};
  // The listening / bound socket for the same local end: its owner
  // answers when the connection's own socket is gone before its
  // process was found (a request served in a millisecond).
  const SocketEntry* fallback[2] = {nullptr, nullptr};
  int64_t asked_us = 0;
};

// The socket of `key`'s end `side` in `index`, and the inodes whose
// processes are wanted.
void FindSide(const FlowKey& key, int side, const SocketIndex& index, Found* f,
              std::vector<ProcessTable::Wanted>* wanted) {
  const End end = EndOf(key, side);
  const SocketEntry* e = index.Exact(key.protocol, end.addr, end.port, end.peer, end.peer_port);
  // A connection in a listener's accept queue has a socket but no file yet
  // (inode 0): it belongs to whoever owns the listener.
  if (e != nullptr && (e->inode != 0 || key.protocol != kIpProtoTcp)) {
    f->entry[side] = e;
    f->method[side] = AttributionMethod::kSocket;
  } else if (const SocketEntry* bound = index.Bound(key.protocol, end.addr, end.port)) {
    f->entry[side] = bound;
    f->method[side] =
        key.protocol == kIpProtoTcp ? AttributionMethod::kListener : AttributionMethod::kBound;
  } else if (e != nullptr) {
    f->entry[side] = e;
    f->method[side] = AttributionMethod::kSocket;
  }
  if (f->entry[side] && f->entry[side]->inode != 0) {
    wanted->push_back({f->entry[side]->inode, f->entry[side]->uid});
  }
  if (f->method[side] == AttributionMethod::kSocket) {
    const SocketEntry* bound = index.Bound(key.protocol, end.addr, end.port);
    if (bound != nullptr && bound->inode != 0) {
      f->fallback[side] = bound;
      wanted->push_back({bound->inode, bound->uid});
    }
  }
}

using Owners = absl::flat_hash_map<uint64_t, std::shared_ptr<const ProcessRecord>>;

// Who owns each side of a connection, from the processes found: the
// socket's own process, else the listener's / bound socket's, else only
// the socket's user. `any` / `any_pid`: a side had a socket / a process.
std::shared_ptr<Attribution> OwnersOf(const FlowKey& key, const Found& f, const Owners& owners,
                                      ProcessTable& processes, bool* any, bool* any_pid) {
  auto a = std::make_shared<Attribution>();
  for (int side = 0; side < 2; ++side) {
    const SocketEntry* e = f.entry[side];
    if (e == nullptr) continue;
    *any = true;
    auto it = owners.find(e->inode);
    const SocketEntry* fb = f.fallback[side];
    auto fb_it = fb != nullptr ? owners.find(fb->inode) : owners.end();
    a->side[side].method = f.method[side];
    if (e->inode != 0 && it != owners.end()) {
      a->side[side].process = it->second;
      *any_pid = true;
    } else if (fb_it != owners.end()) {
      a->side[side].process = fb_it->second;
      a->side[side].method =
          key.protocol == kIpProtoTcp ? AttributionMethod::kListener : AttributionMethod::kBound;
      *any_pid = true;
    } else {
      a->side[side].process = processes.UserOnly(e->uid);
    }
  }
  return a;
}

}  // namespace

std::shared_ptr<const Attribution> MergeAttribution(
    const std::shared_ptr<const Attribution>& old,
    const std::shared_ptr<const Attribution>& fresh) {
  if (!fresh) return nullptr;
  if (!old) return fresh;
  Attribution merged = *old;
  bool changed = false;
  for (int s = 0; s < 2; ++s) {
    const SideAttribution& n = fresh->side[s];
    if (Rank(n) == 0 || Rank(n) < Rank(old->side[s])) continue;
    if (n.process == old->side[s].process && n.method == old->side[s].method) continue;
    merged.side[s] = n;
    changed = true;
  }
  if (!changed) return nullptr;
  return std::make_shared<const Attribution>(std::move(merged));
}

Attributor::Attributor(Options options) : options_(std::move(options)) {
  if (!options_.ebpf) {
    ebpf_status_ = "disabled (--no-ebpf)";
    return;
  }
  BpfSocketSource::Options o;
  o.fail_program = options_.ebpf_fail_program;
  auto source = BpfSocketSource::Create(std::move(o));
  if (!source.ok()) {
    ebpf_status_ = std::string(source.status().message());
    spdlog::warn("process attribution: eBPF not in use, sock_diag and /proc only: {}",
                 ebpf_status_);
    return;
  }
  bpf_ = std::move(*source);
  ebpf_status_ = "active";
  spdlog::info("process attribution: eBPF socket tracking on the cgroup {} ({} programs{})",
               bpf_->cgroup_root(), bpf_->loaded().size(),
               bpf_->failed().empty() ? ""
                                      : absl::StrCat("; left out: ",
                                                     absl::StrJoin(bpf_->failed(), ", ")));
}

Attributor::~Attributor() { Stop(); }

void Attributor::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "rn-attrib");
    Loop();
  });
  if (bpf_) {
    bpf_thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "rn-attrib-bpf");
      BpfLoop();
    });
  }
}

void Attributor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (bpf_thread_.joinable()) bpf_thread_.join();
}

void Attributor::BpfLoop() {
  std::vector<SocketEvent> read;
  const std::function<void(SocketEvent&&)> sink = [&read](SocketEvent&& e) {
    read.push_back(std::move(e));
  };
  for (;;) {
    // 100 ms: how long Stop() may wait for this thread.
    bpf_->Poll(100, sink);
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    if (read.empty()) continue;
    bpf_events_read_.fetch_add(read.size(), std::memory_order_relaxed);
    const size_t room = options_.max_bpf_events > bpf_events_.size()
                            ? options_.max_bpf_events - bpf_events_.size()
                            : 0;
    const size_t take = std::min(room, read.size());
    if (take < read.size()) {
      bpf_queue_lost_.fetch_add(read.size() - take, std::memory_order_relaxed);
    }
    std::move(read.begin(), read.begin() + static_cast<ptrdiff_t>(take),
              std::back_inserter(bpf_events_));
    read.clear();
  }
}

bool Attributor::Request(const FlowKey& key) {
  absl::MutexLock lock(&mu_);
  if (pending_.size() >= options_.max_pending) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  pending_.push_back(Pending{key, MonotonicUs()});
  return true;
}

AttributorStats Attributor::Stats() const {
  AttributorStats s;
  s.socket_source = procfs_.load(std::memory_order_relaxed) ? "procfs" : "netlink";
  s.requests = requests_.load(std::memory_order_relaxed);
  s.attributed = attributed_.load(std::memory_order_relaxed);
  s.user_only = user_only_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.socket_dumps = dumps_.load(std::memory_order_relaxed);
  s.socket_lookup_batches = lookups_.load(std::memory_order_relaxed);
  s.processes_scanned = scanned_.load(std::memory_order_relaxed);
  s.fd_links_read = links_.load(std::memory_order_relaxed);
  s.processes_known = known_.load(std::memory_order_relaxed);
  const uint64_t answered = answered_.load(std::memory_order_relaxed);
  s.latency_us_avg = answered ? latency_sum_.load(std::memory_order_relaxed) / answered : 0;
  s.latency_us_max = latency_max_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.thread_cpu_seconds = static_cast<double>(cpu_ns_.load(std::memory_order_relaxed)) / 1e9;
  s.source = bpf_ ? "ebpf" : "sock_diag";
  s.ebpf_status = ebpf_status_;
  if (bpf_) {
    s.ebpf_programs = bpf_->loaded();
    s.ebpf_programs_failed = bpf_->failed();
    s.ebpf_cgroup = bpf_->cgroup_root();
    s.ebpf_lost = bpf_->Lost() + bpf_queue_lost_.load(std::memory_order_relaxed);
    bpf_->RunStats(&s.ebpf_run_ns, &s.ebpf_run_count);
  }
  s.ebpf_events = bpf_events_read_.load(std::memory_order_relaxed);
  s.ebpf_records = bpf_records_.load(std::memory_order_relaxed);
  s.ebpf_matched = bpf_matched_.load(std::memory_order_relaxed);
  s.ebpf_expired = bpf_expired_.load(std::memory_order_relaxed);
  s.ebpf_evicted = bpf_evicted_.load(std::memory_order_relaxed);
  s.ebpf_attributed = bpf_attributed_.load(std::memory_order_relaxed);
  s.ebpf_late = bpf_late_.load(std::memory_order_relaxed);
  s.kubernetes_found = k8s_found_.load(std::memory_order_relaxed);
  s.kubernetes_not_found = k8s_not_found_.load(std::memory_order_relaxed);
  s.kubernetes_bad_files = k8s_bad_.load(std::memory_order_relaxed);
  s.cgroup_ids_resolved = cg_resolved_.load(std::memory_order_relaxed);
  s.cgroup_ids_missed = cg_misses_.load(std::memory_order_relaxed);
  s.cgroup_walks = cg_walks_.load(std::memory_order_relaxed);
  s.cgroup_walks_truncated = cg_truncated_.load(std::memory_order_relaxed);
  s.cgroup_ids_cached = cg_cached_.load(std::memory_order_relaxed);
  return s;
}

struct Attributor::ThreadState {
  explicit ThreadState(const Options& options)
      : processes(options.proc_root, K8sRoot(options)),
        sockets(options.proc_root, options.force_procfs) {}

  static std::string K8sRoot(const Options& options) {
    if (!options.k8s_root.empty()) return options.k8s_root;
    const char* env = std::getenv("RUSTNETD_K8S_ROOT");
    return env != nullptr ? env : "";
  }

  ProcessTable processes;
  SocketTableReader sockets;
  SocketIndex index;
  int64_t cpu_start_ns = ThreadCpuNs();
  bool warned = false;  // That the socket table cannot be read (said once).
  int64_t last_prune_us = 0;
  SocketRecordTable records{SocketRecordTable::Options{}};
  // Questions no eBPF record answered yet, and when they were asked.
  absl::flat_hash_map<FlowKey, int64_t> awaiting;
  std::vector<SocketEvent> events;
  // Questions no record answered yet, given kBpfGraceUs for one to come
  // before sock_diag is asked (asked again at each pass).
  std::vector<Pending> deferred;
};

namespace {
// Questions waiting for a late record, at most.
constexpr size_t kMaxAwaiting = 65536;
// How long a question waits for its record before sock_diag is asked: a
// client's record comes when its handshake completes, microseconds after
// the SYN on a local path. Asking sock_diag at once instead finds a socket
// whose inode is not known yet, and a scan of every process follows.
constexpr int64_t kBpfGraceUs = 20'000;

uint32_t OwnNetns() {
  char buf[64];
  const ssize_t n = readlink("/proc/self/ns/net", buf, sizeof buf - 1);
  if (n <= 5) return 0;
  return static_cast<uint32_t>(std::strtoul(buf + 5, nullptr, 10));  // "net:[N]"
}


}  // namespace

struct Attributor::Requests {
  explicit Requests(const std::vector<Pending>& batch) {
    for (const Pending& p : batch) {
      auto [it, inserted] = first.try_emplace(p.key, p.asked_us);
      if (!inserted) it->second = std::min(it->second, p.asked_us);
      tcp |= p.key.protocol == kIpProtoTcp;
      udp |= p.key.protocol == kIpProtoUdp;
    }
  }

  absl::flat_hash_map<FlowKey, int64_t> first;  // Each key's earliest request time.
  bool tcp = false;  // Some TCP connection / some UDP one is asked about.
  bool udp = false;
};

void Attributor::Loop() {
  ThreadState state(options_);
  if (bpf_) {
    SocketRecordTable::Options o;
    o.own_netns_ino = OwnNetns();
    state.records = SocketRecordTable(o);
    // The cgroup of a process gone before /proc was read: from the record's
    // cgroup id, on the hierarchy the programs attach to.
    const int root = bpf_->DupCgroupRoot();
    if (root >= 0) {
      state.processes.SetCgroupIds(
          std::make_unique<CgroupIdResolver>(root, CgroupIdResolver::Options{}));
    }
  }
  state.processes.Warm();
  state.last_prune_us = MonotonicUs();
  std::vector<Pending> batch;
  while (WaitForRequests(&batch, &state.events,
                         state.deferred.empty() ? kIdlePruneUs : kBpfGraceUs / 4)) {
    const int64_t start_us = MonotonicUs();
    if (start_us - state.last_prune_us >= kIdlePruneUs) {
      // Mark exited processes as such even while requests keep coming.
      state.processes.Prune();
      state.last_prune_us = start_us;
    }
    if (bpf_) IngestRecords(&state.events, &state);
    requests_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (!state.deferred.empty()) {
      batch.insert(batch.end(), state.deferred.begin(), state.deferred.end());
      state.deferred.clear();
    }
    if (!batch.empty()) {
      AnswerBatch(batch, &state);
      batch.clear();
    }
    PublishThreadStats(state);
  }
}

bool Attributor::WaitForRequests(std::vector<Pending>* batch, std::vector<SocketEvent>* events,
                                 int64_t timeout_us) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || !pending_.empty() || !bpf_events_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Microseconds(timeout_us));
  if (stop_) return false;
  batch->swap(pending_);
  events->swap(bpf_events_);
  return true;
}

Attributor::RecordAnswer Attributor::FromRecords(const FlowKey& key, int side, int64_t at_us,
                                                 ThreadState* state) {
  RecordAnswer out;
  const End e = EndOf(key, side);
  SocketRecordTable::Match m =
      state->records.Find(key.protocol, e.addr, e.port, e.peer, e.peer_port, at_us);
  if (!m.event) return out;
  const SocketEvent& ev = *m.event;
  out.side.process =
      state->processes.ForSocketOwner(ev.tgid, ev.comm, ev.uid, ev.ppid, ev.netns_ino,
                                      ev.cgroup_id);
  out.side.method = m.method;
  out.side.ebpf = true;
  out.exact = m.exact;
  return out;
}

void Attributor::IngestRecords(std::vector<SocketEvent>* events, ThreadState* state) {
  const int64_t now = MonotonicUs();
  std::vector<AttributionResult> late;
  for (SocketEvent& e : *events) {
    const bool joinable = e.kind == SocketEvent::Kind::kConnect && e.local != IpAddress{};
    FlowKey key;
    if (joinable) {
      bool src_is_a = false;
      key = MakeFlowKey(e.protocol, e.local.IsV4() ? 4 : 6, e.local, e.local_port, e.remote,
                        e.remote_port, &src_is_a);
    }
    state->records.Add(std::move(e));
    if (!joinable || state->awaiting.empty()) continue;
    auto it = state->awaiting.find(key);
    if (it == state->awaiting.end()) continue;
    auto a = std::make_shared<Attribution>();
    bool settled = false;
    for (int side = 0; side < 2; ++side) {
      const RecordAnswer r = FromRecords(key, side, it->second, state);
      a->side[side] = r.side;
      settled |= r.exact && r.side.process;
      if (r.side.process) bpf_attributed_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!settled) continue;
    bpf_late_.fetch_add(1, std::memory_order_relaxed);
    state->awaiting.erase(it);
    late.push_back(AttributionResult{key, std::move(a)});
  }
  events->clear();
  absl::erase_if(state->awaiting, [&](const auto& kv) {
    return now - kv.second > options_.ebpf_wait_us;
  });
  state->records.Expire(now);
  const SocketRecordStats rs = state->records.stats();
  bpf_records_.store(rs.records, std::memory_order_relaxed);
  bpf_matched_.store(rs.matched, std::memory_order_relaxed);
  bpf_expired_.store(rs.expired_unmatched, std::memory_order_relaxed);
  bpf_evicted_.store(rs.evicted, std::memory_order_relaxed);
  if (!late.empty() && options_.deliver) options_.deliver(std::move(late));
}

void Attributor::AnswerBatch(const std::vector<Pending>& all, ThreadState* state) {
  // eBPF records first: a connection whose own socket they know is
  // answered; the rest go to sock_diag (and wait for a late record).
  absl::flat_hash_map<FlowKey, Attribution> from_bpf;
  std::vector<Pending> rest;
  std::vector<AttributionResult> bpf_results;
  if (bpf_) {
    const int64_t now = MonotonicUs();
    for (const Pending& p : all) {
      if (!HasSockets(p.key) || from_bpf.contains(p.key)) {
        if (!HasSockets(p.key)) rest.push_back(p);
        continue;
      }
      Attribution a;
      bool exact = false, both = true;
      uint64_t sides = 0;
      for (int side = 0; side < 2; ++side) {
        const RecordAnswer r = FromRecords(p.key, side, p.asked_us, state);
        a.side[side] = r.side;
        exact |= r.exact && r.side.process;
        both &= r.side.process != nullptr;
        sides += r.side.process != nullptr;
      }
      if (!both && !exact && now - p.asked_us < kBpfGraceUs &&
          state->deferred.size() < options_.max_pending) {
        state->deferred.push_back(p);  // Its record may be on its way.
        continue;
      }
      bpf_attributed_.fetch_add(sides, std::memory_order_relaxed);
      if (sides > 0) from_bpf.emplace(p.key, a);
      // The other end may be a socket of this host that no record knows
      // (one that existed before rustnetd started): sock_diag unless both
      // ends are known.
      if (exact) state->awaiting.erase(p.key);
      if (both) {
        CountAnswer(Answered::kProcess,
                    static_cast<uint64_t>(std::max<int64_t>(0, now - p.asked_us)));
        bpf_results.push_back(AttributionResult{p.key, std::make_shared<Attribution>(a)});
      } else {
        rest.push_back(p);
        if (!exact && state->awaiting.size() < kMaxAwaiting) {
          state->awaiting.emplace(p.key, p.asked_us);
        }
      }
    }
    if (!bpf_results.empty() && options_.deliver) options_.deliver(std::move(bpf_results));
    if (rest.empty()) return;
  }
  const std::vector<Pending>& batch = bpf_ ? rest : all;
  const Requests requests(batch);
  std::vector<SocketEntry> entries;
  ReadSockets(requests, state, &entries);
  state->index.Build(std::move(entries));

  std::vector<std::pair<FlowKey, Found>> looked;
  looked.reserve(requests.first.size());
  std::vector<ProcessTable::Wanted> wanted;
  for (const auto& [key, asked] : requests.first) {
    Found f;
    f.asked_us = asked;
    if (HasSockets(key)) {
      for (int side = 0; side < 2; ++side) FindSide(key, side, state->index, &f, &wanted);
    }
    looked.emplace_back(key, f);
  }
  Owners owners;
  state->processes.Resolve(wanted, &owners, MonotonicUs());

  std::vector<AttributionResult> results;
  results.reserve(looked.size());
  const int64_t now = MonotonicUs();
  for (const auto& [key, f] : looked) {
    bool any = false, any_pid = false;
    std::shared_ptr<Attribution> a = OwnersOf(key, f, owners, state->processes, &any, &any_pid);
    if (bpf_) {
      // A listener / bound socket sock_diag found (one older than the BPF
      // programs: no bind record) answers the next connections to its
      // port from the records, without another socket-table read.
      for (int side = 0; side < 2; ++side) {
        const SideAttribution& sa = a->side[side];
        if (sa.process == nullptr || sa.process->pid == 0 ||
            sa.method == AttributionMethod::kSocket || sa.method == AttributionMethod::kNone) {
          continue;
        }
        const End e = EndOf(key, side);
        SocketEvent learned;
        learned.kind = SocketEvent::Kind::kBind;
        learned.protocol = key.protocol;
        learned.local = e.addr;
        learned.local_port = e.port;
        learned.tgid = sa.process->pid;
        learned.uid = sa.process->uid;
        learned.comm = sa.process->name.substr(0, 15);
        learned.time_us = f.asked_us;  // It was there when this was asked.
        state->records.Add(std::move(learned));
      }
    }
    if (auto b = from_bpf.find(key); b != from_bpf.end()) {
      // A side the records know (a listener, say) over what sock_diag found.
      for (int side = 0; side < 2; ++side) {
        if (b->second.side[side].process) {
          a->side[side] = b->second.side[side];
          any = any_pid = true;
        }
      }
    }
    CountAnswer(any_pid ? Answered::kProcess : any ? Answered::kUserOnly : Answered::kNothing,
                static_cast<uint64_t>(std::max<int64_t>(0, now - f.asked_us)));
    if (any) results.push_back(AttributionResult{key, std::move(a)});
  }
  if (!results.empty() && options_.deliver) options_.deliver(std::move(results));
}

void Attributor::ReadSockets(const Requests& requests, ThreadState* state,
                             std::vector<SocketEntry>* entries) {
  absl::Status s = absl::UnknownError("");
  if (requests.first.size() <= kMaxExactLookups &&
      state->sockets.source() == SocketSource::kNetlink) {
    s = LookUpEach(state->sockets, requests.first, entries);
    if (s.ok()) lookups_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!s.ok()) {  // A big batch, /proc/net, or lookups refused: read it all.
    s = state->sockets.Read(requests.tcp, requests.udp, entries);
    dumps_.fetch_add(1, std::memory_order_relaxed);
  }
  procfs_.store(state->sockets.source() == SocketSource::kProcfs, std::memory_order_relaxed);
  if (!s.ok() && !state->warned) {
    spdlog::warn("process attribution: cannot read the socket table: {}", s.ToString());
    state->warned = true;
  }
}

void Attributor::CountAnswer(Answered how, uint64_t latency_us) {
  switch (how) {
    case Answered::kProcess: attributed_.fetch_add(1, std::memory_order_relaxed); break;
    case Answered::kUserOnly: user_only_.fetch_add(1, std::memory_order_relaxed); break;
    case Answered::kNothing: misses_.fetch_add(1, std::memory_order_relaxed); break;
  }
  latency_sum_.fetch_add(latency_us, std::memory_order_relaxed);
  answered_.fetch_add(1, std::memory_order_relaxed);
  if (latency_us > latency_max_.load(std::memory_order_relaxed)) {
    latency_max_.store(latency_us, std::memory_order_relaxed);
  }
}

void Attributor::PublishThreadStats(const ThreadState& state) {
  const ProcessTableStats& ps = state.processes.stats();
  scanned_.store(ps.processes_scanned, std::memory_order_relaxed);
  links_.store(ps.fd_links_read, std::memory_order_relaxed);
  known_.store(state.processes.processes_known(), std::memory_order_relaxed);
  const KubeStats& ks = state.processes.kube_stats();
  k8s_found_.store(ks.found, std::memory_order_relaxed);
  k8s_not_found_.store(ks.not_found, std::memory_order_relaxed);
  k8s_bad_.store(ks.bad_files + ks.oversized, std::memory_order_relaxed);
  if (const CgroupIdStats* cs = state.processes.cgroup_id_stats()) {
    cg_resolved_.store(cs->resolved, std::memory_order_relaxed);
    cg_misses_.store(cs->misses, std::memory_order_relaxed);
    cg_walks_.store(cs->walks, std::memory_order_relaxed);
    cg_truncated_.store(cs->walks_truncated, std::memory_order_relaxed);
    cg_cached_.store(cs->cached, std::memory_order_relaxed);
  }
  cpu_ns_.store(static_cast<uint64_t>(ThreadCpuNs() - state.cpu_start_ns),
                std::memory_order_relaxed);
}

}  // namespace rustnet
