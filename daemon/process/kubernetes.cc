#include "daemon/process/kubernetes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

constexpr size_t kMaxDirEntries = 65536;  // Read from any one directory listing.
constexpr size_t kMaxKeyBytes = 1024;     // Of a JSON string kept while parsing.
constexpr size_t kMaxSmallFile = 64 * 1024;

bool IsHex(char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); }

bool IsHexId(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), IsHex);
}

// A pod UID as the kubelet writes it: 8-4-4-4-12 hex digits, separated by
// '-' (cgroupfs, directories) or '_' (systemd slice names). Normalized to
// lowercase with dashes.
std::optional<std::string> PodUid(std::string_view s) {
  if (s.size() != 36) return std::nullopt;
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (out[i] != '-' && out[i] != '_') return std::nullopt;
      out[i] = '-';
    } else if (!IsHex(out[i])) {
      return std::nullopt;
    } else {
      out[i] = absl::ascii_tolower(static_cast<unsigned char>(out[i]));
    }
  }
  return out;
}

std::vector<std::string_view> SplitPath(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A Kubernetes name (namespace: DNS label; pod: DNS subdomain; container:
// DNS label): letters, digits, '-', '.'; anything else is refused, so no
// hostile annotation carries control characters or spaces onward.
bool IsKubeName(std::string_view s) {
  return !s.empty() && s.size() <= kMaxValueBytes && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// ---- The JSON reader (RFC 8259) ----

class JsonReader {
 public:
  JsonReader(std::string_view text, const std::vector<std::string_view>& path)
      : s_(text), path_(path) {}

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Run() {
    struct Frame {
      bool object;
      bool on_path;  // The chain of keys to here is a prefix of path_.
      size_t depth;  // How much of path_ it matched.
    };
    std::vector<Frame> stack;
    enum class Want { kValue, kKey, kAfter } want = Want::kValue;
    bool next_on_path = true;  // The top-level value is where the path starts.
    size_t next_depth = 0;
    std::string key, value;
    for (;;) {
      SkipSpace();
      if (want == Want::kAfter) {
        if (stack.empty()) {
          if (i_ != s_.size()) return Error("text after the document");
          return std::move(out_);
        }
        if (i_ >= s_.size()) return Error("truncated");
        const char c = s_[i_++];
        const Frame& top = stack.back();
        if (c == ',') {
          want = top.object ? Want::kKey : Want::kValue;
          next_on_path = false;
          continue;
        }
        if ((c == '}' && top.object) || (c == ']' && !top.object)) {
          stack.pop_back();
          continue;
        }
        return Error("expected ',' or the container's end");
      }
      if (i_ >= s_.size()) return Error("truncated");
      if (want == Want::kKey) {
        if (s_[i_] != '"') return Error("expected a member name");
        if (auto st = String(&key); !st.ok()) return st;
        SkipSpace();
        if (i_ >= s_.size() || s_[i_] != ':') return Error("expected ':'");
        ++i_;
        const Frame& top = stack.back();
        next_on_path = top.on_path && top.depth < path_.size() && key == path_[top.depth];
        next_depth = top.depth + 1;
        want = Want::kValue;
        continue;
      }
      // A value.
      const char c = s_[i_];
      if (c == '{' || c == '[') {
        if (stack.size() >= kMaxJsonDepth) return Error("nested too deeply");
        ++i_;
        stack.push_back(Frame{c == '{', c == '{' && next_on_path, next_depth});
        SkipSpace();
        if (i_ < s_.size() && s_[i_] == (c == '{' ? '}' : ']')) {
          ++i_;
          stack.pop_back();
          want = Want::kAfter;
        } else {
          want = c == '{' ? Want::kKey : Want::kValue;
          next_on_path = false;
        }
        continue;
      }
      if (c == '"') {
        if (auto st = String(&value); !st.ok()) return st;
        if (!stack.empty() && stack.back().object && stack.back().on_path &&
            stack.back().depth == path_.size()) {
          if (out_.size() >= kMaxJsonMembers) return Error("too many members");
          out_.emplace_back(key, CutUtf8(value));
        }
      } else if (c == 't' || c == 'f' || c == 'n') {
        if (!Literal()) return Error("bad literal");
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!Number()) return Error("bad number");
      } else {
        return Error("expected a value");
      }
      want = Want::kAfter;
    }
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON: ", std::string(what), " at byte ", i_));
  }

  void SkipSpace() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }

  bool Literal() {
    for (std::string_view lit : {"true", "false", "null"}) {
      if (s_.substr(i_, lit.size()) == lit) {
        i_ += lit.size();
        return true;
      }
    }
    return false;
  }

  bool Digits() {
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool Number() {
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!Digits()) {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!Digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!Digits()) return false;
    }
    return true;
  }

  std::optional<uint32_t> Hex4() {
    if (s_.size() - i_ < 4) return std::nullopt;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return v;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  // A string at s_[i_] == '"'; keeps its first kMaxKeyBytes bytes.
  absl::Status String(std::string* out) {
    out->clear();
    ++i_;
    std::string tmp;
    for (;;) {
      if (i_ >= s_.size()) return Error("unterminated string");
      const char c = s_[i_++];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in a string");
      if (c != '\\') {
        if (out->size() < kMaxKeyBytes) out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return Error("unterminated escape");
      const char e = s_[i_++];
      char plain = 0;
      switch (e) {
        case '"':
          plain = '"';
          break;
        case '\\':
          plain = '\\';
          break;
        case '/':
          plain = '/';
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          auto cp = Hex4();
          if (!cp) return Error("bad \\u escape");
          uint32_t code = *cp;
          if (code >= 0xd800 && code <= 0xdbff) {
            // A high surrogate must be followed by a low one.
            if (s_.substr(i_, 2) != "\\u") return Error("lone surrogate");
            i_ += 2;
            auto low = Hex4();
            if (!low || *low < 0xdc00 || *low > 0xdfff) return Error("lone surrogate");
            code = 0x10000 + ((code - 0xd800) << 10) + (*low - 0xdc00);
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            return Error("lone surrogate");
          }
          tmp.clear();
          AppendUtf8(code, &tmp);
          if (out->size() + tmp.size() <= kMaxKeyBytes) out->append(tmp);
          continue;
        }
        default:
          return Error("bad escape");
      }
      if (out->size() < kMaxKeyBytes) out->push_back(plain);
    }
    return absl::OkStatus();
  }

  // At most kMaxValueBytes, not splitting a UTF-8 sequence.
  static std::string CutUtf8(const std::string& s) {
    if (s.size() <= kMaxValueBytes) return s;
    size_t n = kMaxValueBytes;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    return s.substr(0, n);
  }

  std::string_view s_;
  const std::vector<std::string_view>& path_;
  size_t i_ = 0;
  std::vector<std::pair<std::string, std::string>> out_;
};

std::string_view Find(const std::vector<std::pair<std::string, std::string>>& m,
                      std::string_view key) {
  for (const auto& [k, v] : m) {
    if (k == key) return v;
  }
  return {};
}

// Calls fn(name) for each entry of `dir` (not "." or ".."), at most
// kMaxDirEntries; stops when fn returns true. False if unreadable.
template <typename Fn>
bool ForEachEntry(const std::string& dir, Fn fn) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  size_t n = 0;
  while (dirent* e = readdir(d)) {
    if (++n > kMaxDirEntries) break;
    const std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    if (fn(name)) break;
  }
  closedir(d);
  return true;
}

}  // namespace

