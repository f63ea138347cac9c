#include "daemon/snapshot/packet_export.h"

#include <utility>

namespace rustnet {

PacketExport::PacketExport(const Options& options)
    : lossless_(options.lossless),
      frames_(options.frame_batches),
      free_frames_(options.frame_batches) {
  // As many batches as each queue holds, so a Push never finds it full.
  for (size_t i = 0; i < free_frames_.capacity(); ++i) {
    frame_pool_.push_back(std::make_unique<FrameBatch>());
    free_frames_.Push(frame_pool_.back().get());
  }
  const size_t workers = options.workers == 0 ? 1 : options.workers;
  for (size_t w = 0; w < workers; ++w) {
    auto q = std::make_unique<WorkerQueues>(options.annotation_batches);
    for (size_t i = 0; i < q->free.capacity(); ++i) {
      q->pool.push_back(std::make_unique<AnnotationBatch>());
      q->free.Push(q->pool.back().get());
    }
    workers_.push_back(std::move(q));
  }
}

FrameBatch* PacketExport::TakeFrameBatch() {
  std::optional<FrameBatch*> b = free_frames_.Pop();
  if (!b) return nullptr;
  (*b)->Clear();
  return *b;
}

FrameBatch* PacketExport::WaitFrameBatch() {
  for (;;) {
    if (FrameBatch* b = TakeFrameBatch()) return b;
    free_frames_.WaitForData();
  }
}

void PacketExport::PutFrameBatch(FrameBatch* batch) { frames_.Push(batch); }

void PacketExport::ReturnFrames(FrameBatch* batch) { free_frames_.Push(batch); }

void PacketExport::Annotate(size_t w, std::vector<PacketAnnotation>* annotations,
                            uint64_t watermark) {
  WorkerQueues& q = *workers_[w];
  if (!annotations->empty()) {
    std::optional<AnnotationBatch*> b = q.free.Pop();
    while (!b && lossless_) {
      q.free.WaitForData();
      b = q.free.Pop();
    }
    if (b) {
      (*b)->annotations.clear();
      (*b)->annotations.swap(*annotations);
      q.full.Push(*b);
    } else {
      annotations_dropped_.fetch_add(annotations->size(), std::memory_order_relaxed);
    }
    annotations->clear();
  }
  if (watermark > q.watermark.load(std::memory_order_relaxed)) {
    q.watermark.store(watermark, std::memory_order_release);
  }
}

void PacketExport::ReturnAnnotations(size_t w, AnnotationBatch* batch) {
  workers_[w]->free.Push(batch);
}

}  // namespace rustnet
