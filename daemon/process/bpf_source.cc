#include "daemon/process/bpf_source.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

// The ring buffer's record (shared with the BPF side) and the skeleton
// generated from bpf/socket_trace.bpf.c at build time.
#include "daemon/process/bpf/socket_event.h"
#include <socket_trace.skel.h>  // Generated: a system include (not our warnings).

namespace rustnet {
namespace {

static_assert(sizeof(rn_sock_event) == RN_SOCK_EVENT_SIZE, "socket_event.h layout");

constexpr const char* kBtfPath = "/sys/kernel/btf/vmlinux";

// libbpf's messages (a verifier log is many lines) go to the debug log: a
// program that does not load is reported once, by name, in GetStats.
int PrintLibbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG || !spdlog::should_log(spdlog::level::debug)) return 0;
  char buf[1024];
  const int n = vsnprintf(buf, sizeof buf, format, args);
  if (n > 0) {
    std::string_view line(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    spdlog::debug("libbpf: {}", line);
  }
  return 0;
}

std::string ErrnoText(int err) { return std::strerror(err < 0 ? -err : err); }

// Opens the skeleton with only `enabled` programs to load (the forced
// failure applied) and loads it. Null and *err on failure.
socket_trace_bpf* OpenAndLoad(const std::vector<std::string>& enabled,
                              const std::string& fail_program, int* err) {
  socket_trace_bpf* skel = socket_trace_bpf__open();
  if (skel == nullptr) {
    *err = errno ? -errno : -EINVAL;
    return nullptr;
  }
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    const std::string name = bpf_program__name(prog);
    const bool on = std::find(enabled.begin(), enabled.end(), name) != enabled.end();
    bpf_program__set_autoload(prog, on);
    if (on && name == fail_program) {
      // A program the kernel refuses: a socket-creation program for a hook
      // that type cannot have (EINVAL from BPF_PROG_LOAD).
      bpf_program__set_type(prog, BPF_PROG_TYPE_CGROUP_SOCK);
      bpf_program__set_expected_attach_type(prog, BPF_CGROUP_INET_INGRESS);
    }
  }
  *err = socket_trace_bpf__load(skel);
  if (*err != 0) {
    socket_trace_bpf__destroy(skel);
    return nullptr;
  }
  return skel;
}

std::vector<std::string> AllPrograms() {
  std::vector<std::string> names;
  socket_trace_bpf* skel = socket_trace_bpf__open();
  if (skel == nullptr) return names;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) names.push_back(bpf_program__name(prog));
  socket_trace_bpf__destroy(skel);
  return names;
}

// Mounts cgroup2 on a fresh directory, opens its root, and unmounts it
// (the descriptor keeps what the programs attach to). -1 and *what says why.
int OpenCgroup2Privately(std::string* what) {
  char dir[] = "/tmp/rustnetd-cgroup2.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    *what = absl::StrCat("mkdtemp: ", ErrnoText(errno));
    return -1;
  }
  int fd = -1;
  if (mount("none", dir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    *what = absl::StrCat("mounting cgroup2: ", ErrnoText(errno));
  } else {
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) *what = absl::StrCat("opening cgroup2: ", ErrnoText(errno));
    umount2(dir, MNT_DETACH);
  }
  rmdir(dir);
  if (fd >= 0) *what = "cgroup2 (mounted privately)";
  return fd;
}

IpAddress AddressOf(uint8_t family, const uint8_t* raw, bool* unspecified) {
  static constexpr uint8_t kZero[16] = {};
  if (family == 2) {  // AF_INET
    *unspecified = std::memcmp(raw, kZero, 4) == 0;
    return IpAddress::FromV4(raw);
  }
  IpAddress a = IpAddress::FromV6(raw);
  *unspecified = std::memcmp(raw, kZero, 16) == 0 ||
                 (a.IsV4() && std::memcmp(raw + 12, kZero, 4) == 0);
  return a;
}

}  // namespace

