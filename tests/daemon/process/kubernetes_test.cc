// Kubernetes attribution: cgroup paths of every kubelet layout (and hostile
// ones), the bounded JSON reader, and the metadata lookup on fake node
// trees (containerd, CRI-O, docker, the kubelet's log and pod directories),
// with oversized and garbage files counted.
#include "daemon/process/kubernetes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "daemon/process/process_table.h"

namespace rustnet {
namespace {

namespace fs = std::filesystem;

const std::string kId(64, 'a');
const std::string kId2 = std::string(63, 'b') + "c";
const std::string kUid = "0c9a1f2e-5b7d-4e21-9f3a-1234567890ab";
const std::string kUidUnderscore = "0c9a1f2e_5b7d_4e21_9f3a_1234567890ab";

TEST_CASE("ParseKubeCgroup: systemd driver, every QoS class and runtime", "[process][k8s]") {
  auto r = ParseKubeCgroup(
      absl::StrCat("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod",
                   kUidUnderscore, ".slice/cri-containerd-", kId, ".scope"));
  REQUIRE(r);
  CHECK(r->pod_uid == kUid);
  CHECK(r->container_id == kId);
  CHECK(r->runtime == "containerd");
  CHECK(r->qos == "besteffort");

  r = ParseKubeCgroup(
      absl::StrCat("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod",
                   kUidUnderscore, ".slice/crio-", kId2, ".scope"));
  REQUIRE(r);
  CHECK(r->runtime == "cri-o");
  CHECK(r->container_id == kId2);
  CHECK(r->qos == "burstable");

  // Guaranteed pods sit right under kubepods.slice.
  r = ParseKubeCgroup(absl::StrCat("/kubepods.slice/kubepods-pod", kUidUnderscore, ".slice/docker-",
                                   kId, ".scope"));
  REQUIRE(r);
  CHECK(r->qos == "guaranteed");
  CHECK(r->runtime == "docker");
  CHECK(r->pod_uid == kUid);

  // kind / nested kubelets: a prefixed root.
  r = ParseKubeCgroup(
      absl::StrCat("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
                   "kubelet-kubepods-besteffort-pod",
                   kUidUnderscore, ".slice/cri-containerd-", kId, ".scope"));
  REQUIRE(r);
  CHECK(r->pod_uid == kUid);
  CHECK(r->container_id == kId);

  // A process in a cgroup below the container's (systemd in a container).
  r = ParseKubeCgroup(absl::StrCat("/kubepods.slice/kubepods-pod", kUidUnderscore,
                                   ".slice/cri-containerd-", kId, ".scope/init.scope"));
  REQUIRE(r);
  CHECK(r->container_id == kId);

  // Upper-case hex is normalized.
  r = ParseKubeCgroup(absl::StrCat("/kubepods.slice/kubepods-pod",
                                   "0C9A1F2E_5B7D_4E21_9F3A_1234567890AB", ".slice"));
  REQUIRE(r);
  CHECK(r->pod_uid == kUid);
  CHECK(r->container_id.empty());  // The pod's own cgroup.
}

TEST_CASE("ParseKubeCgroup: cgroupfs driver", "[process][k8s]") {
  auto r = ParseKubeCgroup(absl::StrCat("/kubepods/besteffort/pod", kUid, "/", kId));
  REQUIRE(r);
  CHECK(r->pod_uid == kUid);
  CHECK(r->container_id == kId);
  CHECK(r->runtime.empty());  // The layout does not say.
  CHECK(r->qos == "besteffort");

  r = ParseKubeCgroup(absl::StrCat("/kubepods/burstable/pod", kUid, "/", kId2));
  REQUIRE(r);
  CHECK(r->qos == "burstable");
  CHECK(r->container_id == kId2);

  r = ParseKubeCgroup(absl::StrCat("/kubepods/pod", kUid, "/", kId));
  REQUIRE(r);
  CHECK(r->qos == "guaranteed");

  // k3s-style: kubepods under another parent.
  r = ParseKubeCgroup(absl::StrCat("/k3s/kubepods/besteffort/pod", kUid, "/", kId));
  REQUIRE(r);
  CHECK(r->container_id == kId);
}

TEST_CASE("ParseKubeCgroup: not a pod's, truncated and hostile paths", "[process][k8s]") {
  CHECK_FALSE(ParseKubeCgroup(""));
  CHECK_FALSE(ParseKubeCgroup("/"));
  CHECK_FALSE(ParseKubeCgroup("/system.slice/nginx.service"));
  CHECK_FALSE(ParseKubeCgroup(absl::StrCat("/system.slice/docker-", kId, ".scope")));
  CHECK_FALSE(ParseKubeCgroup("/kubepods.slice"));
  CHECK_FALSE(ParseKubeCgroup("/kubepods.slice/kubepods-besteffort.slice"));
  CHECK_FALSE(ParseKubeCgroup("/kubepods/besteffort"));
  // Truncated UIDs, wrong separators, non-hex.
  CHECK_FALSE(
      ParseKubeCgroup("/kubepods.slice/kubepods-pod0c9a1f2e_5b7d_4e21_9f3a_1234567890a.slice"));
  CHECK_FALSE(
      ParseKubeCgroup("/kubepods.slice/kubepods-pod0c9a1f2e_5b7d_4e21_9f3a_1234567890abc.slice"));
  CHECK_FALSE(
      ParseKubeCgroup("/kubepods.slice/kubepods-pod0c9a1f2e:5b7d:4e21:9f3a:1234567890ab.slice"));
  CHECK_FALSE(
      ParseKubeCgroup("/kubepods.slice/kubepods-pod0c9a1f2g_5b7d_4e21_9f3a_1234567890ab.slice"));
  CHECK_FALSE(ParseKubeCgroup("/kubepods/podnot-a-uid/x"));
  // A user's delegated subtree (user@UID.service: the user may mkdir there
  // and move processes in) naming a real pod's UID and container id.
  CHECK_FALSE(ParseKubeCgroup(absl::StrCat(
      "/user.slice/user-1000.slice/user@1000.service/app.slice/kubepods/pod", kUid, "/", kId)));
  CHECK_FALSE(ParseKubeCgroup(absl::StrCat("/user.slice/kubepods.slice/kubepods-pod",
                                           kUidUnderscore, ".slice/docker-", kId, ".scope")));
  CHECK_FALSE(ParseKubeCgroup(absl::StrCat("/user@0.service/kubepods/pod", kUid, "/", kId)));
  // An unknown component between the root and the pod.
  CHECK_FALSE(ParseKubeCgroup(absl::StrCat("/kubepods/weird/pod", kUid, "/", kId)));
  CHECK_FALSE(ParseKubeCgroup(
      absl::StrCat("/kubepods.slice/evil.service/kubepods-pod", kUidUnderscore, ".slice")));
  // A pod with a container id that is not one: the pod, no container.
  auto r = ParseKubeCgroup(absl::StrCat("/kubepods/pod", kUid, "/", std::string(63, 'a')));
  REQUIRE(r);
  CHECK(r->container_id.empty());
  r = ParseKubeCgroup(absl::StrCat("/kubepods.slice/kubepods-pod", kUidUnderscore,
                                   ".slice/cri-containerd-", kId.substr(0, 40), ".scope"));
  REQUIRE(r);
  CHECK(r->container_id.empty());
  r = ParseKubeCgroup(absl::StrCat("/kubepods.slice/kubepods-pod", kUidUnderscore,
                                   ".slice/cri-containerd-", kId, ".scopeX"));
  REQUIRE(r);
  CHECK(r->container_id.empty());
  // Repeated slashes and a trailing one are only separators.
  r = ParseKubeCgroup(absl::StrCat("//kubepods//pod", kUid, "//", kId, "/"));
  REQUIRE(r);
  CHECK(r->container_id == kId);
  // Every prefix of a valid path: no crash, and a pod only once its UID is whole.
  const std::string full = absl::StrCat(
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-pod",
      kUidUnderscore, ".slice/cri-containerd-", kId, ".scope");
  for (size_t n = 0; n <= full.size(); ++n) {
    auto p = ParseKubeCgroup(full.substr(0, n));
    const bool whole_uid = n >= full.find(".slice/cri-") + 6;
    CHECK(p.has_value() == whole_uid);
  }
}

using Members = std::vector<std::pair<std::string, std::string>>;

std::string ContainerdConfigForMutation() {
  return absl::StrCat(
      R"({"ociVersion":"1.1.0","process":{"args":["/pause"],"n":[1,-2.5e3,true,null]},)"
      R"("annotations":{"io.kubernetes.cri.sandbox-name":"web-1","e":"\u00e9\ud83d\ude00"}})");
}

TEST_CASE("JsonStringMembers: the object at a path, strings only", "[process][k8s][json]") {
  auto m = JsonStringMembers(
      R"({"ociVersion":"1.0.2","process":{"args":["sleep","1"],"env":["A=B"]},)"
      R"("annotations":{"a":"1","n":5,"o":{"x":"no"},"arr":["no"],"b":"t\u00e9st\ud83d\ude00",)"
      R"("c":"q\"\\\/\b\f\n\r\t"},"z":{"annotations":{"d":"no"}}})",
      {"annotations"});
  REQUIRE(m.ok());
  CHECK(*m == Members{{"a", "1"}, {"b", "t\xc3\xa9st\xf0\x9f\x98\x80"}, {"c", "q\"\\/\b\f\n\r\t"}});
  // Two levels (docker's Config.Labels); the top level itself.
  m = JsonStringMembers(R"({"Config":{"Labels":{"k":"v"},"x":"y"},"Labels":{"no":"no"}})",
                        {"Config", "Labels"});
  REQUIRE(m.ok());
  CHECK(*m == Members{{"k", "v"}});
  m = JsonStringMembers(R"( {"k":"v","n":null,"t":true,"f":false,"x":-1.5e+3} )", {});
  REQUIRE(m.ok());
  CHECK(*m == Members{{"k", "v"}});
  // Absent path: nothing, not an error.
  m = JsonStringMembers(R"({"annotations":[{"a":"b"}]})", {"annotations"});
  REQUIRE(m.ok());
  CHECK(m->empty());
  m = JsonStringMembers("[]", {"annotations"});
  REQUIRE(m.ok());
  CHECK(m->empty());
  // Long values are cut, on a UTF-8 boundary.
  std::string long_value;
  for (int i = 0; i < 200; ++i) long_value += "\xc3\xa9";
  m = JsonStringMembers(absl::StrCat(R"({"k":")", long_value, R"("})"), {});
  REQUIRE(m.ok());
  REQUIRE(m->size() == 1);
  CHECK((*m)[0].second.size() <= kMaxValueBytes);
  CHECK((*m)[0].second.size() % 2 == 0);
}

