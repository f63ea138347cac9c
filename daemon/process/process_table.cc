#include "daemon/process/process_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/monotonic_clock.h"

namespace rustnet {
namespace {

constexpr size_t kMaxArgs = 64;
constexpr size_t kMaxCmdlineBytes = 4096;
constexpr size_t kCommMax = 15;  // TASK_COMM_LEN - 1
// A scan of every process runs at most this often (misses are retried by
// the connection's refreshes).
constexpr int64_t kFullScanIntervalUs = 1'000'000;

// absl's split and number helpers take absl::string_view, which Debian's
// Abseil does not alias to std::string_view; these are enough here.
std::vector<std::string_view> Split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    const std::string_view part =
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!skip_empty || !part.empty()) out.push_back(part);
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Reads a small file whole (at most `limit` bytes); nullopt if unreadable.
std::optional<std::string> ReadSmallFile(const std::string& path, size_t limit = 64 * 1024) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < limit) {
    const ssize_t n = read(fd, buf, std::min(sizeof(buf), limit - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::optional<std::string> ReadLink(const std::string& path) {
  char buf[4096];
  const ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsHexId(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) != 0; });
}

// "docker-<id>.scope" with prefix "docker-": the id, if it is one.
std::optional<std::string_view> ScopeId(std::string_view component, std::string_view prefix) {
  if (!component.starts_with(prefix) || !component.ends_with(".scope")) return std::nullopt;
  std::string_view id = component.substr(prefix.size(), component.size() - prefix.size() - 6);
  if (!IsHexId(id)) return std::nullopt;
  return id;
}

bool IsUnit(std::string_view c) {
  return c.ends_with(".service") || c.ends_with(".scope");
}

int64_t ReadBootTimeUs(const std::string& proc_root) {
  auto stat = ReadSmallFile(proc_root + "/stat", 1 << 20);
  if (!stat) return 0;
  for (std::string_view line : Split(*stat, '\n', true)) {
    if (!line.starts_with("btime ")) continue;
    int64_t secs = 0;
    if (ParseInt(line.substr(6), &secs)) return secs * 1'000'000;
  }
  return 0;
}

// "net:[4026531840]" -> 4026531840; 0 if unreadable.
uint32_t NetnsInode(const std::string& link_path) {
  char buf[64];
  const ssize_t n = readlink(link_path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  std::string_view link(buf, static_cast<size_t>(n));
  if (!link.starts_with("net:[") || !link.ends_with("]")) return 0;
  link = link.substr(5, link.size() - 6);
  uint32_t inode = 0;
  auto [p, ec] = std::from_chars(link.data(), link.data() + link.size(), inode);
  return ec == std::errc() && p == link.data() + link.size() ? inode : 0;
}

constexpr size_t kLineage = 4;
constexpr size_t kMaxGone = 4096;

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcStat s;
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  // After ") ": field 3 (state) onwards; starttime is field 22.
  std::string_view rest = text.substr(close + 1);
  int field = 2;
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    const size_t start = i;
    while (i < rest.size() && rest[i] != ' ' && rest[i] != '\n') ++i;
    if (i == start) break;
    if (++field == 4) {
      const std::string_view v = rest.substr(start, i - start);
      std::from_chars(v.data(), v.data() + v.size(), s.ppid);
    }
    if (field == 22) {
      const std::string_view v = rest.substr(start, i - start);
      uint64_t ticks = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ticks);
      if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
      s.start_ticks = ticks;
      return s;
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> ParseStatusEffectiveUid(std::string_view text) {
  for (std::string_view line : Split(text, '\n', true)) {
    if (!line.starts_with("Uid:")) continue;
    std::string tabs(line.substr(4));
    std::replace(tabs.begin(), tabs.end(), ' ', '\t');
    std::vector<std::string_view> f = Split(tabs, '\t', true);
    uint32_t uid = 0;
    if (f.size() >= 2 && ParseInt(f[1], &uid)) return uid;
    return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::string> ParseCmdline(std::string_view bytes) {
  std::vector<std::string> args;
  if (bytes.size() > kMaxCmdlineBytes) bytes = bytes.substr(0, kMaxCmdlineBytes);
  if (!bytes.empty() && bytes.back() == '\0') bytes.remove_suffix(1);
  if (bytes.empty()) return args;
  for (std::string_view a : Split(bytes, '\0', false)) {
    if (args.size() == kMaxArgs) break;
    args.emplace_back(a);
  }
  return args;
}

std::optional<uint64_t> SocketInodeFromLink(std::string_view link) {
  if (!link.starts_with("socket:[") || !link.ends_with("]")) return std::nullopt;
  const std::string_view digits = link.substr(8, link.size() - 9);
  uint64_t inode = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return inode;
}

CgroupInfo ParseCgroup(std::string_view text) {
  CgroupInfo info;
  std::string_view chosen, systemd_v1, first;
  for (std::string_view line : Split(text, '\n', true)) {
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, c1);
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    if (id == "0" && controllers.empty()) chosen = path;
    if (controllers == "name=systemd") systemd_v1 = path;
    if (first.empty()) first = path;
  }
  if (chosen.empty()) chosen = !systemd_v1.empty() ? systemd_v1 : first;
  info.path = std::string(chosen);

  std::vector<std::string_view> parts = Split(chosen, '/', true);
  // Units: the system manager's (first) and, inside user@N.service, the
  // user manager's.
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!IsUnit(parts[i])) continue;
    if (info.unit.empty()) {
      info.unit = std::string(parts[i]);
      if (!(parts[i].starts_with("user@") && parts[i].ends_with(".service"))) break;
    } else {
      info.user_unit = std::string(parts[i]);
      break;
    }
  }
  // Containers, innermost first.
  for (size_t j = parts.size(); j-- > 0;) {
    const std::string_view c = parts[j];
    struct Scope {
      std::string_view prefix, runtime;
    };
    static constexpr Scope kScopes[] = {{"docker-", "docker"},
                                        {"libpod-", "podman"},
                                        {"cri-containerd-", "containerd"},
                                        {"crio-", "cri-o"}};
    bool done = false;
    for (const Scope& s : kScopes) {
      if (auto id = ScopeId(c, s.prefix)) {
        info.container_runtime = std::string(s.runtime);
        info.container_id = std::string(*id);
        done = true;
        break;
      }
    }
    if (done) break;
    // cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id>,
    // /machine.slice/libpod-... handled above.
    if (IsHexId(c) && j > 0) {
      if (parts[j - 1] == "docker") {
        info.container_runtime = "docker";
      } else if (parts[0] == "kubepods" || parts[0].starts_with("kubepods")) {
        info.container_runtime = "kubernetes";
      } else {
        continue;
      }
      info.container_id = std::string(c);
      break;
    }
  }
  return info;
}

std::string FullProcessName(std::string_view comm, std::string_view executable,
                            const std::vector<std::string>& argv) {
  if (comm.size() < kCommMax) return std::string(comm);
  std::string_view exe = BaseName(executable);
  if (exe.ends_with(" (deleted)")) exe.remove_suffix(10);
  std::vector<std::string_view> candidates = {exe};
  if (!argv.empty()) {
    // argv[0] may carry arguments when a process rewrote it ("nginx: worker").
    std::string_view a0 = BaseName(argv[0]);
    candidates.push_back(a0.substr(0, a0.find(' ')));
  }
  if (argv.size() > 1) candidates.push_back(BaseName(argv[1]));
  for (std::string_view c : candidates) {
    if (c.size() > comm.size() && c.starts_with(comm)) return std::string(c);
  }
  return std::string(comm);
}

ProcessTable::ProcessTable(std::string proc_root, std::string k8s_root)
    : proc_root_(std::move(proc_root)), kube_(std::move(k8s_root)) {
  boot_time_us_ = ReadBootTimeUs(proc_root_);
  own_netns_ = NetnsInode(absl::StrCat(proc_root_, "/self/ns/net"));
  const long ticks = sysconf(_SC_CLK_TCK);
  if (ticks > 0) clock_ticks_ = ticks;
}

void ProcessTable::Forget(int pid, Pid& p) {
  for (uint64_t inode : p.inodes) {
    auto it = owners_.find(inode);
    if (it != owners_.end() && it->second.pid == pid) owners_.erase(it);
  }
  if (p.record) p.record->exited.store(true, std::memory_order_relaxed);
}

void ProcessTable::List(std::vector<int>* pids) {
  pids->clear();
  DIR* dir = opendir(proc_root_.c_str());
  if (dir == nullptr) return;
  absl::flat_hash_set<int> seen;
  while (dirent* e = readdir(dir)) {
    int pid = 0;
    if (!ParseInt(std::string_view(e->d_name), &pid) || pid <= 0) continue;
    struct stat st;
    if (stat(absl::StrCat(proc_root_, "/", pid, "/fd").c_str(), &st) != 0) continue;
    Pid& p = pids_[pid];
    p.fd_count_now = static_cast<int64_t>(st.st_size);
    p.uid = st.st_uid;
    seen.insert(pid);
    pids->push_back(pid);
  }
  closedir(dir);
  for (auto it = pids_.begin(); it != pids_.end();) {
    if (seen.contains(it->first)) {
      ++it;
      continue;
    }
    Forget(it->first, it->second);
    pids_.erase(it++);
  }
}

void ProcessTable::Warm() {
  std::vector<int> pids;
  List(&pids);
  for (int pid : pids) ScanFds(pid, pids_[pid]);
}

void ProcessTable::Prune() {
  std::vector<int> pids;
  List(&pids);
}

bool ProcessTable::ScanFds(int pid, Pid& p) {
  const std::string dir_path = absl::StrCat(proc_root_, "/", pid, "/fd");
  DIR* dir = opendir(dir_path.c_str());
  ++stats_.processes_scanned;
  p.fd_count = p.fd_count_now;
  if (dir == nullptr) {
    if (errno == EACCES || errno == EPERM) ++stats_.no_permission;
    return false;
  }
  p.inodes.clear();
  while (dirent* e = readdir(dir)) {
    int fd = 0;
    if (!ParseInt(std::string_view(e->d_name), &fd)) continue;
    ++stats_.fd_links_read;
    auto link = ReadLink(absl::StrCat(dir_path, "/", e->d_name));
    if (!link) continue;
    auto inode = SocketInodeFromLink(*link);
    if (!inode) continue;
    owners_[*inode] = Owner{pid, fd};
    p.inodes.push_back(*inode);
  }
  closedir(dir);
  return true;
}

bool ProcessTable::StillOwns(const Owner& o, uint64_t inode) {
  ++stats_.fd_links_read;
  auto link = ReadLink(absl::StrCat(proc_root_, "/", o.pid, "/fd/", o.fd));
  return link && SocketInodeFromLink(*link) == inode;
}

const std::string& ProcessTable::UserName(uint32_t uid) {
  auto it = user_names_.find(uid);
  if (it != user_names_.end()) return it->second;
  std::string name = absl::StrCat(uid);
  passwd pw;
  passwd* result = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) == 0 && result != nullptr &&
      result->pw_name != nullptr) {
    name = result->pw_name;
  }
  if (user_names_.size() > 4096) user_names_.clear();  // Bounded; refilled on demand.
  return user_names_.emplace(uid, std::move(name)).first->second;
}