std::optional<KubeCgroupRef> ParseKubeCgroup(std::string_view path) {
  const std::vector<std::string_view> parts = SplitPath(path);
  // The kubepods root: "kubepods" (cgroupfs), "kubepods.slice" (systemd),
  // or a prefixed one ("kubelet-kubepods.slice" of kind, k3s's "kubepods"
  // under another parent).
  size_t i = 0;
  while (i < parts.size() && !(parts[i] == "kubepods" || parts[i] == "kubepods.slice" ||
                               parts[i].ends_with("-kubepods.slice"))) {
    ++i;
  }
  if (i == parts.size()) return std::nullopt;
  // Not inside a user's own subtree: systemd delegates user@UID.service to
  // its unprivileged user, who may make any cgroup there and move processes
  // in — "kubepods/pod<a victim's uid>/<its container id>" (both readable
  // in any /proc/PID/cgroup) would pass them off as that pod's. The
  // kubelet's roots are at the top, or under a parent only root makes
  // (kind's kubelet.slice, k3s's, a node container's scope).
  for (size_t p = 0; p < i; ++p) {
    if (parts[p] == "user.slice" || parts[p].starts_with("user@")) return std::nullopt;
  }
  const bool systemd = parts[i].ends_with(".slice");
  KubeCgroupRef ref;
  ref.qos = "guaranteed";
  for (++i; i < parts.size(); ++i) {
    std::string_view c = parts[i];
    if (systemd) {
      if (!c.ends_with(".slice")) return std::nullopt;
      c.remove_suffix(6);
      // "...kubepods-besteffort.slice" (QoS) or "...-pod<uid>.slice".
      const size_t pod = c.rfind("-pod");
      if (pod != std::string_view::npos && pod + 4 + 36 == c.size()) {
        auto uid = PodUid(c.substr(pod + 4));
        if (!uid) return std::nullopt;
        ref.pod_uid = std::move(*uid);
        break;
      }
      if (c.ends_with("-besteffort")) {
        ref.qos = "besteffort";
      } else if (c.ends_with("-burstable")) {
        ref.qos = "burstable";
      } else {
        return std::nullopt;
      }
    } else {
      if (c.starts_with("pod")) {
        auto uid = PodUid(c.substr(3));
        if (!uid) return std::nullopt;
        ref.pod_uid = std::move(*uid);
        break;
      }
      if (c == "besteffort" || c == "burstable") {
        ref.qos = std::string(c);
      } else {
        return std::nullopt;
      }
    }
  }
  if (ref.pod_uid.empty()) return std::nullopt;
  // The container: the component right below the pod's.
  if (++i < parts.size()) {
    const std::string_view c = parts[i];
    struct Scope {
      std::string_view prefix, runtime;
    };
    static constexpr Scope kScopes[] = {
        {"cri-containerd-", "containerd"}, {"crio-", "cri-o"}, {"docker-", "docker"}};
    if (systemd) {
      for (const Scope& s : kScopes) {
        if (!c.starts_with(s.prefix) || !c.ends_with(".scope")) continue;
        const std::string_view id = c.substr(s.prefix.size(), c.size() - s.prefix.size() - 6);
        if (IsHexId(id)) {
          ref.container_id = absl::AsciiStrToLower(std::string(id));
          ref.runtime = std::string(s.runtime);
        }
        break;
      }
    } else if (IsHexId(c)) {
      ref.container_id = absl::AsciiStrToLower(std::string(c));
    }
  }
  return ref;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> JsonStringMembers(
    std::string_view text, const std::vector<std::string_view>& path) {
  return JsonReader(text, path).Run();
}

KubeMetadata::KubeMetadata(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::optional<std::string> KubeMetadata::ReadCapped(const std::string& path, size_t cap) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return std::nullopt;
  }
  std::string out;
  char buf[16384];
  bool too_big = false;
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + static_cast<size_t>(n) > cap) {
      too_big = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (too_big) {
    ++stats_.oversized;
    return std::nullopt;
  }
  return out;
}

