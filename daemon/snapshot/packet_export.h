// PacketExport: what the pipeline hands a packet exporter (--pcap-export,
// daemon/export/pcap_export/): every frame the capture thread reads, in
// capture order, and for each tracked one the connection (and process) its
// worker found. Here, below the pipeline, so that the pipeline does not
// depend on the export (as connection_sink.h); only queues and counters, no
// policy: the exporter decides what to write.
//
// Frames. The capture thread numbers every frame it reads (seq 1, 2, ...),
// copies it into a FrameBatch taken from a fixed pool, and hands full
// batches (and, live, partly filled ones at every tick) to the exporter's
// thread over one SPSC queue; the exporter gives them back once written.
// Live, when the pool is empty the frame is dropped from the export and
// counted (CountDropped): the capture thread never waits. Replayed files
// lose nothing: the capture thread waits for a batch (WaitFrameBatch), after
// handing every worker the packets it holds, because the exporter may be
// waiting for their annotations.
//
// Annotations. A frame that went to worker w gets its comment from w, which
// alone knows the connection after FlowTable::Process. After each batch the
// worker hands over one PacketAnnotation per tracked packet of the batch (in
// seq order; connection_id 0 when the table did not take the packet), then
// publishes a watermark: "every packet sent to me up to seq S is
// processed". Annotate never waits live (no free annotation batch: the
// annotations are dropped and counted); replayed, it waits for one.
//
// The exporter, for the frame at the head (seq s, sent to w), looks at w's
// annotations in order: seq < s are stale (their frame was dropped), seq ==
// s is its annotation, seq > s or a watermark >= s with none left means it
// has none. Otherwise it waits for w.
//
// Threads: TakeFrameBatch, WaitFrameBatch, PutFrameBatch, CountDropped: the
// capture thread. Annotate(w, ...): worker w. PopFrames, ReturnFrames,
// PopAnnotations, ReturnAnnotations, watermark: the exporter's thread.
// dropped() and annotations_dropped(): any thread.
#ifndef RUSTNET_DAEMON_SNAPSHOT_PACKET_EXPORT_H_
#define RUSTNET_DAEMON_SNAPSHOT_PACKET_EXPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/spsc_queue.h"
#include "daemon/record/process_record.h"

namespace rustnet {

// One frame as captured. Its bytes are FrameBatch::bytes[offset, offset +
// captured).
struct ExportFrame {
  int64_t timestamp_us = 0;
  uint64_t seq = 0;          // Capture order, from 1.
  uint64_t offset = 0;
  uint32_t captured = 0;
  uint32_t wire_length = 0;  // Length on the wire.
  int32_t worker = -1;       // The worker it went to; -1: none (not IP, malformed, untracked).
};

struct FrameBatch {
  std::vector<ExportFrame> frames;
  std::vector<uint8_t> bytes;
  // The last batch: the capture has ended (the exporter's thread ends
  // after it).
  bool final = false;

  void Clear() {
    frames.clear();
    bytes.clear();
    final = false;
  }
  // Appends a frame (its bytes copied).
  void Add(int64_t timestamp_us, uint64_t seq, uint32_t wire_length,
           std::span<const uint8_t> data, int32_t worker) {
    frames.push_back(ExportFrame{timestamp_us, seq, bytes.size(),
                                 static_cast<uint32_t>(data.size()), wire_length, worker});
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
};

// What a worker knows of one tracked packet.
struct PacketAnnotation {
  uint64_t seq = 0;
  uint64_t connection_id = 0;  // 0: the table did not take it (no connection).
  // The connection's processes, if attributed (null otherwise); `local` is
  // the side (0 = A, 1 = B) of the local end, as Connection::local.
  std::shared_ptr<const Attribution> attribution;
  uint8_t local = 0;
};

struct AnnotationBatch {
  std::vector<PacketAnnotation> annotations;
};

class PacketExport {
 public:
  struct Options {
    size_t workers = 1;
    // Frame batches in the pool; a batch holds up to kFramesPerBatch
    // frames or about kBytesPerBatch bytes.
    size_t frame_batches = 32;
    // Annotation batches per worker (one per worker batch).
    size_t annotation_batches = 64;
    // Replayed files: nothing is dropped, the capture thread and the
    // workers wait instead.
    bool lossless = false;
  };
  static constexpr size_t kFramesPerBatch = 256;
  static constexpr size_t kBytesPerBatch = 256 * 1024;

  explicit PacketExport(const Options& options);
  PacketExport(const PacketExport&) = delete;
  PacketExport& operator=(const PacketExport&) = delete;

  size_t workers() const { return workers_.size(); }
  bool lossless() const { return lossless_; }

  // --- The capture thread. ---
  // A cleared batch, or null if none is free.
  FrameBatch* TakeFrameBatch();
  // Waits until a batch is free (replay).
  FrameBatch* WaitFrameBatch();
  // Hands a batch to the exporter; never fails (the queue holds the pool).
  void PutFrameBatch(FrameBatch* batch);
  // Frames dropped from the export because no batch was free.
  void CountDropped(uint64_t frames) { dropped_.fetch_add(frames, std::memory_order_relaxed); }
  // True when a batch is full enough to hand over.
  static bool Full(const FrameBatch& b) {
    return b.frames.size() >= kFramesPerBatch || b.bytes.size() >= kBytesPerBatch;
  }

  // --- Worker w, after each batch. ---
  // Hands over *annotations (left empty) and then publishes watermark.
  void Annotate(size_t w, std::vector<PacketAnnotation>* annotations, uint64_t watermark);

  // --- The exporter's thread. ---
  std::optional<FrameBatch*> PopFrames() { return frames_.Pop(); }
  void ReturnFrames(FrameBatch* batch);
  std::optional<AnnotationBatch*> PopAnnotations(size_t w) { return workers_[w]->full.Pop(); }
  void ReturnAnnotations(size_t w, AnnotationBatch* batch);
  // Load before popping: annotations published before it are then seen.
  uint64_t watermark(size_t w) const {
    return workers_[w]->watermark.load(std::memory_order_acquire);
  }

  // --- Any thread. ---
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t annotations_dropped() const {
    return annotations_dropped_.load(std::memory_order_relaxed);
  }

 private:
  struct WorkerQueues {
    explicit WorkerQueues(size_t n) : full(n), free(n) {}
    SpscQueue<AnnotationBatch*> full;  // Worker -> exporter.
    SpscQueue<AnnotationBatch*> free;  // Exporter -> worker.
    std::vector<std::unique_ptr<AnnotationBatch>> pool;
    alignas(64) std::atomic<uint64_t> watermark{0};
  };

  const bool lossless_;
  std::vector<std::unique_ptr<FrameBatch>> frame_pool_;
  SpscQueue<FrameBatch*> frames_;       // Capture -> exporter.
  SpscQueue<FrameBatch*> free_frames_;  // Exporter -> capture.
  std::vector<std::unique_ptr<WorkerQueues>> workers_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> annotations_dropped_{0};
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_PACKET_EXPORT_H_