std::shared_ptr<const ProcessRecord> ProcessTable::UserOnly(uint32_t uid) {
  auto& slot = user_only_[uid];
  if (!slot) {
    auto r = std::make_shared<ProcessRecord>();
    r->uid = uid;
    r->user = UserName(uid);
    slot = std::move(r);
  }
  return slot;
}

std::shared_ptr<const ProcessRecord> ProcessTable::RecordFor(int pid) {
  auto it = pids_.find(pid);
  if (it == pids_.end()) return nullptr;
  Pid& p = it->second;
  const std::string base = absl::StrCat(proc_root_, "/", pid);
  auto stat_text = ReadSmallFile(base + "/stat");
  std::optional<ProcStat> stat = stat_text ? ParseProcStat(*stat_text) : std::nullopt;
  if (!stat) return nullptr;  // Gone.
  if (p.record && p.record->start_ticks == stat->start_ticks) return p.record;
  if (p.record) p.record->exited.store(true, std::memory_order_relaxed);  // pid reused
  auto r = std::make_shared<ProcessRecord>();
  r->pid = static_cast<uint32_t>(pid);
  r->start_ticks = stat->start_ticks;
  if (boot_time_us_ > 0) {
    r->started_us = boot_time_us_ + static_cast<int64_t>(stat->start_ticks) * 1'000'000 /
                                        clock_ticks_;
  }
  r->executable = ReadLink(base + "/exe").value_or("");
  r->command_line = ParseCmdline(ReadSmallFile(base + "/cmdline", kMaxCmdlineBytes).value_or(""));
  std::string comm = stat->comm;
  if (auto c = ReadSmallFile(base + "/comm", 64)) {
    comm = *c;
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  }
  r->name = FullProcessName(comm, r->executable, r->command_line);
  auto status = ReadSmallFile(base + "/status");
  r->uid = (status ? ParseStatusEffectiveUid(*status) : std::nullopt).value_or(p.uid);
  r->user = UserName(r->uid);
  if (auto cg = ReadSmallFile(base + "/cgroup")) {
    SetCgroup(ParseCgroup(*cg), r.get());
  }
  r->lineage = Lineage(stat->ppid);
  SetNetns(NetnsInode(base + "/ns/net"), r.get());
  p.record = r;
  return r;
}

