// /proc parsers on canned text, ProcessTable on canned proc trees (fd links
// are symlinks whose target reads "socket:[N]", as in /proc), and cgroup
// paths of systemd, docker, podman, containerd and CRI-O.
#include "daemon/process/process_table.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

// Names are built with absl::StrCat, not "p" + std::to_string(...): GCC 12
// at -O3 reports a false -Wrestrict inside libstdc++ for a literal
// prepended to a temporary string.
#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"

namespace rustnet {
namespace {

namespace fs = std::filesystem;

TEST_CASE("ParseProcStat: comm with spaces and parentheses; start time", "[process][proc]") {
  auto s = ParseProcStat(
      "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 "
      "1000 10 18446744073709551615\n");
  REQUIRE(s);
  CHECK(s->comm == "my (odd) prog");
  CHECK(s->start_ticks == 987654);
  CHECK_FALSE(ParseProcStat("4242 (truncated S 1"));
  CHECK_FALSE(ParseProcStat("4242 (x) S 1 2 3"));                  // no field 22
  CHECK_FALSE(ParseProcStat("4242 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 abc 1"));
  CHECK_FALSE(ParseProcStat(""));
}

TEST_CASE("ParseStatusEffectiveUid", "[process][proc]") {
  CHECK(ParseStatusEffectiveUid("Name:\tnginx\nUmask:\t0022\nUid:\t0\t33\t33\t33\nGid:\t0\n") ==
        33u);
  CHECK(ParseStatusEffectiveUid("Uid:   1000  1000 1000 1000\n") == 1000u);
  CHECK_FALSE(ParseStatusEffectiveUid("Name:\tx\n"));
  CHECK_FALSE(ParseStatusEffectiveUid("Uid:\t0\n"));
  CHECK_FALSE(ParseStatusEffectiveUid("Uid:\t0\t-1\n"));
}

TEST_CASE("ParseCmdline: NUL-separated, bounded", "[process][proc]") {
  using V = std::vector<std::string>;
  CHECK(ParseCmdline(std::string("/usr/bin/python3\0-m\0http.server\0", 32)) ==
        V{"/usr/bin/python3", "-m", "http.server"});
  CHECK(ParseCmdline(std::string("a\0\0b", 4)) == V{"a", "", "b"});
  CHECK(ParseCmdline("").empty());
  std::string many;
  for (int i = 0; i < 500; ++i) many += std::string("x") + '\0';
  CHECK(ParseCmdline(many).size() == 64);
  CHECK(ParseCmdline(std::string(10000, 'y'))[0].size() == 4096);
}

TEST_CASE("SocketInodeFromLink", "[process][proc]") {
  CHECK(SocketInodeFromLink("socket:[12345]") == 12345u);
  CHECK_FALSE(SocketInodeFromLink("socket:[]"));
  CHECK_FALSE(SocketInodeFromLink("socket:[12a]"));
  CHECK_FALSE(SocketInodeFromLink("pipe:[12345]"));
  CHECK_FALSE(SocketInodeFromLink("/dev/null"));
  CHECK_FALSE(SocketInodeFromLink("socket:[99999999999999999999999]"));
}

TEST_CASE("ParseCgroup: systemd units", "[process][cgroup]") {
  auto a = ParseCgroup("0::/system.slice/nginx.service\n");
  CHECK(a.path == "/system.slice/nginx.service");
  CHECK(a.unit == "nginx.service");
  CHECK(a.user_unit.empty());
  CHECK(a.container_id.empty());
  auto b = ParseCgroup(
      "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
      "app-org.gnome.Terminal.slice/vte-spawn-1234.scope\n");
  CHECK(b.unit == "user@1000.service");
  CHECK(b.user_unit == "vte-spawn-1234.scope");
  CHECK(ParseCgroup("0::/user.slice/user-1000.slice/session-3.scope\n").unit == "session-3.scope");
  CHECK(ParseCgroup("0::/\n").unit.empty());
  CHECK(ParseCgroup("0::/init.scope\n").unit == "init.scope");
  // cgroup v1: the name=systemd hierarchy wins over controllers.
  auto v1 = ParseCgroup("4:memory:/foo\n1:name=systemd:/system.slice/sshd.service\n");
  CHECK(v1.unit == "sshd.service");
  CHECK(v1.path == "/system.slice/sshd.service");
}

TEST_CASE("ParseCgroup: containers", "[process][cgroup]") {
  const std::string id(64, 'a');
  const std::string id2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  SECTION("docker_systemd_driver") {
    auto c = ParseCgroup("0::/system.slice/docker-" + id2 + ".scope\n");
    CHECK(c.container_runtime == "docker");
    CHECK(c.container_id == id2);
    CHECK(c.unit == "docker-" + id2 + ".scope");
  }
  SECTION("docker_cgroupfs_driver") {
    auto c = ParseCgroup("0::/docker/" + id2 + "\n");
    CHECK(c.container_runtime == "docker");
    CHECK(c.container_id == id2);
  }
  SECTION("podman_rootful") {
    auto c = ParseCgroup("0::/machine.slice/libpod-" + id + ".scope/container\n");
    CHECK(c.container_runtime == "podman");
    CHECK(c.container_id == id);
  }
  SECTION("podman_rootless") {
    auto c = ParseCgroup("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" +
                         id + ".scope\n");
    CHECK(c.container_runtime == "podman");
    CHECK(c.unit == "user@1000.service");
    CHECK(c.user_unit == "libpod-" + id + ".scope");
  }
  SECTION("podman_conmon_is_not_the_container") {
    auto c = ParseCgroup("0::/machine.slice/libpod-conmon-" + id + ".scope\n");
    CHECK(c.container_id.empty());
  }
  SECTION("containerd_kubernetes_systemd") {
    auto c = ParseCgroup(
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
        "cri-containerd-" +
        id2 + ".scope\n");
    CHECK(c.container_runtime == "containerd");
    CHECK(c.container_id == id2);
  }
  SECTION("kubernetes_cgroupfs") {
    auto c = ParseCgroup("0::/kubepods/burstable/pod1234-5678/" + id2 + "\n");
    CHECK(c.container_runtime == "kubernetes");
    CHECK(c.container_id == id2);
  }
  SECTION("crio") {
    auto c = ParseCgroup("0::/kubepods.slice/kubepods-pod1.slice/crio-" + id2 + ".scope\n");
    CHECK(c.container_runtime == "cri-o");
    CHECK(c.container_id == id2);
  }
  SECTION("short_or_non_hex_ids_are_not_containers") {
    CHECK(ParseCgroup("0::/system.slice/docker-abc.scope\n").container_id.empty());
    CHECK(ParseCgroup("0::/docker/" + std::string(64, 'z') + "\n").container_id.empty());
  }
  SECTION("hostile_input") {
    CHECK(ParseCgroup("").path.empty());
    CHECK(ParseCgroup(":::::\n\n::").unit.empty());
    CHECK(ParseCgroup("0::" + std::string(100000, '/') + "\n").unit.empty());
  }
}

TEST_CASE("FullProcessName: comm unless truncated", "[process][proc]") {
  using V = std::vector<std::string>;
  CHECK(FullProcessName("nginx", "/usr/sbin/nginx", V{"nginx: worker process"}) == "nginx");
  CHECK(FullProcessName("rn-long-named-h", "/tmp/rn-long-named-http-server",
                        V{"./rn-long-named-http-server"}) == "rn-long-named-http-server");
  CHECK(FullProcessName("rn-long-named-h", "/tmp/x/rn-long-named-http-server (deleted)", V{}) ==
        "rn-long-named-http-server");
  // No executable (no permission): argv[0], or the script an interpreter runs.
  CHECK(FullProcessName("gnome-terminal-", "", V{"/usr/libexec/gnome-terminal-server"}) ==
        "gnome-terminal-server");
  CHECK(FullProcessName("networkd-dispat", "/usr/bin/python3.11",
                        V{"/usr/bin/python3", "/usr/bin/networkd-dispatcher"}) ==
        "networkd-dispatcher");
  // Nothing longer starts with it: keep comm.
  CHECK(FullProcessName("abcdefghijklmno", "/bin/other", V{"other"}) == "abcdefghijklmno");
}

// A fake /proc: processes with fds that are socket links.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/rn-fakeproc-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    Write("stat", "cpu 1 2 3\nbtime 1700000000\n");
  }
  ~FakeProc() { fs::remove_all(root_); }
  const std::string& root() const { return root_; }