bool KubeMetadata::FromRuntime(const KubeCgroupRef& ref, KubeInfo* info) {
  if (ref.container_id.empty()) return false;
  struct Layout {
    std::string_view runtime;
    std::string_view dir, file;                // root + dir + id + file
    std::vector<std::string_view> path;        // Where the names are.
    std::string_view pod, ns, container, uid;  // Their keys.
    std::string_view type_key, sandbox_type;   // The pod's sandbox (pause) container.
  };
  static const Layout kLayouts[] = {
      {"containerd",
       "/run/containerd/io.containerd.runtime.v2.task/k8s.io/",
       "/config.json",
       {"annotations"},
       "io.kubernetes.cri.sandbox-name",
       "io.kubernetes.cri.sandbox-namespace",
       "io.kubernetes.cri.container-name",
       "io.kubernetes.cri.sandbox-uid",
       "io.kubernetes.cri.container-type",
       "sandbox"},
      {"cri-o",
       "/run/containers/storage/overlay-containers/",
       "/userdata/config.json",
       {"annotations"},
       "io.kubernetes.pod.name",
       "io.kubernetes.pod.namespace",
       "io.kubernetes.container.name",
       "io.kubernetes.pod.uid",
       "io.kubernetes.cri-o.ContainerType",
       "sandbox"},
      {"docker",
       "/var/lib/docker/containers/",
       "/config.v2.json",
       {"Config", "Labels"},
       "io.kubernetes.pod.name",
       "io.kubernetes.pod.namespace",
       "io.kubernetes.container.name",
       "io.kubernetes.pod.uid",
       "io.kubernetes.docker.type",
       "podsandbox"},
  };
  for (const Layout& l : kLayouts) {
    if (!ref.runtime.empty() && ref.runtime != l.runtime) continue;
    auto text =
        ReadCapped(absl::StrCat(root_, std::string(l.dir), ref.container_id, std::string(l.file)),
                   kMaxConfigBytes);
    if (!text) continue;
    auto members = JsonStringMembers(*text, l.path);
    if (!members.ok()) {
      ++stats_.bad_files;
      continue;
    }
    const std::string_view pod = Find(*members, l.pod);
    const std::string_view ns = Find(*members, l.ns);
    if (!IsKubeName(pod)) {
      if (!pod.empty()) ++stats_.bad_files;
      continue;
    }
    // The bundle of another pod's container (its UID says so) is not this one's.
    const std::string_view uid = Find(*members, l.uid);
    if (!uid.empty() && PodUid(uid) != ref.pod_uid) continue;
    info->pod = std::string(pod);
    if (IsKubeName(ns)) info->pod_namespace = std::string(ns);
    const std::string_view container = Find(*members, l.container);
    if (IsKubeName(container) && Find(*members, l.type_key) != l.sandbox_type &&
        container != "POD") {
      info->container = std::string(container);
    }
    info->source = std::string(l.runtime);
    return true;
  }
  return false;
}

