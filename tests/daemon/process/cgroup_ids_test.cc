// CgroupIdResolver on a fake hierarchy of real temporary directories: a
// cgroup's id is its directory's inode number, as on cgroup v2. Nested
// paths, ids not (or no longer) there, the cache bound, the rescan
// throttle, the depth and directory bounds; and ProcessTable::ForSocketOwner
// giving an exited process its unit, container and pod from its cgroup id.
#include "daemon/process/cgroup_ids.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "daemon/process/process_table.h"

namespace rustnet {
namespace {

namespace fs = std::filesystem;

class FakeCgroups {
 public:
  FakeCgroups() {
    char tmpl[] = "/tmp/rn-cgids-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
  }
  ~FakeCgroups() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }
  // Makes `rel` (and its parents) with a controller file; returns its id.
  uint64_t Mkdir(const std::string& rel) const {
    const fs::path p = fs::path(root_) / rel;
    fs::create_directories(p);
    std::ofstream(p / "cgroup.procs") << "";
    return Id(rel);
  }
  uint64_t Id(const std::string& rel) const {
    struct stat st;
    REQUIRE(stat((fs::path(root_) / rel).c_str(), &st) == 0);
    return st.st_ino;
  }
  int Open() const { return open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

 private:
  std::string root_;
};

TEST_CASE("CgroupIdResolver: nested cgroups by inode; the root is /", "[process][cgroup_ids]") {
  FakeCgroups cg;
  const std::string pod =
      "kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-podabc.slice";
  const uint64_t scope =
      cg.Mkdir(absl::StrCat(pod, "/cri-containerd-", std::string(64, 'a'), ".scope"));
  const uint64_t slice = cg.Id("kubepods.slice");
  const uint64_t unit = cg.Mkdir("system.slice/nginx.service");
  CgroupIdResolver r(cg.Open(), {});
  CHECK(r.Lookup(scope, 0) ==
        absl::StrCat("/", pod, "/cri-containerd-", std::string(64, 'a'), ".scope"));
  // The rest from the same walk's cache.
  CHECK(r.Lookup(slice, 1) == "/kubepods.slice");
  CHECK(r.Lookup(unit, 2) == "/system.slice/nginx.service");
  CHECK(r.Lookup(cg.Id("."), 3) == "/");
  CHECK(r.stats().walks == 1);
  CHECK(r.stats().resolved == 4);
  CHECK(r.stats().misses == 0);
  CHECK(r.stats().walks_truncated == 0);
  CHECK(r.stats().cached == 7);  // root, 4 directories of the pod, 2 of the unit
}

TEST_CASE("CgroupIdResolver: a missing id walks again at most once per interval",
          "[process][cgroup_ids]") {
  FakeCgroups cg;
  cg.Mkdir("a");
  CgroupIdResolver r(
      cg.Open(), {.max_cached = 16384, .max_walk_dirs = 100'000, .rescan_interval_us = 1'000'000});
  const uint64_t nowhere = cg.Id("a") + 1'000'000'007;  // No directory has it.
  CHECK_FALSE(r.Lookup(nowhere, 10'000'000));
  CHECK(r.stats().walks == 1);
  // A cgroup made now: not found within the interval (no walk), found after.
  const uint64_t b = cg.Mkdir("a/b");
  CHECK_FALSE(r.Lookup(b, 10'500'000));
  CHECK_FALSE(r.Lookup(nowhere, 10'900'000));
  CHECK(r.stats().walks == 1);
  CHECK(r.stats().misses == 3);
  CHECK(r.Lookup(b, 11'000'000) == "/a/b");
  CHECK(r.stats().walks == 2);
  // A removed cgroup stays known until a walk replaces the cache.
  fs::remove_all(fs::path(cg.root()) / "a/b");
  CHECK(r.Lookup(b, 11'100'000) == "/a/b");
  CHECK_FALSE(r.Lookup(nowhere, 12'200'000));
  CHECK(r.stats().walks == 3);
  CHECK_FALSE(r.Lookup(b, 12'300'000));  // Gone from the new cache; throttled.
  CHECK(r.stats().walks == 3);
  CHECK_FALSE(r.Lookup(0, 20'000'000));  // 0: no id, no walk.
  CHECK(r.stats().walks == 3);
}

TEST_CASE("CgroupIdResolver: the cache is bounded and keeps the id asked for",
          "[process][cgroup_ids]") {
  FakeCgroups cg;
  for (int i = 0; i < 40; ++i) cg.Mkdir(absl::StrCat("d", i));
  const uint64_t deep = cg.Mkdir("z/y/x");
  CgroupIdResolver r(cg.Open(),
                     {.max_cached = 8, .max_walk_dirs = 100'000, .rescan_interval_us = 1'000'000});
  CHECK(r.Lookup(deep, 0) == "/z/y/x");
  CHECK(r.stats().cached <= 8);
  CHECK(r.stats().walks_truncated == 0);  // All were walked, not all kept.
  // Every directory can still be found, one walk each (past the interval).
  int64_t now = 0;
  for (int i = 0; i < 40; ++i) {
    now += 1'000'000;
    CHECK(r.Lookup(cg.Id(absl::StrCat("d", i)), now) == absl::StrCat("/d", i));
    CHECK(r.stats().cached <= 8);
  }
}

TEST_CASE("CgroupIdResolver: depth and directory bounds cut the walk, counted",
          "[process][cgroup_ids]") {
  FakeCgroups cg;
  std::string rel = "l1";
  for (int i = 2; i <= CgroupIdResolver::kMaxDepth + 2; ++i) rel += absl::StrCat("/l", i);
  cg.Mkdir(rel);
  std::string at16 = "l1";
  for (int i = 2; i <= CgroupIdResolver::kMaxDepth; ++i) at16 += absl::StrCat("/l", i);
  {
    CgroupIdResolver r(cg.Open(), {});
    CHECK(r.Lookup(cg.Id(at16), 0) == absl::StrCat("/", at16));
    CHECK(r.stats().walks_truncated == 1);
    CHECK_FALSE(r.Lookup(cg.Id(at16 + "/l17"), 2'000'000));  // Too deep.
    CHECK(r.stats().walks_truncated == 2);
  }
  {
    CgroupIdResolver r(cg.Open(),
                       {.max_cached = 16384, .max_walk_dirs = 3, .rescan_interval_us = 1'000'000});
    CHECK(r.Lookup(cg.Id("l1/l2/l3"), 0) == "/l1/l2/l3");
    CHECK_FALSE(r.Lookup(cg.Id("l1/l2/l3/l4"), 2'000'000));
    CHECK(r.stats().walks_truncated == 2);
  }
}

TEST_CASE("CgroupIdResolver: without a root descriptor every lookup misses",
          "[process][cgroup_ids]") {
  CgroupIdResolver r(-1, {});
  CHECK_FALSE(r.Lookup(1, 0));
  CHECK(r.stats().misses == 1);
  CHECK(r.stats().walks == 0);
}

TEST_CASE(
    "ProcessTable: an exited socket owner's unit, container and pod from "
    "its cgroup id",
    "[process][cgroup_ids]") {
  FakeCgroups cg;
  const std::string uid = "5f0c3a2e-8b1d-4c7e-9a21-0d3e4f5a6b7c";
  const std::string cid(64, 'b');
  const uint64_t scope =
      cg.Mkdir(absl::StrCat("kubepods.slice/kubepods-besteffort.slice/"
                            "kubepods-besteffort-pod5f0c3a2e_8b1d_4c7e_9a21_"
                            "0d3e4f5a6b7c.slice/cri-containerd-",
                            cid, ".scope"));
  const uint64_t unit = cg.Mkdir("system.slice/nginx.service");
  // The node's containerd bundle for that container (kubernetes.h).
  FakeCgroups node;
  const fs::path bundle =
      fs::path(node.root()) / "run/containerd/io.containerd.runtime.v2.task/k8s.io" / cid;
  fs::create_directories(bundle);
  std::ofstream(bundle / "config.json")
      << R"({"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container",)"
      << R"("io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop",)"
      << R"("io.kubernetes.cri.sandbox-uid":")" << uid
      << R"(","io.kubernetes.cri.container-name":"nginx"}})";
  // An empty /proc: every pid is gone.
  FakeCgroups proc;
  ProcessTable table(proc.root(), node.root());
  table.SetCgroupIds(std::make_unique<CgroupIdResolver>(cg.Open(), CgroupIdResolver::Options{}));
  const std::array<uint32_t, 4> ppid{};
  auto r = table.ForSocketOwner(4242, "curl", 1000, ppid, 0, scope);
  REQUIRE(r);
  CHECK(r->exited.load());
  CHECK(r->pid == 4242);
  CHECK(r->name == "curl");
  CHECK(r->container_runtime == "containerd");
  CHECK(r->container_id == cid);
  CHECK(r->k8s_pod_uid == uid);
  CHECK(r->k8s_pod == "web-0");
  CHECK(r->k8s_namespace == "shop");
  CHECK(r->k8s_container == "nginx");
  CHECK(r->unit == absl::StrCat("cri-containerd-", cid, ".scope"));
  auto s = table.ForSocketOwner(4243, "nginx", 33, ppid, 0, unit);
  REQUIRE(s);
  CHECK(s->unit == "nginx.service");
  CHECK(s->cgroup == "/system.slice/nginx.service");
  CHECK(s->k8s_pod.empty());
  // An unknown id (or none) leaves only what the record carried.
  auto t = table.ForSocketOwner(4244, "x", 0, ppid, 0, 0);
  REQUIRE(t);
  CHECK(t->cgroup.empty());
  REQUIRE(table.cgroup_id_stats() != nullptr);
  CHECK(table.cgroup_id_stats()->resolved == 2);
}

}  // namespace
}  // namespace rustnet