  void AddProcess(int pid, const std::string& comm, const std::string& exe,
                  const std::string& cmdline, const std::string& cgroup, uint32_t uid,
                  uint64_t start = 500) {
    const std::string d = std::to_string(pid);
    fs::create_directories(root_ + "/" + d + "/fd");
    Write(d + "/stat", d + " (" + comm + ") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " +
                           std::to_string(start) + " 100 10\n");
    Write(d + "/comm", comm + "\n");
    Write(d + "/cmdline", cmdline);
    Write(d + "/cgroup", cgroup);
    Write(d + "/status", "Name:\t" + comm + "\nUid:\t" + std::to_string(uid) + "\t" +
                             std::to_string(uid) + "\t0\t0\n");
    if (!exe.empty()) fs::create_symlink(exe, root_ + "/" + d + "/exe");
  }
  void AddSocket(int pid, int fd, uint64_t inode) {
    fs::create_symlink("socket:[" + std::to_string(inode) + "]",
                       root_ + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd));
  }
  void AddFile(int pid, int fd, const std::string& target) {
    fs::create_symlink(target, root_ + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd));
  }
  void RemoveFd(int pid, int fd) {
    fs::remove(root_ + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd));
  }
  void RemoveProcess(int pid) { fs::remove_all(root_ + "/" + std::to_string(pid)); }

 private:
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ + "/" + rel) << text;
  }
  std::string root_;
};

