#include "daemon/service/capabilities.h"

#include <dirent.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rustnet {
namespace {

// capabilities(7) names, indexed by number (<linux/capability.h>).
constexpr std::array<absl::string_view, 41> kNames = {
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
};

// The highest capability this kernel knows.
int LastCap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = CAP_LAST_CAP;
  if (in >> last) return std::clamp(last, 0, 63);
  return CAP_LAST_CAP;
}

pid_t ThreadId() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// --- Per-thread drop, run by every thread in a signal handler ---------------
//
// Only async-signal-safe work: raw system calls and lock-free atomics.

constexpr int kMaxThreads = 4096;

struct DropRequest {
  std::atomic<uint64_t> keep{0};
  std::atomic<bool> drop_bounding{false};
  std::atomic<int> last_cap{CAP_LAST_CAP};
  std::atomic<int> acked{0};
  std::array<std::atomic<pid_t>, kMaxThreads> acked_tids{};
  // Threads done (acked_tids written); DropCapabilities sleeps on it as a
  // futex, each handler wakes it: no polling interval on the way in.
  std::atomic<int> finished{0};
  std::atomic<pid_t> failed_tid{0};
  std::atomic<int> failed_errno{0};
  std::atomic<int> failed_step{0};  // Which of the steps below.
};
DropRequest g_request;
static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free,
              "DropRequest::finished is used as a futex word");

int* FinishedWord() { return reinterpret_cast<int*>(&g_request.finished); }

constexpr int kStepNoNewPrivs = 1;
constexpr int kStepBounding = 2;
constexpr int kStepAmbient = 3;
constexpr int kStepCapset = 4;

absl::string_view StepName(int step) {
  switch (step) {
    case kStepNoNewPrivs:
      return "setting no_new_privs";
    case kStepBounding:
      return "dropping from the bounding set";
    case kStepAmbient:
      return "lowering ambient capabilities";
    case kStepCapset:
      return "capset";
    default:
      return "dropping capabilities";
  }
}

int Prctl(int option, unsigned long a, unsigned long b = 0, unsigned long c = 0) {
  return prctl(option, a, b, c, 0UL);
}

// Returns 0 or an errno value, with *step saying what failed.
int DropThisThread(int* step) {
  const uint64_t keep = g_request.keep.load();
  const int last = g_request.last_cap.load();
  auto kept = [keep](int cap) { return ((keep >> cap) & 1) != 0; };
  if (Prctl(PR_SET_NO_NEW_PRIVS, 1) != 0) {
    *step = kStepNoNewPrivs;
    return errno;
  }
  // The bounding set first: dropping from it needs CAP_SETPCAP, which the
  // capset below may take away.
  if (g_request.drop_bounding.load()) {
    for (int cap = 0; cap <= last; ++cap) {
      if (kept(cap)) continue;
      const auto c = static_cast<unsigned long>(cap);
      if (Prctl(PR_CAPBSET_READ, c) == 1 && Prctl(PR_CAPBSET_DROP, c) != 0) {
        *step = kStepBounding;
        return errno;
      }
    }
  }
  for (int cap = 0; cap <= last; ++cap) {
    if (kept(cap)) continue;
    const auto c = static_cast<unsigned long>(cap);
    // EINVAL: a kernel without ambient capabilities (< 4.3) has none to lower.
    if (Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c) == 1 &&
        Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, c) != 0) {
      *step = kStepAmbient;
      return errno;
    }
  }
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    *step = kStepCapset;
    return errno;
  }
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    const auto keep32 = static_cast<uint32_t>(keep >> (32 * i));
    data[i].permitted &= keep32;
    data[i].effective = data[i].permitted;
    data[i].inheritable &= keep32;
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    *step = kStepCapset;
    return errno;
  }
  return 0;
}

