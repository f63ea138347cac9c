// Thread-safety: one thread (see cgroup_ids.h).
#include "daemon/process/cgroup_ids.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rustnet {

CgroupIdResolver::CgroupIdResolver(int root_fd, Options options)
    : root_fd_(root_fd), options_(options) {}

CgroupIdResolver::~CgroupIdResolver() {
  if (root_fd_ >= 0) close(root_fd_);
}

std::optional<std::string> CgroupIdResolver::Lookup(uint64_t id, int64_t now_us) {
  ++stats_.lookups;
  if (id == 0 || root_fd_ < 0) {
    ++stats_.misses;
    return std::nullopt;
  }
  auto it = cache_.find(id);
  if (it == cache_.end()) {
    if (now_us - last_walk_us_ < options_.rescan_interval_us) {
      ++stats_.misses;
      return std::nullopt;
    }
    last_walk_us_ = now_us;
    if (!Walk(id)) {
      ++stats_.misses;
      return std::nullopt;
    }
    it = cache_.find(id);
  }
  ++stats_.resolved;
  return it->second;
}

bool CgroupIdResolver::Walk(uint64_t want) {
  ++stats_.walks;
  absl::flat_hash_map<uint64_t, std::string> fresh;
  std::string found;
  bool have = false;
  size_t dirs = 0;
  bool truncated = false;
  struct stat st;
  if (fstat(root_fd_, &st) == 0) {
    // push_back, not = "/": GCC 12 at -O3 warns falsely (-Wrestrict) on
    // assigning a one-character literal.
    fresh[st.st_ino].push_back('/');
    if (st.st_ino == want) {
      found.push_back('/');
      have = true;
    }
  }
  // A descriptor of its own (not a dup: that would share the read offset).
  const int fd = openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    WalkDir(fd, "", 1, want, &fresh, &found, &dirs, &truncated);
    have = have || !found.empty();
  }
  if (truncated) ++stats_.walks_truncated;
  if (have && !fresh.contains(want)) {
    // The cache was full before the walk reached it: it replaces another.
    if (!fresh.empty() && fresh.size() >= options_.max_cached) fresh.erase(fresh.begin());
    fresh[want] = found;
  }
  cache_ = std::move(fresh);
  stats_.cached = cache_.size();
  return have;
}

void CgroupIdResolver::WalkDir(int dir_fd, const std::string& path, int depth, uint64_t want,
                               absl::flat_hash_map<uint64_t, std::string>* out, std::string* found,
                               size_t* dirs, bool* truncated) {
  DIR* dir = fdopendir(dir_fd);
  if (dir == nullptr) {
    close(dir_fd);
    return;
  }
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.' &&
        (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    // Controller files (most entries) are skipped without a stat.
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
      continue;
    }
    // A directory past the last level is only seen (one level more is
    // opened) to know that the walk did not cover everything.
    if (*dirs >= options_.max_walk_dirs || depth > kMaxDepth) {
      *truncated = true;
      break;
    }
    ++*dirs;
    std::string child = absl::StrCat(path, "/", e->d_name);
    const uint64_t id = st.st_ino;
    if (id == want) *found = child;
    if (out->size() < options_.max_cached) (*out)[id] = child;
    const int fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) WalkDir(fd, child, depth + 1, want, out, found, dirs, truncated);
  }
  closedir(dir);
}

}  // namespace rustnet
