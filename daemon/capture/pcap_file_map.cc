#include "daemon/capture/pcap_file_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

constexpr uint32_t kMagicMicros = 0xa1b2c3d4;
constexpr uint32_t kMagicNanos = 0xa1b23c4d;

}  // namespace

std::unique_ptr<PcapFileMap> PcapFileMap::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) >= kFileHeaderBytes) {
    map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  }
  close(fd);  // The mapping keeps the file.
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
  madvise(map, size, MADV_SEQUENTIAL);
  return std::unique_ptr<PcapFileMap>(new PcapFileMap(base, size, swapped, nanos));
}

PcapFileMap::PcapFileMap(const uint8_t* base, size_t size, bool swapped, bool nanos)
    : base_(base), size_(size), swapped_(swapped), nanos_(nanos) {}

PcapFileMap::~PcapFileMap() { munmap(const_cast<uint8_t*>(base_), size_); }

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
