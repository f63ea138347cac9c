#include "daemon/capture/pcap_file_map.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

constexpr uint32_t kMagicMicros = 0xa1b2c3d4;
constexpr uint32_t kMagicNanos = 0xa1b23c4d;

// The SIGBUS guard: the live mappings, read by the handler. A slot is
// claimed (begin set last, released first) by Open/~PcapFileMap; the
// handler reads only atomics and calls only mmap and sigaction, which are
// system calls.
constexpr int kGuardSlots = 64;
struct GuardSlot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> faulted{false};
  std::atomic<bool> used{false};
};
GuardSlot g_guard[kGuardSlots];
struct sigaction g_previous_bus {};
std::once_flag g_guard_installed;
uintptr_t g_page_mask = ~static_cast<uintptr_t>(4095);  // Set before the handler is.

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (GuardSlot& slot : g_guard) {
    const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin || addr >= slot.end.load(std::memory_order_relaxed)) continue;
    // Zeros from the faulting page to the mapping's end; the faulting
    // read is then retried and succeeds.
    const uintptr_t page = addr & g_page_mask;
    const uintptr_t end = slot.end.load(std::memory_order_relaxed);
    slot.faulted.store(true, std::memory_order_release);
    if (mmap(reinterpret_cast<void*>(page), end - page, PROT_READ,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
      return;
    }
    break;  // Cannot mend it: as if unguarded.
  }
  // Not ours: whatever handled SIGBUS before us.
  if ((g_previous_bus.sa_flags & SA_SIGINFO) != 0 && g_previous_bus.sa_sigaction != nullptr) {
    g_previous_bus.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous_bus.sa_handler != SIG_DFL && g_previous_bus.sa_handler != SIG_IGN) {
    g_previous_bus.sa_handler(sig);
    return;
  }
  // The default: returning re-runs the faulting access, which then kills
  // the process as SIGBUS always would.
  signal(SIGBUS, SIG_DFL);
}

int GuardMapping(const uint8_t* base, size_t size) {
  std::call_once(g_guard_installed, [] {
    g_page_mask = ~(static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)) - 1);
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous_bus);
  });
  for (int i = 0; i < kGuardSlots; ++i) {
    bool expected = false;
    if (!g_guard[i].used.compare_exchange_strong(expected, true)) continue;
    g_guard[i].faulted.store(false, std::memory_order_relaxed);
    g_guard[i].end.store(reinterpret_cast<uintptr_t>(base) + size, std::memory_order_relaxed);
    g_guard[i].begin.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
    return i;
  }
  return -1;  // 64 files mapped at once: this one is not guarded (not mapped, see Open).
}

void UnguardMapping(int slot) {
  if (slot < 0) return;
  g_guard[slot].begin.store(0, std::memory_order_release);
  g_guard[slot].used.store(false, std::memory_order_release);
}

}  // namespace

std::unique_ptr<PcapFileMap> PcapFileMap::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto map = Open(fd);
  close(fd);  // The mapping keeps the file.
  return map;
}

std::unique_ptr<PcapFileMap> PcapFileMap::Open(int fd) {
  struct stat st {};
  void* map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) >= kFileHeaderBytes) {
    map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  }
  if (map == MAP_FAILED) return nullptr;
  const auto* base = static_cast<const uint8_t*>(map);
  const auto size = static_cast<size_t>(st.st_size);
  uint32_t magic = 0;
  std::memcpy(&magic, base, sizeof magic);
  const uint32_t swapped_magic = __builtin_bswap32(magic);
  bool swapped = false;
  bool nanos = false;
  if (magic == kMagicMicros || magic == kMagicNanos) {
    nanos = magic == kMagicNanos;
  } else if (swapped_magic == kMagicMicros || swapped_magic == kMagicNanos) {
    swapped = true;
    nanos = swapped_magic == kMagicNanos;
  } else {
    munmap(map, size);
    return nullptr;
  }
  const int slot = GuardMapping(base, size);
  if (slot < 0) {
    munmap(map, size);
    return nullptr;  // libpcap reads it instead (through read(), no SIGBUS).
  }
  madvise(map, size, MADV_SEQUENTIAL);
  auto out = std::unique_ptr<PcapFileMap>(new PcapFileMap(base, size, swapped, nanos));
  out->guard_slot_ = slot;
  return out;
}