bool KubeMetadata::FromPodLogs(const KubeCgroupRef& ref, KubeInfo* info) {
  // var/log/containers/<pod>_<namespace>_<container>-<id>.log links, one
  // per container: the container id names all three.
  if (!ref.container_id.empty()) {
    const std::string suffix = absl::StrCat("-", ref.container_id, ".log");
    bool found = false;
    ForEachEntry(absl::StrCat(root_, "/var/log/containers"), [&](std::string_view name) {
      if (!name.ends_with(suffix)) return false;
      name.remove_suffix(suffix.size());
      const size_t a = name.find('_');
      const size_t b = a == std::string_view::npos ? a : name.find('_', a + 1);
      if (b == std::string_view::npos) return false;
      const std::string_view pod = name.substr(0, a), ns = name.substr(a + 1, b - a - 1),
                             container = name.substr(b + 1);
      if (!IsKubeName(pod) || !IsKubeName(ns) || !IsKubeName(container)) return false;
      info->pod = std::string(pod);
      info->pod_namespace = std::string(ns);
      info->container = std::string(container);
      found = true;
      return true;
    });
    if (found) {
      info->source = "pod-logs";
      return true;
    }
  }
  // var/log/pods/<namespace>_<pod>_<uid>/<container>/.
  const std::string suffix = absl::StrCat("_", ref.pod_uid);
  std::string dir;
  ForEachEntry(absl::StrCat(root_, "/var/log/pods"), [&](std::string_view name) {
    if (!name.ends_with(suffix)) return false;
    const std::string_view rest = name.substr(0, name.size() - suffix.size());
    const size_t a = rest.find('_');
    if (a == std::string_view::npos) return false;
    const std::string_view ns = rest.substr(0, a), pod = rest.substr(a + 1);
    if (!IsKubeName(ns) || !IsKubeName(pod)) return false;
    info->pod_namespace = std::string(ns);
    info->pod = std::string(pod);
    dir = std::string(name);
    return true;
  });
  if (dir.empty()) return false;
  std::vector<std::string> containers;
  ForEachEntry(absl::StrCat(root_, "/var/log/pods/", dir), [&](std::string_view name) {
    if (IsKubeName(name)) containers.emplace_back(name);
    return containers.size() > 1;
  });
  if (containers.size() == 1 && info->container.empty()) info->container = containers[0];
  info->source = "pod-logs";
  return true;
}

