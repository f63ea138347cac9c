#include "daemon/service/capabilities.h"

#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace rustnet {
namespace {

TEST_CASE("capabilities set names") {
  CHECK(CapabilitySet().ToString() == "none");
  CHECK(CapabilitySet::Of({CAP_SYS_PTRACE, CAP_NET_RAW}).ToString() ==
        "cap_net_raw,cap_sys_ptrace");
  CHECK(CapabilitySet::Of({63}).ToString() == "cap_63");
  CHECK(CapabilityFromName("cap_net_raw") == CAP_NET_RAW);
  CHECK(CapabilityFromName("CAP_SYS_PTRACE") == CAP_SYS_PTRACE);
  CHECK(CapabilityFromName("dac_read_search") == CAP_DAC_READ_SEARCH);
  CHECK_FALSE(CapabilityFromName("cap_bogus").has_value());
  CHECK(CapabilitySet::Of({1, 2}).SubsetOf(CapabilitySet::Of({1, 2, 3})));
  CHECK_FALSE(CapabilitySet::Of({1, 4}).SubsetOf(CapabilitySet::Of({1, 2, 3})));
}

TEST_CASE("capabilities what the running daemon keeps") {
  CHECK(RuntimeCapabilities(false).empty());
  // CAP_NET_RAW stays: a live capture reopens its interface after it went
  // down or was removed.
  CHECK(RuntimeCapabilities(true) ==
        CapabilitySet::Of({CAP_DAC_READ_SEARCH, CAP_NET_RAW, CAP_SYS_PTRACE}));
  CHECK_FALSE(RuntimeCapabilities(true).Has(CAP_NET_ADMIN));
}

TEST_CASE("capabilities /proc status lines") {
  auto caps = ParseProcStatusCapabilities(
      "Name:\trustnetd\nCapInh:\t0000000000000000\nCapPrm:\t0000000000082004\n"
      "CapEff:\t0000000000082004\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000002000\n"
      "NoNewPrivs:\t1\n");
  REQUIRE(caps.ok());
  CHECK(caps->permitted == CapabilitySet::Of({CAP_DAC_READ_SEARCH, CAP_NET_RAW, CAP_SYS_PTRACE}));
  CHECK(caps->effective == caps->permitted);
  CHECK(caps->inheritable.empty());
  CHECK(caps->ambient == CapabilitySet::Of({CAP_NET_RAW}));
  CHECK(caps->bounding.Has(40));
  CHECK_FALSE(ParseProcStatusCapabilities("Name:\tx\n").ok());
  CHECK_FALSE(
      ParseProcStatusCapabilities("CapInh:\tzz\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\n").ok());
}

TEST_CASE("capabilities every thread of this process is listed") {
  auto all = AllThreadCapabilities();
  REQUIRE(all.ok());
  CHECK_FALSE(all->empty());
  auto mine = CurrentCapabilities();
  REQUIRE(mine.ok());
}

// Runs `body` in a forked child (dropping capabilities cannot be undone,
// and the test binary must keep its own); returns the child's exit status
// and what it wrote to stderr.
std::pair<int, std::string> InChild(int (*body)()) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDERR_FILENO);
    close(out[0]);
    _exit(body());
  }
  close(out[1]);
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

bool Privileged() {
  auto caps = CurrentCapabilities();
  return caps.ok() && caps->effective.Has(CAP_SETPCAP) && caps->effective.Has(CAP_NET_RAW);
}

// Threads parked until the end, one of them started after the drop.
int DropInEveryThread() {
  const CapabilitySet keep = CapabilitySet::Of({CAP_NET_RAW});
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&done] {
      while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  absl::Status s = DropCapabilities(keep);
  if (!s.ok()) {
    std::fprintf(stderr, "drop: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  threads.emplace_back([&done] {
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  auto all = AllThreadCapabilities();
  done.store(true);
  for (auto& t : threads) t.join();
  if (!all.ok() || all->size() < 6) {
    std::fprintf(stderr, "threads: %zu\n", all.ok() ? all->size() : 0);
    return 2;
  }
  for (const auto& [tid, caps] : *all) {
    if (caps.effective != keep || caps.permitted != keep || caps.bounding != keep ||
        !caps.ambient.SubsetOf(keep) || !caps.inheritable.SubsetOf(keep)) {
      std::fprintf(stderr, "thread %d: eff %s bnd %s\n", tid, caps.effective.ToString().c_str(),
                   caps.bounding.ToString().c_str());
      return 3;
    }
  }
  // Dropping again to less works; to the same set is a no-op.
  if (!DropCapabilities(keep).ok() || !DropCapabilities(CapabilitySet()).ok()) return 4;
  auto me = CurrentCapabilities();
  if (!me.ok() || !me->permitted.empty()) return 5;
  return 0;
}

TEST_CASE("capabilities dropping reaches every thread") {
  if (!Privileged()) {
    WARN("not root: only the unprivileged no-op is checked");
    CHECK(DropCapabilities(CapabilitySet()).ok());
    return;
  }
  const auto [status, err] = InChild(DropInEveryThread);
  INFO(err);
  CHECK(status == 0);
}

int ThreadThatBlocksSignals() {
  std::atomic<bool> ready{false};
  std::atomic<bool> done{false};
  std::thread t([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    ready.store(true);
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!ready.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  absl::Status s = DropCapabilities(CapabilitySet());
  done.store(true);
  t.join();
  std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
  return s.ok() ? 1 : 0;
}

TEST_CASE("capabilities a thread that cannot be reached is an error, not a silent pass") {
  if (!Privileged()) return;
  const auto [status, err] = InChild(ThreadThatBlocksSignals);
  INFO(err);
  CHECK(status == 0);
  CHECK(err.find("did not drop its capabilities") != std::string::npos);
}

}  // namespace
}  // namespace rustnet