TEST_CASE("JsonStringMembers: malformed documents are errors", "[process][k8s][json]") {
  const char* const kBad[] = {"",
                              "{",
                              "}",
                              "{\"a\"}",
                              "{\"a\":}",
                              "{\"a\":\"b\",}",
                              "{\"a\":\"b\" \"c\":\"d\"}",
                              "[1,]",
                              "[1 2]",
                              "{\"a\":tru}",
                              "{\"a\":01}",
                              "{\"a\":1.}",
                              "{\"a\":-}",
                              "{\"a\":1e}",
                              "{\"a\":\"\\x\"}",
                              "{\"a\":\"\\u12\"}",
                              "{\"a\":\"\\ud800\"}",
                              "{\"a\":\"\\udc00\"}",
                              "{\"a\":\"unterminated",
                              "{\"a\":\"b\"} x",
                              "{\"a\":\"tab\there\"}",
                              "{'a':'b'}",
                              "{\"a\":[}",
                              "{\"a\":{]}",
                              "nul"};
  for (const char* bad : kBad) {
    INFO(bad);
    CHECK_FALSE(JsonStringMembers(bad, {"a"}).ok());
  }
  // Nesting: at the limit fine, past it an error, never recursion.
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  CHECK(JsonStringMembers(deep, {}).ok());
  std::string deeper(100000, '[');
  deeper += std::string(100000, ']');
  CHECK_FALSE(JsonStringMembers(deeper, {}).ok());
  // Too many members kept.
  std::string many = "{";
  for (size_t i = 0; i <= kMaxJsonMembers; ++i)
    absl::StrAppend(&many, i ? "," : "", "\"k", i, "\":\"v\"");
  many += "}";
  CHECK_FALSE(JsonStringMembers(many, {}).ok());
  // Every truncation of a valid document: an error, never a crash.
  const std::string doc =
      R"({"annotations":{"io.kubernetes.cri.sandbox-name":"web-1","e":"\u00e9\ud83d\ude00"},"n":[1,2.5,-3e2,true,null]})";
  REQUIRE(JsonStringMembers(doc, {"annotations"}).ok());
  for (size_t n = 0; n < doc.size(); ++n) {
    INFO(n);
    CHECK_FALSE(JsonStringMembers(doc.substr(0, n), {"annotations"}).ok());
  }
}

