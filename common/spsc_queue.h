// SpscQueue: a bounded lock-free single-producer / single-consumer ring.
//
// Used to hand packet batches from the capture thread to one worker and
// back, and frames and annotations to the pcap export's writer
// (daemon/snapshot/packet_export.h; in common/ so that both can use it). Push and Pop never block; callers decide whether to wait (replayed
// files: nothing may be lost) or to drop (live capture: the kernel must be
// drained). WaitForData / WaitForSpace sleep on C++20 atomic waits.
//
// Thread-safety: exactly one thread calls Push, exactly one calls Pop.
#ifndef RUSTNET_COMMON_SPSC_QUEUE_H_
#define RUSTNET_COMMON_SPSC_QUEUE_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace rustnet {

template <typename T>
class SpscQueue {
 public:
  explicit SpscQueue(size_t capacity) : slots_(std::bit_ceil(capacity < 2 ? 2 : capacity)) {
    mask_ = slots_.size() - 1;
  }

  bool Push(T value) {
    const uint32_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == slots_.size()) return false;
    slots_[tail & mask_] = std::move(value);
    tail_.store(tail + 1, std::memory_order_release);
    tail_.notify_one();
    return true;
  }

  std::optional<T> Pop() {
    const uint32_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return std::nullopt;
    T value = std::move(slots_[head & mask_]);
    head_.store(head + 1, std::memory_order_release);
    head_.notify_one();
    return value;
  }

  // Consumer: sleeps until the queue is non-empty.
  void WaitForData() const {
    const uint32_t head = head_.load(std::memory_order_relaxed);
    for (int spin = 0; spin < 64; ++spin) {
      if (tail_.load(std::memory_order_acquire) != head) return;
    }
    uint32_t tail = tail_.load(std::memory_order_acquire);
    while (tail == head) {
      tail_.wait(tail, std::memory_order_acquire);
      tail = tail_.load(std::memory_order_acquire);
    }
  }

  // Producer: sleeps until there is room for one more element.
  void WaitForSpace() const {
    const uint32_t tail = tail_.load(std::memory_order_relaxed);
    uint32_t head = head_.load(std::memory_order_acquire);
    while (tail - head == slots_.size()) {
      head_.wait(head, std::memory_order_acquire);
      head = head_.load(std::memory_order_acquire);
    }
  }

  // Consumer: whether Pop would find nothing now.
  bool Empty() const {
    return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire);
  }

  size_t capacity() const { return slots_.size(); }

 private:
  std::vector<T> slots_;
  size_t mask_;
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
};

}  // namespace rustnet

#endif  // RUSTNET_COMMON_SPSC_QUEUE_H_