void OnDropSignal(int /*signal*/) {
  const int saved_errno = errno;
  int step = 0;
  const int err = DropThisThread(&step);
  const pid_t tid = ThreadId();
  if (err != 0) {
    pid_t none = 0;
    if (g_request.failed_tid.compare_exchange_strong(none, tid)) {
      g_request.failed_errno.store(err);
      g_request.failed_step.store(step);
    }
  }
  const int i = g_request.acked.fetch_add(1);
  if (i < kMaxThreads) g_request.acked_tids[static_cast<size_t>(i)].store(tid);
  g_request.finished.fetch_add(1);
  syscall(SYS_futex, FinishedWord(), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  errno = saved_errno;
}

// glibc keeps the first real-time signals for itself (SIGRTMIN is what it
// leaves); nothing else in rustnetd uses this one.
int DropSignal() { return SIGRTMIN + 6; }

std::vector<pid_t> TaskIds() {
  std::vector<pid_t> tids;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return tids;
  while (dirent* e = readdir(dir)) {
    int tid = 0;
    if (absl::SimpleAtoi(e->d_name, &tid)) tids.push_back(tid);
  }
  closedir(dir);
  return tids;
}

std::string ThreadName(pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/self/task/", tid, "/comm"));
  std::string name;
  std::getline(in, name);
  return name;
}

bool ThreadExists(pid_t tid) {
  return access(absl::StrCat("/proc/self/task/", tid).c_str(), F_OK) == 0;
}

bool Acked(pid_t tid) {
  const int n = std::min(g_request.acked.load(), kMaxThreads);
  for (int i = 0; i < n; ++i) {
    if (g_request.acked_tids[static_cast<size_t>(i)].load() == tid) return true;
  }
  return false;
}

absl::Status DropError(pid_t tid, int step, int err) {
  return absl::PermissionDeniedError(absl::StrCat(
      "cannot drop capabilities in thread ", tid, " (", ThreadName(tid), "): ", StepName(step),
      ": ", std::strerror(err),
      "; a seccomp filter may forbid capset or prctl (the rustnetd.service unit allows them)"));
}

}  // namespace

std::string CapabilitySet::ToString() const {
  if (bits_ == 0) return "none";
  std::vector<std::string> names;
  for (int cap = 0; cap < 64; ++cap) {
    if (!Has(cap)) continue;
    names.push_back(static_cast<size_t>(cap) < kNames.size()
                        ? std::string(kNames[static_cast<size_t>(cap)])
                        : absl::StrCat("cap_", cap));
  }
  return absl::StrJoin(names, ",");
}

std::optional<int> CapabilityFromName(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(absl::string_view(name.data(), name.size())));
  if (!absl::StartsWith(lower, "cap_")) lower = absl::StrCat("cap_", lower);
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == lower) return static_cast<int>(i);
  }
  return std::nullopt;
}

CapabilitySet RuntimeCapabilities(bool live_capture) {
  if (!live_capture) return CapabilitySet();
  return CapabilitySet::Of({CAP_DAC_READ_SEARCH, CAP_NET_RAW, CAP_SYS_PTRACE});
}

absl::StatusOr<ThreadCapabilities> CurrentCapabilities() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return absl::InternalError(absl::StrCat("capget: ", std::strerror(errno)));
  }
  auto join = [](uint32_t low, uint32_t high) {
    return CapabilitySet((uint64_t{high} << 32) | low);
  };
  ThreadCapabilities t;
  t.effective = join(data[0].effective, data[1].effective);
  t.permitted = join(data[0].permitted, data[1].permitted);
  t.inheritable = join(data[0].inheritable, data[1].inheritable);
  uint64_t bounding = 0;
  uint64_t ambient = 0;
  const int last = LastCap();
  for (int cap = 0; cap <= last; ++cap) {
    const auto c = static_cast<unsigned long>(cap);
    if (Prctl(PR_CAPBSET_READ, c) == 1) bounding |= uint64_t{1} << cap;
    if (Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c) == 1) ambient |= uint64_t{1} << cap;
  }
  t.bounding = CapabilitySet(bounding);
  t.ambient = CapabilitySet(ambient);
  return t;
}

absl::StatusOr<ThreadCapabilities> ParseProcStatusCapabilities(std::string_view status_in) {
  const absl::string_view status(status_in.data(), status_in.size());
  ThreadCapabilities t;
  int found = 0;
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key = line.substr(0, colon);
    CapabilitySet* set = nullptr;
    if (key == "CapInh") set = &t.inheritable;
    if (key == "CapPrm") set = &t.permitted;
    if (key == "CapEff") set = &t.effective;
    if (key == "CapBnd") set = &t.bounding;
    if (key == "CapAmb") set = &t.ambient;
    if (set == nullptr) continue;
    uint64_t bits = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line.substr(colon + 1)), &bits)) {
      return absl::InvalidArgumentError(absl::StrCat("bad ", key, " line in /proc status"));
    }
    *set = CapabilitySet(bits);
    ++found;
  }
  // CapAmb exists since Linux 4.3; the other four always.
  if (found < 4) return absl::InvalidArgumentError("no Cap* lines in /proc status");
  return t;
}

absl::StatusOr<std::vector<std::pair<pid_t, ThreadCapabilities>>> AllThreadCapabilities() {
  std::vector<std::pair<pid_t, ThreadCapabilities>> all;
  for (pid_t tid : TaskIds()) {
    std::ifstream in(absl::StrCat("/proc/self/task/", tid, "/status"));
    if (!in) continue;  // The thread ended meanwhile.
    std::stringstream s;
    s << in.rdbuf();
    auto caps = ParseProcStatusCapabilities(s.str());
    if (!caps.ok()) return caps.status();
    all.emplace_back(tid, *caps);
  }
  if (all.empty()) return absl::InternalError("cannot read /proc/self/task; is /proc mounted?");
  return all;
}

