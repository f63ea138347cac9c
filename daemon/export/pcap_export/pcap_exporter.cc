#include "daemon/export/pcap_export/pcap_exporter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/export/pcap_export/pcapng.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

// Annotations kept per worker ahead of the frames (live, those of frames
// the export dropped are skipped when the next frame comes); beyond, the
// oldest go.
constexpr size_t kMaxPending = 1 << 16;
// Buffered blocks are written once they are this big (and after every
// batch of frames).
constexpr size_t kFlushBytes = 256 * 1024;

void AppendProcess(const char* label, const ProcessRecord& p, std::string* out) {
  absl::StrAppend(out, "; ", label, " ",
                  pcapng::SanitizeUtf8(std::string_view(p.name).substr(0, 256)));
  if (p.pid != 0) absl::StrAppend(out, " (pid ", p.pid, ")");
}

std::string CommentOf(const PacketAnnotation& a) {
  if (a.connection_id == 0) return {};
  std::string out = absl::StrCat("rustnet: connection ", a.connection_id);
  if (a.attribution) {
    const SideAttribution& mine = a.attribution->side[a.local & 1];
    const SideAttribution& theirs = a.attribution->side[1 - (a.local & 1)];
    if (mine.process) AppendProcess("process", *mine.process, &out);
    if (theirs.process) AppendProcess("remote process", *theirs.process, &out);
  }
  return out;
}

}  // namespace

std::string PcapExporter::FileName(const std::string& path, size_t n) {
  return n == 0 ? path : absl::StrCat(path, ".", n);
}

PcapExporter::PcapExporter(PcapExportOptions options, PacketExport* queues)
    : options_(std::move(options)), queues_(queues), pending_(queues->workers()) {
  pcapng::AppendSectionHeader(options_.application, &headers_);
  pcapng::AppendInterfaceDescription(options_.link_type, options_.snaplen, options_.interface,
                                     &headers_);
}

absl::StatusOr<std::unique_ptr<PcapExporter>> PcapExporter::Open(PcapExportOptions options,
                                                                  PacketExport* queues) {
  if (options.max_files == 0) options.max_files = 1;
  std::unique_ptr<PcapExporter> e(new PcapExporter(std::move(options), queues));
  e->Rotate();
  e->rotations_.store(0, std::memory_order_relaxed);  // The first file is no rotation.
  e->Flush();  // Its headers.
  if (e->failing_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write the pcap export ", e->options_.path, ": ",
                     std::strerror(e->last_errno_),
                     "; check that its directory exists and rustnetd may write there"));
  }
  e->thread_ = std::thread([p = e.get()] { p->Run(); });
  return e;
}

PcapExporter::~PcapExporter() { Finish(); }

void PcapExporter::Finish() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    Flush();
    close(fd_);
    fd_ = -1;
  }
}

PcapExportStats PcapExporter::stats() const {
  PcapExportStats s;
  s.written = written_.load(std::memory_order_relaxed);
  s.dropped = queues_->dropped();
  s.unannotated = unannotated_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.rotations = rotations_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&error_mu_);
  s.healthy = healthy_;
  s.last_error = last_error_;
  return s;
}

void PcapExporter::Fail(const std::string& what, int err) {
  const std::string message =
      absl::StrCat("pcap export: cannot ", what, ": ", std::strerror(err),
                   "; frames are dropped from the export until it can write again");
  {
    absl::MutexLock lock(&error_mu_);
    last_error_ = message;
    healthy_ = false;
  }
  last_errno_ = err;
  if (!failing_) spdlog::error("{}", message);  // Once per failure, not per attempt.
  failing_ = true;
  retry_at_ = absl::Now() + options_.retry_every;
}

bool PcapExporter::OpenFile() {
  fd_ = open(options_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    Fail(absl::StrCat("create ", options_.path), errno);
    return false;
  }
  file_bytes_ = 0;
  need_headers_ = true;
  return true;
}

