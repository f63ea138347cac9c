#include "daemon/snapshot/timeline.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <type_traits>

#include "common/flow_key.h"

namespace rustnet {
namespace {

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kMinuteUs = 60 * kSecondUs;

int64_t IntervalOf(int64_t time_us, int64_t unit_us) {
  return std::max<int64_t>(time_us, 0) / unit_us;
}

int64_t UnitOf(TimelineResolution r) {
  return r == TimelineResolution::kSecond ? kSecondUs : kMinuteUs;
}

}  // namespace

int TimelineProtocolIndex(uint8_t protocol) {
  switch (protocol) {
    case kIpProtoTcp: return 0;
    case kIpProtoUdp: return 1;
    case kIpProtoIcmp: return 2;
    case kIpProtoIcmpv6: return 3;
    case kPseudoProtoArp: return 4;
    default: return -1;
  }
}

void TimelineRecorder::FreeSlots::operator()(Slot* p) const { std::free(p); }

TimelineRecorder::Ring::Ring(size_t count) : n(count) {
  static_assert(std::is_trivially_default_constructible_v<Slot> &&
                alignof(Slot) >= std::atomic_ref<uint64_t>::required_alignment &&
                alignof(Slot) >= std::atomic_ref<int64_t>::required_alignment);
  // Zeroed pages, written only where a slot is used (implicitly created
  // objects: Slot is trivial).
  void* p = std::calloc(count, sizeof(Slot));
  if (p == nullptr) throw std::bad_alloc();
  slots.reset(static_cast<Slot*>(p));
}

TimelineRecorder::TimelineRecorder() = default;

TimelineRecorder::Slot& TimelineRecorder::SlotFor(Ring& ring, int64_t unit_us, int64_t time_us) {
  const auto n = static_cast<int64_t>(ring.n);
  int64_t interval = IntervalOf(time_us, unit_us);
  // Older than the ring holds: counted in the newest interval instead.
  if (ring.newest >= 0 && interval <= ring.newest - n) interval = ring.newest;
  Slot& slot = ring.slots[static_cast<size_t>(interval % n)];
  if (IntervalOfSlot(slot, std::memory_order_relaxed) == interval) return slot;
  // A new interval (or one after a gap) takes the slot over. The exchange
  // is a read-modify-write with acquire: the zeroing below cannot move
  // before it (no fences: TSan does not model them).
  IntervalRef(slot).exchange(0, std::memory_order_acq_rel);
  for (size_t f = 0; f < kFields; ++f) Counter(slot, f).store(0, std::memory_order_relaxed);
  for (size_t p = 0; p < kTimelineProtocols; ++p) {
    Counter(slot, kActive0 + p).store(active_[p], std::memory_order_relaxed);
  }
  IntervalRef(slot).store(interval + 1, std::memory_order_release);
  ring.newest = std::max(ring.newest, interval);
  return slot;
}

std::pair<TimelineRecorder::Slot*, TimelineRecorder::Slot*> TimelineRecorder::SlotsFor(
    int64_t time_us) {
  if (time_us >= cached_from_us_ && time_us < cached_to_us_) {
    return {cached_second_, cached_minute_};
  }
  Slot* second = &SlotFor(seconds_, kSecondUs, time_us);
  Slot* minute = &SlotFor(minutes_, kMinuteUs, time_us);
  newest_second_.store(seconds_.newest, std::memory_order_release);
  const int64_t interval = IntervalOf(time_us, kSecondUs);
  if (IntervalOfSlot(*second, std::memory_order_relaxed) == interval &&
      IntervalOfSlot(*minute, std::memory_order_relaxed) == IntervalOf(time_us, kMinuteUs)) {
    // Not redirected to the newest interval: cache it. (A slot is only taken
    // over through SlotFor with a time outside this second, which replaces
    // the cache.)
    cached_from_us_ = interval * kSecondUs;
    cached_to_us_ = cached_from_us_ + kSecondUs;
    cached_second_ = second;
    cached_minute_ = minute;
  } else {
    cached_from_us_ = cached_to_us_ = 0;
  }
  return {second, minute};
}

void TimelineRecorder::Add(int64_t time_us, Field f, uint64_t n) {
  auto [second, minute] = SlotsFor(time_us);
  for (Slot* s : {second, minute}) {
    auto v = Counter(*s, f);
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
}

void TimelineRecorder::SetActive(int64_t time_us, size_t p) {
  auto [second, minute] = SlotsFor(time_us);
  // The count is the table's now: also the newest intervals', when an
  // event comes with an older time.
  Slot* newest_second = &seconds_.slots[static_cast<size_t>(seconds_.newest) % kSeconds];
  Slot* newest_minute = &minutes_.slots[static_cast<size_t>(minutes_.newest) % kMinutes];
  for (Slot* s : {second, minute, newest_second, newest_minute}) {
    Counter(*s, kActive0 + p).store(active_[p], std::memory_order_relaxed);
  }
}

void TimelineRecorder::AddPacket(int64_t time_us, bool inbound, uint32_t bytes, uint8_t app) {
  auto [second, minute] = SlotsFor(time_us);
  const size_t app_field = kApp0 + std::min<size_t>(app, kTimelineApps - 1);
  for (Slot* s : {second, minute}) {
    auto add = [s](size_t f, uint64_t n) {
      auto v = Counter(*s, f);
      v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    };
    add(inbound ? kBytesIn : kBytesOut, bytes);
    add(inbound ? kPacketsIn : kPacketsOut, 1);
    add(app_field, bytes);
  }
}

void TimelineRecorder::AddOpened(int64_t time_us, uint8_t protocol) {
  Add(time_us, kOpened, 1);
  if (const int i = TimelineProtocolIndex(protocol); i >= 0) {
    const auto p = static_cast<size_t>(i);
    ++active_[p];
    SetActive(time_us, p);
  }
}

void TimelineRecorder::AddClosed(int64_t time_us, uint8_t protocol) {
  Add(time_us, kClosed, 1);
  if (const int i = TimelineProtocolIndex(protocol); i >= 0) {
    const auto p = static_cast<size_t>(i);
    if (active_[p] == 0) return;
    --active_[p];
    SetActive(time_us, p);
  }
}

void TimelineRecorder::AddRetransmissions(int64_t time_us, uint64_t n) {
  if (n > 0) Add(time_us, kRetrans, n);
}

bool TimelineRecorder::Unchanged(const Slot& s, int64_t interval) {
  // A read-modify-write with release: the counter loads before it cannot
  // move after it. (The slot is written only by its worker; adding 0 leaves
  // it as it is.)
  return IntervalRef(s).fetch_add(0, std::memory_order_acq_rel) - 1 == interval;
}

void TimelineRecorder::AddFrom(const Ring& ring, int64_t first, std::span<TimelinePoint> out) {
  const auto n = static_cast<int64_t>(ring.n);
  // `active` before the window: from the latest interval before it.
  std::array<uint64_t, kTimelineProtocols> carry{};
  int64_t latest = -1;
  for (size_t i = 0; i < ring.n; ++i) {
    const Slot& s = ring.slots[i];
    const int64_t iv = IntervalOfSlot(s, std::memory_order_acquire);
    if (iv < 0 || iv >= first || iv <= latest) continue;
    std::array<uint64_t, kTimelineProtocols> a;
    for (size_t p = 0; p < kTimelineProtocols; ++p) {
      a[p] = Counter(s, kActive0 + p).load(std::memory_order_relaxed);
    }
    if (!Unchanged(s, iv)) continue;
    latest = iv;
    carry = a;
  }
  std::array<uint64_t, kFields> v;
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t interval = first + static_cast<int64_t>(i);
    const Slot& s = ring.slots[static_cast<size_t>(interval % n)];
    bool have = IntervalOfSlot(s, std::memory_order_acquire) == interval;
    if (have) {
      for (size_t f = 0; f < kFields; ++f) v[f] = Counter(s, f).load(std::memory_order_relaxed);
      have = Unchanged(s, interval);
    }
    TimelinePoint& p = out[i];
    if (have) {
      p.bytes_in += v[kBytesIn];
      p.bytes_out += v[kBytesOut];
      p.packets_in += v[kPacketsIn];
      p.packets_out += v[kPacketsOut];
      p.opened += v[kOpened];
      p.closed += v[kClosed];
      p.retransmissions += v[kRetrans];
      for (size_t a = 0; a < kTimelineApps; ++a) p.app_bytes[a] += v[kApp0 + a];
      for (size_t q = 0; q < kTimelineProtocols; ++q) carry[q] = v[kActive0 + q];
    }
    for (size_t q = 0; q < kTimelineProtocols; ++q) p.active[q] += carry[q];
  }
}

void TimelineRecorder::AddTo(TimelineResolution r, int64_t first,
                             std::span<TimelinePoint> out) const {
  AddFrom(r == TimelineResolution::kSecond ? seconds_ : minutes_, first, out);
}

std::vector<TimelinePoint> ReadTimeline(std::span<const TimelineRecorder* const> recorders,
                                        TimelineResolution r, int64_t now_us,
                                        int64_t since_us) {
  const int64_t unit = UnitOf(r);
  const auto span = static_cast<int64_t>(r == TimelineResolution::kSecond
                                             ? TimelineRecorder::kSeconds
                                             : TimelineRecorder::kMinutes);
  const int64_t last = IntervalOf(now_us, unit);
  int64_t first = std::max<int64_t>(last - span + 1, 0);
  if (since_us > 0) first = std::max(first, IntervalOf(since_us, unit));
  std::vector<TimelinePoint> out;
  if (first > last) return out;
  out.resize(static_cast<size_t>(last - first + 1));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].start_us = (first + static_cast<int64_t>(i)) * unit;
  }
  for (const TimelineRecorder* rec : recorders) {
    if (rec != nullptr) rec->AddTo(r, first, out);
  }
  return out;
}

}  // namespace rustnet