absl::Status DropCapabilities(CapabilitySet keep) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer builds (scripts/test.sh's TSan suite) keep their
  // capabilities: TSan delivers an asynchronous signal to a thread only
  // when it next passes through TSan's runtime, and threads waiting in
  // gRPC's and Abseil's futex waits (or TSan's own thread, which blocks
  // every signal) never do, so the broadcast below cannot complete. The
  // release and ASan suites test dropping.
  (void)keep;
  return absl::OkStatus();
#endif
  auto self_caps = CurrentCapabilities();
  if (!self_caps.ok()) return self_caps.status();
  // Without CAP_SETPCAP the bounding set cannot shrink; then it is what the
  // service manager left (CapabilityBoundingSet=), and only the other sets
  // are checked.
  const bool drop_bounding = self_caps->effective.Has(CAP_SETPCAP);
  auto holds_more = [&](const ThreadCapabilities& t) {
    return !t.effective.SubsetOf(keep) || !t.permitted.SubsetOf(keep) ||
           !t.inheritable.SubsetOf(keep) || !t.ambient.SubsetOf(keep) ||
           (drop_bounding && !t.bounding.SubsetOf(keep));
  };
  auto before = AllThreadCapabilities();
  if (!before.ok()) return before.status();
  bool any = false;
  for (const auto& [tid, caps] : *before) any = any || holds_more(caps);
  if (!any) return absl::OkStatus();  // E.g. an unprivileged user replaying a file.

  g_request.keep.store(keep.bits());
  g_request.drop_bounding.store(drop_bounding);
  g_request.last_cap.store(LastCap());
  g_request.acked.store(0);
  g_request.finished.store(0);
  g_request.failed_tid.store(0);
  g_request.failed_errno.store(0);
  g_request.failed_step.store(0);

  // The handler stays installed afterwards: a late signal must not take
  // the default action (termination).
  struct sigaction action {};
  action.sa_handler = OnDropSignal;
  sigfillset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(DropSignal(), &action, nullptr) != 0) {
    return absl::InternalError(absl::StrCat("sigaction: ", std::strerror(errno)));
  }

  // Signal every other thread, then any they started meanwhile, until a
  // listing shows no new thread. A thread started by one that has already
  // dropped inherits the reduced sets.
  const pid_t pid = getpid();
  const pid_t self = ThreadId();
  std::set<pid_t> signaled = {self};
  int sent = 0;
  for (int round = 0; round < 64; ++round) {
    bool new_threads = false;
    for (pid_t tid : TaskIds()) {
      if (signaled.contains(tid)) continue;
      new_threads = true;
      signaled.insert(tid);
      if (syscall(SYS_tgkill, pid, tid, DropSignal()) == 0) {
        ++sent;
      } else if (errno != ESRCH) {  // ESRCH: it ended.
        return absl::InternalError(absl::StrCat("tgkill: ", std::strerror(errno)));
      }
    }
    if (!new_threads) break;
    // Sleeps until the handlers have all run (each wakes the futex), at
    // most 2 s.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (int seen; (seen = g_request.finished.load()) < sent;) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds(0)) break;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      // EAGAIN (a handler finished meanwhile), EINTR, ETIMEDOUT: look again.
      syscall(SYS_futex, FinishedWord(), FUTEX_WAIT_PRIVATE, seen, &timeout, nullptr, 0);
    }
    if (g_request.finished.load() < sent) {
      for (pid_t tid : signaled) {
        if (tid == self || Acked(tid) || !ThreadExists(tid)) continue;
        return absl::InternalError(absl::StrCat(
            "thread ", tid, " (", ThreadName(tid),
            ") did not drop its capabilities within 2 s; it may block signal ", DropSignal()));
      }
    }
  }
  if (const pid_t failed = g_request.failed_tid.load(); failed != 0) {
    return DropError(failed, g_request.failed_step.load(), g_request.failed_errno.load());
  }
  int step = 0;
  if (const int err = DropThisThread(&step); err != 0) return DropError(self, step, err);

  auto after = AllThreadCapabilities();
  if (!after.ok()) return after.status();
  for (const auto& [tid, caps] : *after) {
    if (holds_more(caps)) {
      return absl::InternalError(
          absl::StrCat("thread ", tid, " (", ThreadName(tid), ") still holds ",
                       (caps.permitted | caps.effective | caps.ambient).ToString(),
                       " after dropping to ", keep.ToString()));
    }
  }
  return absl::OkStatus();
}

}  // namespace rustnet