TEST_CASE("JsonStringMembers and ParseKubeCgroup: mutated input never crashes",
          "[process][k8s][json]") {
  const std::string doc = ContainerdConfigForMutation();
  const std::string path = absl::StrCat("/kubepods.slice/kubepods-pod", kUidUnderscore,
                                        ".slice/cri-containerd-", kId, ".scope");
  uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift: the same cases every run.
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const char kBytes[] = "{}[]\":,\\u0d8e-+.eE01 \n\x00\xff/_";
  size_t ok = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string d = doc;
    std::string p = path;
    for (int k = 0, n = static_cast<int>(next() % 4) + 1; k < n; ++k) {
      const char b = kBytes[next() % (sizeof kBytes - 1)];
      switch (next() % 3) {
        case 0:
          d[next() % d.size()] = b;
          p[next() % p.size()] = b;
          break;
        case 1:
          d.insert(next() % d.size(), 1, b);
          p.insert(next() % p.size(), 1, b);
          break;
        default:
          d.erase(next() % d.size(), 1);
          p.erase(next() % p.size(), 1);
      }
    }
    auto m = JsonStringMembers(d, {"annotations"});
    if (m.ok()) {
      ++ok;
      CHECK(m->size() <= kMaxJsonMembers);
      for (const auto& kv : *m) CHECK(kv.second.size() <= kMaxValueBytes);
    }
    if (auto r = ParseKubeCgroup(p)) {
      CHECK(r->pod_uid.size() == 36);
      CHECK((r->container_id.empty() || r->container_id.size() == 64));
    }
  }
  // Some mutations keep it JSON (a changed letter inside a string), most do not.
  CHECK(ok > 0);
  CHECK(ok < 5000);
}

