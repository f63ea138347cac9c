// FanIn: one consumer's inboxes from K producers (--capture-threads): one
// bounded SPSC queue per producer, and a doorbell the consumer sleeps on.
//
// With capture fan-out (PACKET_FANOUT) each capture thread hands a worker
// the packets of the flows it owns, and the kernel's fan-out hash is not
// symmetric (a locally sent packet carries its socket's random txhash), so
// a connection's two directions may arrive through different capture
// threads, hence different inboxes of the same worker. The consumer holds
// at most one item per inbox (its head) and takes the held item with the
// smallest key (the worker: its batch's oldest packet time), so:
//   - items of one producer come out in the order it pushed them (exact:
//     one capture thread reads one direction of a flow in order, as long as
//     the kernel keeps that direction on one socket of the group);
//   - across producers, of the items present when the consumer looks, the
//     oldest comes first. An item pushed later with an older key (a capture
//     thread that was a batch behind) is not waited for: it comes out after
//     newer ones already taken. Live capture never waits for an idle
//     producer, so this is as ordered as it can be without a delay.
//
// Thread-safety: Push / WaitForSpace by producer k only (one thread per k);
// Pop / WaitForData by the one consumer thread.
#ifndef RUSTNET_DAEMON_PIPELINE_FAN_IN_H_
#define RUSTNET_DAEMON_PIPELINE_FAN_IN_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/spsc_queue.h"

namespace rustnet {

template <typename T>
class FanIn {
 public:
  struct Item {
    size_t producer;
    T value;
  };

  FanIn(size_t producers, size_t capacity) : held_(producers < 1 ? 1 : producers) {
    for (size_t k = 0; k < held_.size(); ++k) {
      queues_.push_back(std::make_unique<SpscQueue<T>>(capacity));
    }
  }

  size_t producers() const { return queues_.size(); }
  size_t capacity() const { return queues_[0]->capacity(); }

  // Producer k: false if its queue is full (nothing is pushed).
  bool Push(size_t k, T value) {
    if (!queues_[k]->Push(std::move(value))) return false;
    if (queues_.size() > 1) {
      doorbell_.fetch_add(1, std::memory_order_release);
      doorbell_.notify_one();
    }
    return true;
  }
  // Producer k: sleeps until its queue has room for one more.
  void WaitForSpace(size_t k) const { queues_[k]->WaitForSpace(); }

  // Consumer: the held or queued item with the smallest key(const T&)
  // (ties: the lowest producer); nullopt if every queue is empty.
  template <typename KeyFn>
  std::optional<Item> Pop(KeyFn&& key) {
    if (queues_.size() == 1) {
      std::optional<T> v = queues_[0]->Pop();
      if (!v) return std::nullopt;
      return Item{0, std::move(*v)};
    }
    size_t best = held_.size();
    for (size_t k = 0; k < held_.size(); ++k) {
      if (!held_[k]) held_[k] = queues_[k]->Pop();
      if (held_[k] && (best == held_.size() || key(*held_[k]) < key(*held_[best]))) best = k;
    }
    if (best == held_.size()) return std::nullopt;
    Item out{best, std::move(*held_[best])};
    held_[best].reset();
    return out;
  }

  // Consumer: sleeps until Pop may find something (returns at once if an
  // item is held or queued).
  void WaitForData() const {
    if (queues_.size() == 1) {
      queues_[0]->WaitForData();
      return;
    }
    for (;;) {
      const uint32_t rung = doorbell_.load(std::memory_order_acquire);
      for (size_t k = 0; k < held_.size(); ++k) {
        if (held_[k] || !queues_[k]->Empty()) return;
      }
      // A push after the load above changed the doorbell: no lost wake-up.
      doorbell_.wait(rung, std::memory_order_acquire);
    }
  }

 private:
  std::vector<std::unique_ptr<SpscQueue<T>>> queues_;
  std::vector<std::optional<T>> held_;  // The consumer's: each queue's head, taken.
  alignas(64) std::atomic<uint32_t> doorbell_{0};
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PIPELINE_FAN_IN_H_