void ProcessTable::SetCgroup(CgroupInfo info, ProcessRecord* r) {
  r->cgroup = std::move(info.path);
  r->unit = std::move(info.unit);
  r->user_unit = std::move(info.user_unit);
  r->container_runtime = std::move(info.container_runtime);
  r->container_id = std::move(info.container_id);
  SetKubernetes(r);
}

void ProcessTable::SetKubernetes(ProcessRecord* r) {
  std::optional<KubeCgroupRef> ref = ParseKubeCgroup(r->cgroup);
  if (!ref) return;
  r->k8s_pod_uid = ref->pod_uid;
  // ParseCgroup knows the cgroupfs layout only at the hierarchy's top.
  if (r->container_id.empty() && !ref->container_id.empty()) {
    r->container_id = ref->container_id;
    r->container_runtime = ref->runtime.empty() ? "kubernetes" : ref->runtime;
  }
  const int64_t now = MonotonicUs();
  if (std::shared_ptr<const KubeInfo> k = kube_.Lookup(*ref, now)) {
    r->k8s_pod = k->pod;
    r->k8s_namespace = k->pod_namespace;
    r->k8s_container = k->container;
    // The cgroupfs layout does not say which runtime; its bundle did.
    if (r->container_runtime == "kubernetes" &&
        (k->source == "containerd" || k->source == "cri-o" || k->source == "docker")) {
      r->container_runtime = k->source;
    }
  }
}