using Found = absl::flat_hash_map<uint64_t, std::shared_ptr<const ProcessRecord>>;

TEST_CASE("ProcessTable: inode to process on a canned tree", "[process][proc]") {
  FakeProc proc;
  proc.AddProcess(100, "rn-long-named-h", "/opt/bin/rn-long-named-http-server",
                  std::string("/opt/bin/rn-long-named-http-server\0--port\08080\0", 47),
                  "0::/system.slice/web.service\n", 33);
  proc.AddSocket(100, 3, 5001);
  proc.AddSocket(100, 4, 5002);
  proc.AddFile(100, 5, "/dev/null");
  proc.AddProcess(200, "curl", "/usr/bin/curl", std::string("curl\0http://x/\0", 15),
                  "0::/user.slice/user-1000.slice/session-2.scope\n", 1000);
  proc.AddSocket(200, 3, 6001);

  ProcessTable table(proc.root());
  Found found;
  table.Resolve({{5001, 33}, {6001, 1000}, {9999, 0}}, &found, 1'000'000);
  REQUIRE(found.size() == 2);
  const ProcessRecord& server = *found[5001];
  CHECK(server.pid == 100);
  CHECK(server.name == "rn-long-named-http-server");
  CHECK(server.executable == "/opt/bin/rn-long-named-http-server");
  CHECK(server.command_line ==
        std::vector<std::string>{"/opt/bin/rn-long-named-http-server", "--port", "8080"});
  CHECK(server.uid == 33);
  CHECK(server.unit == "web.service");
  CHECK(server.started_us == 1700000000LL * 1'000'000 + 500LL * 1'000'000 / sysconf(_SC_CLK_TCK));
  CHECK(found[6001]->name == "curl");
  CHECK(found[6001]->unit == "session-2.scope");
  CHECK(found.count(9999) == 0);
  CHECK(table.processes_known() == 2);
  // Both processes were new: both fd directories read once.
  CHECK(table.stats().processes_scanned == 2);

  SECTION("a known inode costs one readlink, no directory scan") {
    const auto before = table.stats();
    Found again;
    table.Resolve({{5002, 33}}, &again, 1'500'000);
    REQUIRE(again.count(5002) == 1);
    CHECK(again[5002] == found[5001]);  // One record per process.
    CHECK(table.stats().processes_scanned == before.processes_scanned);
    CHECK(table.stats().fd_links_read == before.fd_links_read + 1);
  }
  SECTION("a new socket in an old process is found by rescanning it") {
    proc.AddSocket(200, 4, 6002);
    Found again;
    table.Resolve({{6002, 1000}}, &again, 5'000'000);
    REQUIRE(again.count(6002) == 1);
    CHECK(again[6002]->pid == 200);
  }
  SECTION("a closed socket whose inode moved is looked up again") {
    proc.RemoveFd(200, 3);
    proc.AddSocket(100, 9, 6001);  // Passed to the server.
    Found again;
    table.Resolve({{6001, 1000}}, &again, 5'000'000);
    REQUIRE(again.count(6001) == 1);
    CHECK(again[6001]->pid == 100);
  }
  SECTION("an exited process's record is marked, and the pid forgotten") {
    auto record = found[6001];
    proc.RemoveProcess(200);
    table.Prune();
    CHECK(record->exited.load());
    CHECK_FALSE(found[5001]->exited.load());
    CHECK(table.processes_known() == 1);
    Found again;
    table.Resolve({{6001, 1000}}, &again, 9'000'000);
    CHECK(again.empty());
  }
  SECTION("a reused pid gets a new record; the old one is marked exited") {
    auto old = found[6001];
    proc.RemoveProcess(200);
    proc.AddProcess(200, "wget", "/usr/bin/wget", "wget", "0::/\n", 1000, /*start=*/900);
    proc.AddSocket(200, 3, 7001);
    Found again;
    table.Resolve({{7001, 1000}}, &again, 9'000'000);
    REQUIRE(again.count(7001) == 1);
    CHECK(again[7001]->name == "wget");
    CHECK(again[7001] != old);
    CHECK(old->exited.load());
  }
}