struct BpfSocketSource::Impl {
  socket_trace_bpf* skel = nullptr;
  std::vector<bpf_link*> links;
  ring_buffer* ring = nullptr;
  int cgroup_fd = -1;
  const std::function<void(SocketEvent&&)>* sink = nullptr;  // During Poll.

  ~Impl() {
    if (ring != nullptr) ring_buffer__free(ring);
    for (bpf_link* l : links) bpf_link__destroy(l);
    if (skel != nullptr) socket_trace_bpf__destroy(skel);
    if (cgroup_fd >= 0) close(cgroup_fd);
  }

  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(rn_sock_event) || self->sink == nullptr) return 0;
    rn_sock_event raw;
    std::memcpy(&raw, data, sizeof raw);
    SocketEvent e;
    switch (raw.kind) {
      case RN_EV_CONNECT: e.kind = SocketEvent::Kind::kConnect; break;
      case RN_EV_BIND: e.kind = SocketEvent::Kind::kBind; break;
      case RN_EV_SEND: e.kind = SocketEvent::Kind::kSend; break;
      case RN_EV_RECV: e.kind = SocketEvent::Kind::kRecv; break;
      case RN_EV_CLOSE: e.kind = SocketEvent::Kind::kClose; break;
      default: return 0;
    }
    e.protocol = raw.protocol;
    bool unspecified = false;
    e.local = AddressOf(raw.family, raw.saddr, &unspecified);
    if (unspecified) e.local = IpAddress{};
    e.remote = AddressOf(raw.family, raw.daddr, &unspecified);
    e.local_port = raw.sport;
    e.remote_port = raw.dport;
    e.cookie = raw.cookie;
    e.netns_cookie = raw.netns_cookie;
    e.cgroup_id = raw.cgroup_id;
    e.netns_ino = raw.netns_ino;
    e.tgid = raw.tgid;
    e.tid = raw.pid;
    e.uid = raw.uid;
    for (size_t i = 0; i < e.ppid.size(); ++i) e.ppid[i] = raw.ppid[i];
    e.comm.assign(raw.comm, strnlen(raw.comm, sizeof raw.comm));
    e.time_us = static_cast<int64_t>(raw.ktime_ns / 1000);
    (*self->sink)(std::move(e));
    return 0;
  }
};

bool BpfSocketSource::Built() { return true; }

BpfSocketSource::BpfSocketSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfSocketSource::~BpfSocketSource() = default;