std::vector<ProcessRecord::Ancestor> ProcessTable::Lineage(uint32_t ppid) {
  std::vector<ProcessRecord::Ancestor> out;
  while (ppid != 0 && out.size() < kLineage) {
    ProcessRecord::Ancestor a;
    a.pid = ppid;
    auto text = ReadSmallFile(absl::StrCat(proc_root_, "/", ppid, "/stat"));
    std::optional<ProcStat> st = text ? ParseProcStat(*text) : std::nullopt;
    if (st) a.name = st->comm;
    out.push_back(std::move(a));
    if (!st || ppid == 1) break;
    ppid = st->ppid;
  }
  return out;
}

void ProcessTable::SetNetns(uint32_t inode, ProcessRecord* r) {
  if (inode == 0 || inode == own_netns_) return;
  r->netns_inode = inode;
  auto it = netns_names_.find(inode);
  if (it == netns_names_.end()) {
    // `ip netns add` bind-mounts the namespace on /run/netns/NAME: its
    // inode is the namespace's. Read again at most once a second.
    const int64_t now = MonotonicUs();
    if (now - netns_names_read_us_ < 1'000'000) return;
    netns_names_read_us_ = now;
    netns_names_.clear();
    if (DIR* dir = opendir("/run/netns")) {
      while (dirent* e = readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        struct stat st;
        if (stat(absl::StrCat("/run/netns/", e->d_name).c_str(), &st) == 0 &&
            netns_names_.size() < 4096) {
          netns_names_[static_cast<uint32_t>(st.st_ino)] = e->d_name;
        }
      }
      closedir(dir);
    }
    it = netns_names_.find(inode);
    if (it == netns_names_.end()) return;
  }
  r->netns_name = it->second;
}

