// PcapExporter: `rustnetd --pcap-export FILE`, every captured frame as
// pcapng, with its connection id and, where known, its process as the
// packet's comment ("rustnet: connection 123; process curl (pid 42)"), so
// that Wireshark shows them beside each packet.
//
// Input: the queues of daemon/snapshot/packet_export.h, which the pipeline
// fills (frames from the capture thread, annotations from the workers); see
// there how a frame meets its annotation. When an annotation has not come
// after `annotation_wait` (a worker far behind), the frame is written
// without comment and counted (unannotated), as are frames that went to a
// worker whose annotation was lost (a full queue, a batch dropped live).
//
// Files: FILE is written until the next frame would take it past
// `max_file_bytes`; then FILE.1 ... FILE.(max_files-1) move up by one (the
// oldest goes), FILE becomes FILE.1 and a new FILE starts, with its own
// section and interface headers (each file opens on its own). An existing
// FILE at start is rotated away the same way, never overwritten. Created
// mode 0600 (packets are private). A FILE that is not a regular file
// (/dev/null, a FIFO a reader waits on) is written as it is, never rotated
// or renamed.
//
// Errors: a failed write (disk full) is cut back off the file (it stays a
// valid pcapng), logged once, and the frames are dropped and counted
// (write_errors) while the exporter retries once a second; capture goes on.
//
// Threads: Open and Finish from the owning thread; stats() from any; one
// thread of its own that reads the queues and writes.
#ifndef RUSTNET_DAEMON_EXPORT_PCAP_EXPORT_PCAP_EXPORTER_H_
#define RUSTNET_DAEMON_EXPORT_PCAP_EXPORT_PCAP_EXPORTER_H_

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/snapshot/packet_export.h"

namespace rustnet {

struct PcapExportOptions {
  std::string path;
  uint64_t max_file_bytes = 100ULL << 20;  // --pcap-export-size
  size_t max_files = 5;                    // --pcap-export-count: FILE and FILE.1 .. FILE.4.
  uint16_t link_type = 1;                  // LINKTYPE_ (pcapng::LinkTypeNumber).
  uint32_t snaplen = 0;                    // 0: no limit.
  std::string interface;                   // if_name of the IDB.
  std::string application = "rustnetd";    // shb_userappl.
  // How long the head frame waits for its worker's annotation (live: a
  // second; replayed files: workers are never skipped, so long).
  absl::Duration annotation_wait = absl::Seconds(1);
  // Between attempts to write again after a failure.
  absl::Duration retry_every = absl::Seconds(1);
};

struct PcapExportStats {
  uint64_t written = 0;       // Frames written.
  uint64_t dropped = 0;       // Not exported: the writer was behind (capture side).
  uint64_t unannotated = 0;   // Written without the comment their worker should have given.
  uint64_t bytes = 0;         // Bytes written, headers included.
  uint64_t rotations = 0;     // Files started after the first.
  uint64_t write_errors = 0;  // Frames lost to failed writes.
  bool healthy = true;        // The last write succeeded.
  std::string last_error;     // Empty if none.
};

class PcapExporter {
 public:
  // Opens FILE (rotating an existing one away), writes its headers and
  // starts the thread. An error is one sentence naming the file.
  static absl::StatusOr<std::unique_ptr<PcapExporter>> Open(PcapExportOptions options,
                                                            PacketExport* queues);
  ~PcapExporter();
  PcapExporter(const PcapExporter&) = delete;
  PcapExporter& operator=(const PcapExporter&) = delete;

  // After the pipeline joined (or never started): writes what is queued,
  // ends the thread and closes the file. Idempotent.
  void Finish();

  PcapExportStats stats() const;
  const std::string& path() const { return options_.path; }

  // FILE, FILE.1, ...: the name of the n-th newest file (0: FILE).
  static std::string FileName(const std::string& path, size_t n);

 private:
  PcapExporter(PcapExportOptions options, PacketExport* queues);
  void Run();
  // The comment for frame `f` ("" for none); waits for its annotation.
  std::string CommentFor(const ExportFrame& f);
  // Moves worker w's published annotations to pending_[w]; true if any.
  bool Drain(size_t w);
  void DrainAll();
  void AddFrame(const ExportFrame& f, const FrameBatch& batch);
  // Writes the headers (once per file) and buffer_ to the file, or drops
  // the buffered frames while failing.
  void Flush();
  // Write `data` / pieces_ / `iov` (`bytes` in all) at file_bytes_; on
  // failure cut the file back and fail.
  bool WriteAll(const std::string& data);
  bool WritePieces();
  bool WriteVector(std::vector<iovec>* iov, size_t bytes);
  // Appends a piece: `len` bytes at `data`, or (data null) at buffer_ + offset.
  void AddPiece(const uint8_t* data, size_t offset, size_t len);
  // The buffered frames are lost (counted as write errors).
  void DropBuffer();
  // Moves the files up by one and opens a new FILE (its headers are
  // written by the next Flush). False if it cannot be opened.
  bool Rotate();
  bool OpenFile();
  void Fail(const std::string& what, int err);

  const PcapExportOptions options_;
  PacketExport* const queues_;
  std::string headers_;  // SHB + IDB, written at the start of every file.

  // The writer's (then the owner's, after join).
  std::vector<std::deque<PacketAnnotation>> pending_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;      // Written to the current file.
  uint64_t file_frames_ = 0;     // Frames in the current file, buffered ones included.
  bool need_headers_ = false;    // The current file has no SHB + IDB yet.
  // Enhanced packet blocks not yet written: pieces_ in order, each either
  // in buffer_ (block heads and tails) or in the frame batch being written
  // (packet bytes, written where they are).
  struct Piece {
    const uint8_t* data;  // Null: in buffer_.
    size_t offset;
    size_t len;
  };
  std::string buffer_;
  std::vector<Piece> pieces_;
  size_t buffered_bytes_ = 0;
  std::vector<iovec> pieces_scratch_;
  uint64_t buffer_frames_ = 0;
  bool failing_ = false;
  int last_errno_ = 0;
  // False when FILE is not a regular file (/dev/null, a FIFO): written
  // without rotation, never renamed.
  bool rotating_ = true;
  absl::Time retry_at_;

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> unannotated_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> rotations_{0};
  std::atomic<uint64_t> write_errors_{0};
  mutable absl::Mutex error_mu_;
  std::string last_error_ ABSL_GUARDED_BY(error_mu_);
  bool healthy_ ABSL_GUARDED_BY(error_mu_) = true;
  std::thread thread_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_PCAP_EXPORT_PCAP_EXPORTER_H_