bool PcapExporter::Rotate() {
  if (fd_ >= 0) {
    Flush();
    close(fd_);
    fd_ = -1;
  }
  // Oldest first: FILE.(n-1) goes, FILE.k becomes FILE.(k+1), FILE becomes FILE.1.
  // Only regular files: /dev/null or a FIFO stays where it is.
  const size_t n = options_.max_files;
  struct stat st {};
  if (stat(options_.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    rotating_ = false;
  } else if (access(options_.path.c_str(), F_OK) == 0) {
    if (n == 1) {
      unlink(options_.path.c_str());
    } else {
      unlink(FileName(options_.path, n - 1).c_str());
      for (size_t k = n - 1; k-- > 1;) {
        rename(FileName(options_.path, k).c_str(), FileName(options_.path, k + 1).c_str());
      }
      rename(options_.path.c_str(), FileName(options_.path, 1).c_str());
    }
  }
  file_frames_ = 0;
  if (!OpenFile()) return false;
  rotations_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void PcapExporter::DropBuffer() {
  write_errors_.fetch_add(buffer_frames_, std::memory_order_relaxed);
  file_frames_ -= std::min(file_frames_, buffer_frames_);
  buffer_frames_ = 0;
  buffer_.clear();
  pieces_.clear();
  buffered_bytes_ = 0;
}

void PcapExporter::AddPiece(const uint8_t* data, size_t offset, size_t len) {
  if (len == 0) return;
  buffered_bytes_ += len;
  if (data == nullptr && !pieces_.empty() && pieces_.back().data == nullptr &&
      pieces_.back().offset + pieces_.back().len == offset) {
    pieces_.back().len += len;  // Contiguous in buffer_: one piece.
    return;
  }
  pieces_.push_back(Piece{data, offset, len});
}

bool PcapExporter::WriteAll(const std::string& data) {
  pieces_scratch_.clear();
  pieces_scratch_.push_back(
      iovec{const_cast<char*>(data.data()), data.size()});  // writev does not write to it.
  return WriteVector(&pieces_scratch_, data.size());
}

bool PcapExporter::WritePieces() {
  pieces_scratch_.clear();
  pieces_scratch_.reserve(pieces_.size());
  for (const Piece& p : pieces_) {
    const char* base = p.data != nullptr ? reinterpret_cast<const char*>(p.data)
                                         : buffer_.data() + p.offset;
    pieces_scratch_.push_back(iovec{const_cast<char*>(base), p.len});
  }
  return WriteVector(&pieces_scratch_, buffered_bytes_);
}

bool PcapExporter::WriteVector(std::vector<iovec>* iov, size_t bytes) {
  size_t done = 0;
  size_t first = 0;  // The first iovec not yet written whole.
  while (done < bytes) {
    const int count = static_cast<int>(std::min<size_t>(iov->size() - first, 512));
    const ssize_t n = writev(fd_, iov->data() + first, count);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      done += static_cast<size_t>(n);
      // Skip what was written: whole iovecs, then part of the next.
      auto left = static_cast<size_t>(n);
      while (first < iov->size() && left >= (*iov)[first].iov_len) {
        left -= (*iov)[first].iov_len;
        ++first;
      }
      if (left > 0) {
        (*iov)[first].iov_base = static_cast<char*>((*iov)[first].iov_base) + left;
        (*iov)[first].iov_len -= left;
      }
      continue;
    }
    const int err = n < 0 ? errno : ENOSPC;
    // Cut the partial block off: the file stays a valid pcapng, and the
    // next write starts where it ended. (A device or FIFO has no such
    // thing.)
    if (rotating_) {
      const bool cut = ftruncate(fd_, static_cast<off_t>(file_bytes_)) == 0;
      const bool moved = lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET) >= 0;
      if (!cut || !moved) {
        spdlog::debug("pcap export: cannot cut {} back: {}", options_.path, std::strerror(errno));
      }
    }
    Fail(absl::StrCat("write ", options_.path), err);
    return false;
  }
  file_bytes_ += bytes;
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

void PcapExporter::Flush() {
  if (pieces_.empty() && (fd_ < 0 || !need_headers_)) return;
  if (failing_ && absl::Now() < retry_at_) {
    DropBuffer();
    return;
  }
  if (fd_ < 0 && !OpenFile()) {
    DropBuffer();
    return;
  }
  if (need_headers_) {
    if (!WriteAll(headers_)) {
      DropBuffer();
      return;
    }
    need_headers_ = false;
  }
  if (!WritePieces()) {
    DropBuffer();
    return;
  }
  written_.fetch_add(buffer_frames_, std::memory_order_relaxed);
  buffer_.clear();
  pieces_.clear();
  buffered_bytes_ = 0;
  buffer_frames_ = 0;
  if (failing_) {
    failing_ = false;
    {
      absl::MutexLock lock(&error_mu_);
      healthy_ = true;
    }
    spdlog::info("pcap export: writing {} again", options_.path);
  }
}

bool PcapExporter::Drain(size_t w) {
  bool any = false;
  while (std::optional<AnnotationBatch*> b = queues_->PopAnnotations(w)) {
    any = true;
    std::deque<PacketAnnotation>& pending = pending_[w];
    for (PacketAnnotation& a : (*b)->annotations) {
      if (pending.size() >= kMaxPending) pending.pop_front();
      pending.push_back(std::move(a));
    }
    (*b)->annotations.clear();
    queues_->ReturnAnnotations(w, *b);
  }
  return any;
}

void PcapExporter::DrainAll() {
  for (size_t w = 0; w < pending_.size(); ++w) Drain(w);
}

std::string PcapExporter::CommentFor(const ExportFrame& f) {
  if (f.worker < 0 || static_cast<size_t>(f.worker) >= pending_.size()) return {};
  const auto w = static_cast<size_t>(f.worker);
  std::deque<PacketAnnotation>& pending = pending_[w];
  absl::Time deadline = absl::InfiniteFuture();
  int64_t sleep_us = 20;
  for (;;) {
    while (!pending.empty() && pending.front().seq < f.seq) pending.pop_front();  // Stale.
    if (!pending.empty()) {
      if (pending.front().seq != f.seq) {
        unannotated_.fetch_add(1, std::memory_order_relaxed);  // Lost.
        return {};
      }
      std::string comment = CommentOf(pending.front());
      pending.pop_front();
      return comment;
    }
    // Watermark first: annotations published before it are in the queue.
    const uint64_t watermark = queues_->watermark(w);
    if (Drain(w)) continue;
    if (watermark >= f.seq) {
      unannotated_.fetch_add(1, std::memory_order_relaxed);  // Processed, but lost.
      return {};
    }
    // The worker has not got there yet. Other workers may wait for room
    // (replayed files): keep taking theirs.
    DrainAll();
    if (!pending.empty()) continue;
    const absl::Time now = absl::Now();
    if (deadline == absl::InfiniteFuture()) deadline = now + options_.annotation_wait;
    if (now >= deadline) {
      unannotated_.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    absl::SleepFor(absl::Microseconds(sleep_us));
    sleep_us = std::min<int64_t>(sleep_us * 2, 1000);
  }
}

void PcapExporter::AddFrame(const ExportFrame& f, const FrameBatch& batch) {
  const std::string comment = CommentFor(f);
  std::span<const uint8_t> data(batch.bytes.data() + f.offset, f.captured);
  if (options_.snaplen != 0 && data.size() > options_.snaplen) {
    data = data.first(options_.snaplen);
  }
  const size_t size = pcapng::EnhancedPacketSize(data.size(), comment.size());
  // A full file moves on (each file holds at least one frame).
  const uint64_t pending = buffered_bytes_ + (need_headers_ ? headers_.size() : 0);
  if (rotating_ && file_frames_ > 0 && file_bytes_ + pending + size > options_.max_file_bytes) {
    Rotate();
  }
  // The frame's bytes are written from the batch, where they are (the
  // batch goes back only after the Flush that ends it).
  const auto captured = static_cast<uint32_t>(data.size());
  const size_t head = buffer_.size();
  pcapng::AppendEnhancedPacketHead(f.timestamp_us, captured, f.wire_length, comment, &buffer_);
  AddPiece(nullptr, head, buffer_.size() - head);
  AddPiece(data.data(), 0, data.size());
  const size_t tail = buffer_.size();
  pcapng::AppendEnhancedPacketTail(captured, comment, &buffer_);
  AddPiece(nullptr, tail, buffer_.size() - tail);
  ++buffer_frames_;
  ++file_frames_;
  if (buffered_bytes_ >= kFlushBytes) Flush();
}

void PcapExporter::Run() {
  int64_t idle_us = 50;
  for (;;) {
    std::optional<FrameBatch*> got = queues_->PopFrames();
    if (!got) {
      // stop_ is set once the capture thread has ended: if the queue is
      // still empty after seeing it, nothing more comes.
      const bool stopping = stop_.load(std::memory_order_acquire);
      got = queues_->PopFrames();
      if (!got && stopping) break;
    }
    if (!got) {
      DrainAll();  // Workers never wait for us, even while we idle.
      Flush();
      absl::SleepFor(absl::Microseconds(idle_us));
      idle_us = std::min<int64_t>(idle_us * 2, 5000);
      continue;
    }
    idle_us = 50;
    FrameBatch* batch = *got;
    for (const ExportFrame& f : batch->frames) AddFrame(f, *batch);
    Flush();  // Before the batch goes back: pieces_ point into it.
    const bool final = batch->final;
    queues_->ReturnFrames(batch);
    if (final) break;
  }
  Flush();
}

}  // namespace rustnet