TEST_CASE("ProcessTable: unknown inodes trigger a full scan at most once a second",
          "[process][proc]") {
  FakeProc proc;
  for (int pid = 10; pid < 20; ++pid) {
    proc.AddProcess(pid, absl::StrCat("p", pid), "", "", "0::/\n", 0);
    proc.AddSocket(pid, 3, static_cast<uint64_t>(pid) * 100);
  }
  ProcessTable table(proc.root());
  Found found;
  // First look: every process is new; the scan stops at the owner.
  table.Resolve({{1000, 0}}, &found, 0);
  CHECK(table.stats().processes_scanned <= 10);
  CHECK(found.count(1000) == 1);
  // Nobody holds 4242: the nine processes never read are read (new), then
  // everyone (a full scan), at most once a second.
  const auto full = table.stats().full_scans;
  table.Resolve({{4242, 12345}}, &found, 100'000);
  table.Resolve({{4242, 12345}}, &found, 200'000);
  CHECK(table.stats().full_scans == full + 1);
  table.Resolve({{4242, 12345}}, &found, 2'000'000);
  CHECK(table.stats().full_scans == full + 2);
  CHECK(found.count(4242) == 0);
  CHECK(table.processes_known() == 10);
}

TEST_CASE("ProcessTable: a socket closed before its owner was read costs one scan a second",
          "[process][proc]") {
  // A client that lives a millisecond: its socket was seen, but by the time
  // /proc is read no process holds the inode. Its user's unchanged
  // processes are read again at most once a second, not per request.
  // (A process's user is its /proc directory's owner: here, whoever runs
  // the test.)
  const uint32_t user = geteuid();
  FakeProc proc;
  for (int pid = 10; pid < 15; ++pid) {
    proc.AddProcess(pid, absl::StrCat("w", pid), "", "", "0::/\n", 1000);
    proc.AddSocket(pid, 3, static_cast<uint64_t>(pid) * 100);
  }
  ProcessTable table(proc.root());
  Found found;
  table.Resolve({{1000, user}, {1400, user}}, &found, 0);  // All five read: new.
  REQUIRE(found.size() == 2);
  const uint64_t warm = table.stats().processes_scanned;
  table.Resolve({{4242, user}}, &found, 5'000'000);
  CHECK(table.stats().processes_scanned == warm + 5);  // The user's processes, once.
  for (int64_t t = 5'100'000; t < 6'000'000; t += 100'000) {
    table.Resolve({{4242 + static_cast<uint64_t>(t), user}}, &found, t);
  }
  CHECK(table.stats().processes_scanned == warm + 5);  // Nothing more within the second.
  table.Resolve({{4242, user}}, &found, 6'100'000);
  CHECK(table.stats().processes_scanned == warm + 10);
}

TEST_CASE("ProcessTable: user names and user-only records", "[process][proc]") {
  ProcessTable table("/nonexistent-proc");
  CHECK(table.UserName(0) == "root");
  CHECK(table.UserName(4000000000U) == "4000000000");
  auto a = table.UserOnly(0);
  CHECK(a->pid == 0);
  CHECK(a->user == "root");
  CHECK(table.UserOnly(0) == a);
  Found found;
  table.Resolve({{1, 0}}, &found, 0);  // An unreadable root finds nothing, quietly.
  CHECK(found.empty());
}

TEST_CASE("ProcessTable: this process, from the real /proc", "[process][proc][live]") {
  ProcessTable table;
  const std::string self = std::to_string(getpid());
  // Any socket will do: make one and look for its inode.
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  struct stat st;
  REQUIRE(fstat(fd, &st) == 0);
  Found found;
  table.Resolve({{st.st_ino, geteuid()}}, &found, 0);
  REQUIRE(found.count(st.st_ino) == 1);
  const ProcessRecord& me = *found[st.st_ino];
  CHECK(me.pid == static_cast<uint32_t>(getpid()));
  CHECK(me.uid == geteuid());
  CHECK(me.executable == fs::read_symlink("/proc/self/exe").string());
  CHECK(me.name == "rn_unit_tests");
  CHECK(me.started_us > 0);
  close(fd);
}

}  // namespace
}  // namespace rustnet