// A fake node's root in a temporary directory.
class FakeNode {
 public:
  FakeNode() {
    char tmpl[] = "/tmp/rn_k8s_test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
  }
  ~FakeNode() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }
  void Write(const std::string& rel, std::string_view content) const {
    const fs::path p = fs::path(root_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }
  void Mkdir(const std::string& rel) const { fs::create_directories(fs::path(root_) / rel); }

 private:
  std::string root_;
};

std::string ContainerdConfig(const std::string& pod, const std::string& ns,
                             const std::string& container, const std::string& type = "container") {
  return absl::StrCat(R"({"ociVersion":"1.1.0","process":{"user":{"uid":0},"args":["/pause"]},)"
                      R"("annotations":{"io.kubernetes.cri.container-type":")",
                      type, R"(","io.kubernetes.cri.sandbox-name":")", pod,
                      R"(","io.kubernetes.cri.sandbox-namespace":")", ns,
                      R"(","io.kubernetes.cri.sandbox-uid":")", kUid,
                      R"(","io.kubernetes.cri.container-name":")", container, R"("}})");
}

KubeCgroupRef Ref(std::string runtime, std::string id = kId) {
  KubeCgroupRef r;
  r.pod_uid = std::string(kUid);
  r.container_id = std::move(id);
  r.runtime = std::move(runtime);
  return r;
}

const std::string kContainerdDir = "run/containerd/io.containerd.runtime.v2.task/k8s.io/";