bool PcapFileMap::faulted() const {
  return guard_slot_ >= 0 && g_guard[guard_slot_].faulted.load(std::memory_order_acquire);
}

PcapFileMap::PcapFileMap(const uint8_t* base, size_t size, bool swapped, bool nanos)
    : base_(base), size_(size), swapped_(swapped), nanos_(nanos) {}

PcapFileMap::~PcapFileMap() {
  UnguardMapping(guard_slot_);
  munmap(const_cast<uint8_t*>(base_), size_);
}

void PcapFileMap::Release(const uint8_t* p) {
  if (p < base_ || p > base_ + size_) return;
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t end = static_cast<size_t>(p - base_) / page * page;
  // In steps of 8 MiB at least: one call per step.
  if (end < released_ + (8u << 20)) return;
  madvise(const_cast<uint8_t*>(base_) + released_, end - released_, MADV_DONTNEED);
  released_ = end;
}

uint32_t PcapFileMap::U32(size_t offset) const {
  uint32_t v = 0;
  std::memcpy(&v, base_ + offset, sizeof v);
  return swapped_ ? __builtin_bswap32(v) : v;
}

PcapFileMap::Result PcapFileMap::Next(Record* out) {
  if (!error_.empty()) return Result::kError;
  const size_t left = size_ - offset_;
  if (left == 0) return Result::kEnd;
  if (left < kRecordHeaderBytes) {
    error_ = absl::StrCat("truncated dump file; tried to read ", kRecordHeaderBytes,
                          " header bytes, only got ", left);
    return Result::kError;
  }
  const uint32_t ts_sec = U32(offset_);
  const uint32_t ts_frac = U32(offset_ + 4);
  const uint32_t caplen = U32(offset_ + 8);
  const uint32_t len = U32(offset_ + 12);
  if (faulted()) {
    // (Checked after reading the header: a read that faulted just now is
    // seen here. Records before were whole when they were read.)
    error_ = "the capture file stopped being readable part-way: it was truncated or rewritten while "
             "being read, or the disk failed; replay a copy that nothing writes to";
    return Result::kError;
  }
  if (caplen > max_caplen_) {
    // libpcap names the snapshot length when the record exceeds it too
    // (always, as the snapshot length is at most the maximum).
    error_ = caplen > snaplen_
                 ? absl::StrCat("invalid packet capture length ", caplen,
                                ", bigger than snaplen of ", snaplen_)
                 : absl::StrCat("invalid packet capture length ", caplen,
                                ", bigger than maximum of ", max_caplen_);
    return Result::kError;
  }
  const size_t body = left - kRecordHeaderBytes;
  if (caplen > body) {
    // (Beyond the snapshot length libpcap reads that much first.)
    const uint32_t wanted = body < snaplen_ ? std::min(caplen, snaplen_) : caplen;
    error_ = absl::StrCat("truncated dump file; tried to read ", wanted,
                          " captured bytes, only got ", body);
    return Result::kError;
  }
  out->ts_sec = ts_sec;
  out->ts_usec = nanos_ ? ts_frac / 1000 : ts_frac;
  // Beyond the file's snapshot length: the rest is skipped (as libpcap does).
  out->caplen = std::min(caplen, snaplen_);
  out->len = len;
  out->data = base_ + offset_ + kRecordHeaderBytes;
  offset_ += kRecordHeaderBytes + caplen;
  return Result::kRecord;
}

}  // namespace rustnet