absl::StatusOr<std::unique_ptr<BpfSocketSource>> BpfSocketSource::Create(Options options) {
  libbpf_set_print(PrintLibbpf);
  if (options.fail_program.empty()) {
    if (const char* f = std::getenv("RUSTNETD_EBPF_FAIL")) options.fail_program = f;
  }
  struct stat st;
  if (stat(kBtfPath, &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the kernel has no BTF (", kBtfPath, "): CONFIG_DEBUG_INFO_BTF is needed"));
  }
  // Everything but the raw tracepoint (the BTF one is preferred).
  const std::vector<std::string> all = AllPrograms();
  std::vector<std::string> enabled;
  for (const auto& n : all) {
    if (n != "rn_state_raw") enabled.push_back(n);
  }
  std::vector<std::string> failed;
  int err = 0;
  socket_trace_bpf* skel = OpenAndLoad(enabled, options.fail_program, &err);
  if (skel == nullptr) {
    if (err == -EPERM || err == -EACCES) {
      // Not one program loads without the privileges: no point trying each.
      int alone_err = 0;
      socket_trace_bpf* probe = OpenAndLoad({}, "", &alone_err);
      if (probe == nullptr) {
        return absl::PermissionDeniedError(absl::StrCat(
            "loading BPF programs was refused (", ErrnoText(err),
            "): needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"));
      }
      socket_trace_bpf__destroy(probe);
    }
    // Some program is refused: find which by loading each alone.
    std::vector<std::string> good;
    for (const auto& n : all) {
      if (n == "rn_state_raw") continue;
      int e = 0;
      std::vector<std::string> alone = {n};
      socket_trace_bpf* s = OpenAndLoad(alone, options.fail_program, &e);
      if (s == nullptr && n == "rn_state_btf") {
        failed.push_back(absl::StrCat(n, ": ", ErrnoText(e)));
        alone = {"rn_state_raw"};
        s = OpenAndLoad(alone, options.fail_program, &e);
      }
      if (s == nullptr) {
        failed.push_back(absl::StrCat(alone[0], ": ", ErrnoText(e)));
        continue;
      }
      socket_trace_bpf__destroy(s);
      good.push_back(alone[0]);
    }
    if (good.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no BPF program loads (", failed.empty() ? ErrnoText(err) : failed[0], ")"));
    }
    skel = OpenAndLoad(good, options.fail_program, &err);
    if (skel == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("the BPF programs do not load: ", ErrnoText(err)));
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->skel = skel;
  // The cgroup hooks go on the root of the v2 hierarchy: every process.
  std::string cgroup = options.cgroup_root;
  auto mount_of = [](const char* mountinfo) {
    std::ifstream in(mountinfo);
    std::stringstream text;
    text << in.rdbuf();
    return CgroupV2Mount(text.str());
  };
  if (cgroup.empty()) cgroup = mount_of("/proc/self/mountinfo");
  if (cgroup.empty()) {
    // None in this mount namespace (`ip netns exec` mounts a sysfs of its
    // own over /sys): the hierarchy mounted for a moment on a private
    // directory, long enough to open its root.
    impl->cgroup_fd = OpenCgroup2Privately(&cgroup);
    if (impl->cgroup_fd < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("no cgroup v2 hierarchy is mounted (", cgroup, ")"));
    }
  } else {
    impl->cgroup_fd = open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (impl->cgroup_fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the cgroup v2 root ", cgroup, ": ", ErrnoText(errno)));
  }


  std::vector<std::string> loaded;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    if (!bpf_program__autoload(prog)) continue;
    const std::string name = bpf_program__name(prog);
    const bpf_prog_type type = bpf_program__type(prog);
    bpf_link* link = type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_RAW_TRACEPOINT
                         ? bpf_program__attach(prog)
                         : bpf_program__attach_cgroup(prog, impl->cgroup_fd);
    if (link == nullptr) {
      failed.push_back(absl::StrCat(name, ": attach: ", ErrnoText(errno)));
      continue;
    }
    impl->links.push_back(link);
    loaded.push_back(name);
  }
  if (loaded.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no BPF program attaches (", failed.empty() ? "" : failed[0], ")"));
  }
  impl->ring = ring_buffer__new(bpf_map__fd(skel->maps.events), &Impl::OnRecord, impl.get(),
                                nullptr);
  if (impl->ring == nullptr) {
    return absl::InternalError(absl::StrCat("BPF ring buffer: ", ErrnoText(errno)));
  }
  std::unique_ptr<BpfSocketSource> source(new BpfSocketSource(std::move(impl)));
  source->loaded_ = std::move(loaded);
  source->failed_ = std::move(failed);
  source->cgroup_root_ = std::move(cgroup);
  return source;
}

int BpfSocketSource::Poll(int timeout_ms, const std::function<void(SocketEvent&&)>& sink) {
  impl_->sink = &sink;
  const int n = ring_buffer__poll(impl_->ring, timeout_ms);
  impl_->sink = nullptr;
  return n;
}

int BpfSocketSource::DupCgroupRoot() const {
  return impl_->cgroup_fd < 0 ? -1 : fcntl(impl_->cgroup_fd, F_DUPFD_CLOEXEC, 0);
}

uint64_t BpfSocketSource::Lost() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.lost), &zero, values.data()) != 0) {
    return 0;
  }
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

void BpfSocketSource::RunStats(uint64_t* run_ns, uint64_t* run_count) const {
  *run_ns = 0;
  *run_count = 0;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    const int fd = bpf_program__fd(prog);
    if (fd < 0) continue;
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
    *run_ns += info.run_time_ns;
    *run_count += info.run_cnt;
  }
}

}  // namespace rustnet