TEST_CASE("KubeMetadata: containerd's bundle annotations, cached", "[process][k8s]") {
  FakeNode node;
  node.Write(kContainerdDir + kId + "/config.json",
             ContainerdConfig("web-7d4b9c-xk2lp", "shop", "nginx"));
  KubeMetadata meta(node.root());
  auto k = meta.Lookup(Ref("containerd"), 0);
  REQUIRE(k);
  CHECK(k->pod == "web-7d4b9c-xk2lp");
  CHECK(k->pod_namespace == "shop");
  CHECK(k->container == "nginx");
  CHECK(k->pod_uid == kUid);
  CHECK(k->source == "containerd");
  CHECK(meta.stats().lookups == 1);
  CHECK(meta.stats().found == 1);
  // Cached: the file's removal is not seen.
  fs::remove_all(fs::path(node.root()) / kContainerdDir);
  auto again = meta.Lookup(Ref("containerd"), 1'000'000);
  CHECK(again == k);
  CHECK(meta.stats().lookups == 1);
  // cgroupfs (runtime unknown): every layout is tried.
  node.Write(kContainerdDir + kId2 + "/config.json", ContainerdConfig("db-0", "shop", "postgres"));
  k = meta.Lookup(Ref("", kId2), 0);
  REQUIRE(k);
  CHECK(k->container == "postgres");
  // The pod's sandbox (pause) container: the pod, no container name.
  const std::string pause(64, 'e');
  node.Write(kContainerdDir + pause + "/config.json",
             ContainerdConfig("db-0", "shop", "", "sandbox"));
  k = meta.Lookup(Ref("containerd", pause), 0);
  REQUIRE(k);
  CHECK(k->pod == "db-0");
  CHECK(k->container.empty());
}

TEST_CASE("KubeMetadata: CRI-O and docker", "[process][k8s]") {
  FakeNode node;
  node.Write(
      "run/containers/storage/overlay-containers/" + kId + "/userdata/config.json",
      absl::StrCat(
          R"({"annotations":{"io.kubernetes.pod.name":"api-5f6c","io.kubernetes.pod.namespace":"prod",)"
          R"("io.kubernetes.container.name":"app","io.kubernetes.pod.uid":")",
          kUid, R"("}})"));
  node.Write(
      "var/lib/docker/containers/" + kId2 + "/config.v2.json",
      R"({"ID":"x","Config":{"Hostname":"h","Labels":{"io.kubernetes.pod.name":"old-1",)"
      R"("io.kubernetes.pod.namespace":"legacy","io.kubernetes.container.name":"worker"}}})");
  KubeMetadata meta(node.root() + "/");
  auto k = meta.Lookup(Ref("cri-o"), 0);
  REQUIRE(k);
  CHECK(k->pod == "api-5f6c");
  CHECK(k->pod_namespace == "prod");
  CHECK(k->container == "app");
  CHECK(k->source == "cri-o");
  k = meta.Lookup(Ref("docker", kId2), 0);
  REQUIRE(k);
  CHECK(k->pod == "old-1");
  CHECK(k->pod_namespace == "legacy");
  CHECK(k->container == "worker");
  // A runtime that says another pod's UID is not believed.
  const std::string other(64, 'd');
  node.Write(
      "run/containers/storage/overlay-containers/" + other + "/userdata/config.json",
      R"({"annotations":{"io.kubernetes.pod.name":"x","io.kubernetes.pod.uid":"11111111-2222-3333-4444-555555555555"}})");
  CHECK_FALSE(meta.Lookup(Ref("cri-o", other), 0));
}

