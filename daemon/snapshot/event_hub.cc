#include "daemon/snapshot/event_hub.h"

#include <algorithm>

namespace rustnet {

void EventHub::Publish(std::vector<FlowEvent>* events) {
  if (events->empty()) return;
  absl::MutexLock lock(&mu_);
  if (ring_.empty()) ring_.resize(capacity_);
  for (FlowEvent& e : *events) {
    e.sequence = next_sequence_++;
    ring_[e.sequence % capacity_] = e;
  }
  events->clear();
}

EventHub::Cursor EventHub::Subscribe() {
  readers_.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  return Cursor{next_sequence_, 0};
}

void EventHub::Unsubscribe() { readers_.fetch_sub(1, std::memory_order_relaxed); }

bool EventHub::Read(Cursor* cursor, std::vector<FlowEvent>* out, size_t max,
                    absl::Duration timeout) {
  out->clear();
  absl::MutexLock lock(&mu_);
  auto ready = [this, cursor]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || next_sequence_ > cursor->next;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (shutdown_) return false;
  if (next_sequence_ <= cursor->next) return true;
  // Events older than the ring holds are gone.
  const uint64_t oldest = next_sequence_ > capacity_ ? next_sequence_ - capacity_ : 1;
  if (cursor->next < oldest) {
    cursor->lost += oldest - cursor->next;
    cursor->next = oldest;
  }
  const uint64_t end = std::min<uint64_t>(next_sequence_, cursor->next + max);
  for (uint64_t s = cursor->next; s < end; ++s) out->push_back(ring_[s % capacity_]);
  cursor->next = end;
  return true;
}

void EventHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
}

uint64_t EventHub::published() const {
  absl::MutexLock lock(&mu_);
  return next_sequence_ - 1;
}

}  // namespace rustnet