bool KubeMetadata::FromKubelet(const KubeCgroupRef& ref, KubeInfo* info) {
  const std::string dir = absl::StrCat(root_, "/var/lib/kubelet/pods/", ref.pod_uid);
  bool any = false;
  // etc-hosts: the kubelet's lines, then "<pod IP>\t<host name>[ ...]".
  // A host-network pod's is the node's own file (its header says so).
  if (auto hosts = ReadCapped(dir + "/etc-hosts", kMaxSmallFile);
      hosts && hosts->find("(host network)") == std::string::npos) {
    std::string_view text = *hosts, name;
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (line.empty() || line[0] == '#') continue;
      const size_t ws = line.find_first_of(" \t");
      if (ws == std::string_view::npos) continue;
      std::string_view host = line.substr(ws);
      const size_t start = host.find_first_not_of(" \t");
      if (start == std::string_view::npos) continue;
      host = host.substr(start);
      host = host.substr(0, host.find_first_of(" \t\r"));
      if (host == "localhost" || host.starts_with("ip6-")) continue;
      name = host.substr(0, host.find('.'));  // hostname.subdomain.ns.svc... -> hostname
    }
    if (IsKubeName(name)) {
      info->pod = std::string(name);
      any = true;
    }
  }
  // The namespace: a service-account token volume's `namespace` file.
  for (std::string_view kind : {"kubernetes.io~projected", "kubernetes.io~secret"}) {
    if (!info->pod_namespace.empty()) break;
    const std::string vols = absl::StrCat(dir, "/volumes/", std::string(kind));
    ForEachEntry(vols, [&](std::string_view vol) {
      auto ns = ReadCapped(absl::StrCat(vols, "/", std::string(vol), "/namespace"), 256);
      if (!ns) return false;
      std::string_view v = *ns;
      while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
      if (!IsKubeName(v)) return false;
      info->pod_namespace = std::string(v);
      return true;
    });
  }
  any = any || !info->pod_namespace.empty();
  std::vector<std::string> containers;
  ForEachEntry(dir + "/containers", [&](std::string_view name) {
    if (IsKubeName(name)) containers.emplace_back(name);
    return containers.size() > 1;
  });
  if (containers.size() == 1) {
    info->container = containers[0];
    any = true;
  }
  if (any) info->source = "kubelet";
  return any;
}

std::shared_ptr<const KubeInfo> KubeMetadata::Lookup(const KubeCgroupRef& ref, int64_t now_us) {
  const std::string key =
      ref.container_id.empty() ? absl::StrCat("pod:", ref.pod_uid) : ref.container_id;
  if (auto it = cache_.find(key); it != cache_.end()) {
    if (it->second.complete || now_us - it->second.at_us < kRetryUs) return it->second.info;
  }
  ++stats_.lookups;
  auto info = std::make_shared<KubeInfo>();
  info->pod_uid = ref.pod_uid;
  const bool found =
      FromRuntime(ref, info.get()) || FromPodLogs(ref, info.get()) || FromKubelet(ref, info.get());
  std::shared_ptr<const KubeInfo> answer;
  if (found) {
    ++stats_.found;
    answer = std::move(info);
  } else {
    ++stats_.not_found;
  }
  if (cache_.size() >= kMaxCached && !cache_.contains(key)) {
    stats_.evicted += cache_.size();
    cache_.clear();
  }
  const bool complete = answer && !answer->pod.empty() && !answer->pod_namespace.empty() &&
                        (ref.container_id.empty() || !answer->container.empty());
  cache_[key] = Entry{answer, now_us, complete};
  return answer;
}

}  // namespace rustnet