TEST_CASE("KubeMetadata: the kubelet's log and pod directories when the runtime says nothing",
          "[process][k8s]") {
  FakeNode node;
  KubeMetadata meta(node.root());
  // var/log/containers/<pod>_<ns>_<container>-<id>.log
  node.Write(absl::StrCat("var/log/containers/web-1_shop_nginx-", kId, ".log"), "");
  node.Write(absl::StrCat("var/log/containers/web-1_shop_sidecar-", kId2, ".log"), "");
  auto k = meta.Lookup(Ref("containerd"), 0);
  REQUIRE(k);
  CHECK(k->pod == "web-1");
  CHECK(k->pod_namespace == "shop");
  CHECK(k->container == "nginx");
  CHECK(k->source == "pod-logs");

  // var/log/pods/<ns>_<pod>_<uid>/<container>/
  FakeNode node2;
  KubeMetadata meta2(node2.root());
  node2.Mkdir(absl::StrCat("var/log/pods/kube-system_coredns-abc_", kUid, "/coredns"));
  k = meta2.Lookup(Ref("containerd"), 0);
  REQUIRE(k);
  CHECK(k->pod == "coredns-abc");
  CHECK(k->pod_namespace == "kube-system");
  CHECK(k->container == "coredns");

  // var/lib/kubelet/pods/<uid>/: etc-hosts, a token volume's namespace.
  FakeNode node3;
  KubeMetadata meta3(node3.root());
  const std::string pod_dir = absl::StrCat("var/lib/kubelet/pods/", kUid);
  node3.Write(pod_dir + "/etc-hosts",
              "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost "
              "ip6-localhost "
              "ip6-loopback\nfe00::0\tip6-localnet\n10.244.1.7\tcache-0.cache.data.svc.cluster."
              "local\tcache-0\n");
  node3.Write(pod_dir + "/volumes/kubernetes.io~projected/kube-api-access-x7k2p/namespace",
              "data\n");
  node3.Mkdir(pod_dir + "/containers/redis");
  k = meta3.Lookup(Ref(""), 0);
  REQUIRE(k);
  CHECK(k->pod == "cache-0");
  CHECK(k->pod_namespace == "data");
  CHECK(k->container == "redis");
  CHECK(k->source == "kubelet");

  // A host-network pod's etc-hosts is the node's: no pod name from it.
  FakeNode node4;
  KubeMetadata meta4(node4.root());
  node4.Write(
      pod_dir + "/etc-hosts",
      "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n10.0.0.5 node-a\n");
  CHECK_FALSE(meta4.Lookup(Ref(""), 0));
  CHECK(meta4.stats().not_found == 1);
}

TEST_CASE("KubeMetadata: oversized, garbage and hostile files are counted, never trusted",
          "[process][k8s]") {
  FakeNode node;
  KubeMetadata meta(node.root());
  // Oversized: a valid document past the cap.
  std::string big = ContainerdConfig("big", "ns", "c");
  big.insert(1, absl::StrCat(R"("pad":")", std::string(kMaxConfigBytes, 'x'), R"(",)"));
  node.Write(kContainerdDir + kId + "/config.json", big);
  CHECK_FALSE(meta.Lookup(Ref("containerd"), 0));
  CHECK(meta.stats().oversized == 1);
  // Garbage.
  node.Write(kContainerdDir + kId2 + "/config.json",
             "\x7f"
             "ELF\x01\x02 not json {{{{");
  CHECK_FALSE(meta.Lookup(Ref("containerd", kId2), 0));
  CHECK(meta.stats().bad_files == 1);
  // Deeply nested.
  const std::string deep_id(64, '1');
  node.Write(kContainerdDir + deep_id + "/config.json",
             absl::StrCat(R"({"annotations":)", std::string(50000, '['), "}"));
  CHECK_FALSE(meta.Lookup(Ref("containerd", deep_id), 0));
  CHECK(meta.stats().bad_files == 2);
  // Names with control characters or spaces are refused.
  const std::string evil_id(64, '2');
  node.Write(kContainerdDir + evil_id + "/config.json",
             ContainerdConfig("evil\\u001b[31mred", "ns", "c"));
  CHECK_FALSE(meta.Lookup(Ref("containerd", evil_id), 0));
  CHECK(meta.stats().bad_files == 3);
  // A config.json that is a directory or a FIFO is not read.
  const std::string dir_id(64, '3');
  node.Mkdir(kContainerdDir + dir_id + "/config.json");
  CHECK_FALSE(meta.Lookup(Ref("containerd", dir_id), 0));
  const std::string fifo_id(64, '4');
  node.Mkdir(kContainerdDir + fifo_id);
  REQUIRE(mkfifo((fs::path(node.root()) / kContainerdDir / fifo_id / "config.json").c_str(),
                 0600) == 0);
  CHECK_FALSE(meta.Lookup(Ref("containerd", fifo_id), 0));
  CHECK(meta.stats().not_found == 6);
  CHECK(meta.stats().found == 0);
}