std::shared_ptr<const ProcessRecord> ProcessTable::ForSocketOwner(
    uint32_t tgid, std::string_view comm, uint32_t uid, const std::array<uint32_t, 4>& ppid,
    uint32_t netns_inode, uint64_t cgroup_id) {
  if (tgid == 0) return UserOnly(uid);
  const int pid = static_cast<int>(tgid);
  auto it = pids_.find(pid);
  if (it == pids_.end()) {
    struct stat st;
    if (stat(absl::StrCat(proc_root_, "/", pid, "/fd").c_str(), &st) == 0) {
      Pid& p = pids_[pid];
      p.fd_count_now = static_cast<int64_t>(st.st_size);
      p.uid = st.st_uid;
      it = pids_.find(pid);
    }
  }
  // The same process (not a reuse of its pid) if it still runs as `comm`.
  auto same = [comm](const ProcessRecord& r) {
    return comm.empty() || r.name.starts_with(comm) ||
           (!r.command_line.empty() && r.command_line[0].find(comm) != std::string::npos);
  };
  if (it != pids_.end()) {
    std::shared_ptr<const ProcessRecord> r = RecordFor(pid);
    if (r && same(*r)) {
      if (gone_.size() >= kMaxGone) gone_.clear();
      gone_[tgid] = r;  // What /proc said, for when it is gone.
      return r;
    }
  }
  // Gone: what /proc said while it ran, else what the tracker carried.
  auto g = gone_.find(tgid);
  if (g != gone_.end() && same(*g->second)) {
    g->second->exited.store(true, std::memory_order_relaxed);
    return g->second;
  }
  auto r = std::make_shared<ProcessRecord>();
  r->pid = tgid;
  r->uid = uid;
  r->user = UserName(uid);
  r->name = std::string(comm);
  for (uint32_t p : ppid) {
    if (p == 0) break;
    ProcessRecord::Ancestor a;
    a.pid = p;
    auto text = ReadSmallFile(absl::StrCat(proc_root_, "/", p, "/stat"));
    if (auto st = text ? ParseProcStat(*text) : std::nullopt) a.name = st->comm;
    r->lineage.push_back(std::move(a));
  }
  SetNetns(netns_inode, r.get());
  if (cgroup_ids_ && cgroup_id != 0) {
    // The path /proc/<pid>/cgroup would have said, through the same parser.
    const int64_t now = MonotonicUs();
    if (std::optional<std::string> path = cgroup_ids_->Lookup(cgroup_id, now)) {
      SetCgroup(ParseCgroup(absl::StrCat("0::", *path, "\n")), r.get());
    }
  }
  r->exited.store(true, std::memory_order_relaxed);
  if (gone_.size() >= kMaxGone) gone_.clear();
  gone_[tgid] = r;
  return r;
}

void ProcessTable::Resolve(
    const std::vector<Wanted>& wanted,
    absl::flat_hash_map<uint64_t, std::shared_ptr<const ProcessRecord>>* found,
    int64_t now_us) {
  absl::flat_hash_map<uint64_t, uint32_t> missing;  // inode -> uid
  auto settle = [&](uint64_t inode, int pid) {
    if (auto r = RecordFor(pid)) {
      (*found)[inode] = std::move(r);
      missing.erase(inode);
      return true;
    }
    return false;
  };
  for (const Wanted& w : wanted) {
    if (w.inode == 0 || found->contains(w.inode)) continue;
    missing[w.inode] = w.uid;
  }
  // Known inodes: one readlink each.
  for (auto it = missing.begin(); it != missing.end();) {
    const uint64_t inode = it->first;
    ++it;
    auto o = owners_.find(inode);
    if (o == owners_.end()) continue;
    if (StillOwns(o->second, inode) && settle(inode, o->second.pid)) continue;
    owners_.erase(o);
  }
  if (missing.empty()) return;

  std::vector<int> pids;
  List(&pids);
  absl::flat_hash_set<uint32_t> uids;
  for (const auto& [inode, uid] : missing) uids.insert(uid);
  auto scan_settle = [&](int pid) {
    Pid& p = pids_[pid];
    if (!ScanFds(pid, p)) return;
    for (uint64_t inode : p.inodes) {
      if (missing.contains(inode)) settle(inode, pid);
    }
  };
  // 1: new or changed processes. 2: the sockets' users, then 3: everyone,
  // together at most once a second: a socket that closed before its
  // process was read (a client living a millisecond) is in no process, and
  // looking for it in every one of its user's unchanged processes on each
  // request would cost a full scan per connection.
  std::vector<int> by_uid, rest;
  for (int pid : pids) {
    if (missing.empty()) return;
    Pid& p = pids_[pid];
    if (p.fd_count < 0 || p.fd_count != p.fd_count_now) {
      scan_settle(pid);
    } else if (uids.contains(p.uid)) {
      by_uid.push_back(pid);
    } else {
      rest.push_back(pid);
    }
  }
  if (missing.empty() || now_us - last_full_scan_us_ < kFullScanIntervalUs) return;
  last_full_scan_us_ = now_us;
  for (int pid : by_uid) {
    if (missing.empty()) return;
    scan_settle(pid);
  }
  if (missing.empty()) return;
  ++stats_.full_scans;
  for (int pid : rest) {
    if (missing.empty()) return;
    scan_settle(pid);
  }
}

}  // namespace rustnet