TEST_CASE("KubeMetadata: a miss is asked again later; the cache is bounded", "[process][k8s]") {
  FakeNode node;
  KubeMetadata meta(node.root());
  CHECK_FALSE(meta.Lookup(Ref("containerd"), 0));
  // The bundle appears (the container was starting).
  node.Write(kContainerdDir + kId + "/config.json", ContainerdConfig("late-1", "ns", "c"));
  CHECK_FALSE(meta.Lookup(Ref("containerd"), kRetryUs - 1));  // Still the cached miss.
  CHECK(meta.stats().lookups == 1);
  auto k = meta.Lookup(Ref("containerd"), kRetryUs);
  REQUIRE(k);
  CHECK(k->pod == "late-1");
  // A partial answer (the pod's log directory made, its container's not
  // yet) is asked again too, and then completed; a complete one is not.
  FakeNode node2;
  KubeMetadata meta2(node2.root());
  const std::string pod_logs = absl::StrCat("var/log/pods/shop_web-2_", kUid);
  node2.Mkdir(pod_logs);
  k = meta2.Lookup(Ref("containerd"), 0);
  REQUIRE(k);
  CHECK(k->pod == "web-2");
  CHECK(k->container.empty());
  node2.Mkdir(pod_logs + "/nginx");
  CHECK(meta2.Lookup(Ref("containerd"), kRetryUs - 1)->container.empty());  // Cached.
  k = meta2.Lookup(Ref("containerd"), kRetryUs);
  REQUIRE(k);
  CHECK(k->container == "nginx");
  CHECK(meta2.stats().lookups == 2);
  meta2.Lookup(Ref("containerd"), 100 * kRetryUs);
  CHECK(meta2.stats().lookups == 2);  // Complete: cached for good.

  // Bounded: past kMaxCached entries the cache starts over (counted).
  for (size_t i = 0; i < kMaxCached + 10; ++i) {
    std::string id = absl::StrCat(i);
    id.insert(0, 64 - id.size(), 'f');
    meta.Lookup(Ref("containerd", id), 0);
  }
  CHECK(meta.stats().evicted >= kMaxCached);
  CHECK(meta.stats().lookups == kMaxCached + 12);
}

TEST_CASE("ProcessTable: a pod's process carries its pod, namespace and container",
          "[process][k8s]") {
  FakeNode proc;  // A canned /proc ...
  FakeNode node;  // ... and node.
  proc.Write("stat", "cpu 1 2 3\nbtime 1700000000\n");
  auto add = [&](int pid, const std::string& cgroup, uint64_t inode) {
    const std::string d = absl::StrCat(pid);
    proc.Write(d + "/stat",
               absl::StrCat(d, " (app) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 100 10\n"));
    proc.Write(d + "/comm", "app\n");
    proc.Write(d + "/cmdline", "app");
    proc.Write(d + "/cgroup", cgroup);
    proc.Write(d + "/status", "Name:\tapp\nUid:\t0\t0\t0\t0\n");
    proc.Mkdir(d + "/fd");
    fs::create_symlink(absl::StrCat("socket:[", inode, "]"),
                       fs::path(proc.root()) / d / "fd" / "3");
  };
  add(100,
      absl::StrCat("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod",
                   kUidUnderscore, ".slice/cri-containerd-", kId, ".scope\n"),
      5001);
  add(200, absl::StrCat("0::/kubepods/burstable/pod", kUid, "/", kId2, "\n"), 5002);
  add(300, "0::/system.slice/nginx.service\n", 5003);
  node.Write(kContainerdDir + kId + "/config.json", ContainerdConfig("web-1", "shop", "nginx"));
  node.Write(kContainerdDir + kId2 + "/config.json", ContainerdConfig("web-1", "shop", "envoy"));

  ProcessTable table(proc.root(), node.root());
  absl::flat_hash_map<uint64_t, std::shared_ptr<const ProcessRecord>> found;
  table.Resolve({{5001, 0}, {5002, 0}, {5003, 0}}, &found, 1'000'000);
  REQUIRE(found.size() == 3);
  CHECK(found[5001]->k8s_pod == "web-1");
  CHECK(found[5001]->k8s_namespace == "shop");
  CHECK(found[5001]->k8s_container == "nginx");
  CHECK(found[5001]->k8s_pod_uid == kUid);
  CHECK(found[5001]->container_runtime == "containerd");
  CHECK(found[5002]->k8s_container == "envoy");
  // cgroupfs does not name the runtime; the bundle that answered does.
  CHECK(found[5002]->container_runtime == "containerd");
  CHECK(found[5003]->k8s_pod_uid.empty());
  CHECK(found[5003]->k8s_pod.empty());
  CHECK(table.kube_stats().found == 2);
}

}  // namespace
}  // namespace rustnet
