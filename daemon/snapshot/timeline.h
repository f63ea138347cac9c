// Timeline: traffic over time for GetTimeline's graphs, in two rings: one
// point per second for the last hour (3,600) and one per minute for the
// last day (1,440).
//
// Each worker owns a TimelineRecorder and is its only writer: per packet
// it adds to the current second's and minute's counters, keyed by the
// packet's own timestamp, so a replayed file fills the timeline on its
// clock as a live capture does on the wall's. Readers (the API's threads)
// sum the workers' rings with ReadTimeline while the workers write.
//
// Concurrency: every counter is a relaxed atomic written by one thread
// (a load and a store, no read-modify-write: as cheap as a plain add on
// x86). Reusing a ring slot for a new interval is guarded like a seqlock:
// the slot's interval is swapped to -1 (an acquire-release exchange), the
// counters zeroed, then the new interval published with release; a reader
// that sees the same interval before and after reading the counters (the
// second read an acquire-release read-modify-write) has a consistent-enough
// point (an interval still filling is read as it stands). No fences: TSan
// does not model them.
//
// Memory: (3,600 + 1,440) slots of 109 counters (8 bytes each) = 4.4 MB
// per worker, allocated once as zeroed pages (calloc: the kernel's zero
// pages, nothing written): only the slots written to cost memory, ~61 of
// them for a minute's replay, and starting a worker costs no page faults.
// Slots are plain integers accessed through std::atomic_ref for that.
//
// Time: a packet older than the ring (or older than the slot's newer
// interval) is added to the newest interval instead; the newest interval
// is the latest packet time seen, so a single packet far in the future
// moves the window there (a live capture's clock comes from the kernel).
#ifndef RUSTNET_DAEMON_SNAPSHOT_TIMELINE_H_
#define RUSTNET_DAEMON_SNAPSHOT_TIMELINE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace rustnet {

enum class TimelineResolution : uint8_t { kSecond = 0, kMinute = 1 };

// Counters of one interval. Protocols: tcp, udp, icmp, icmpv6, arp (in
// that order; see TimelineProtocolIndex). Applications: AppProtocol values;
// those past kTimelineApps - 1 share the last slot.
inline constexpr size_t kTimelineProtocols = 5;
inline constexpr size_t kTimelineApps = 96;

struct TimelinePoint {
  int64_t start_us = 0;  // The interval's start.
  uint64_t bytes_in = 0, bytes_out = 0;
  uint64_t packets_in = 0, packets_out = 0;
  uint64_t opened = 0, closed = 0;
  uint64_t retransmissions = 0;
  std::array<uint64_t, kTimelineProtocols> active{};  // At the interval's end.
  std::array<uint64_t, kTimelineApps> app_bytes{};
};

// 0..4 for tcp, udp, icmp, icmpv6, arp; -1 for anything else.
int TimelineProtocolIndex(uint8_t protocol);

class TimelineRecorder {
 public:
  static constexpr size_t kSeconds = 3600;
  static constexpr size_t kMinutes = 1440;

  TimelineRecorder();

  // Writer (one thread):
  void AddPacket(int64_t time_us, bool inbound, uint32_t bytes, uint8_t app);
  void AddOpened(int64_t time_us, uint8_t protocol);
  void AddClosed(int64_t time_us, uint8_t protocol);
  void AddRetransmissions(int64_t time_us, uint64_t n);

  // Reader (any thread): adds this recorder's counters for the intervals
  // first, first + 1, ... (interval numbers: seconds or minutes since the
  // epoch) into out[0], out[1], ...; `active` of an interval the worker saw
  // nothing in is carried from its latest earlier interval.
  void AddTo(TimelineResolution r, int64_t first, std::span<TimelinePoint> out) const;
  // The newest interval written (seconds since the epoch); -1 before any.
  int64_t newest_second() const { return newest_second_.load(std::memory_order_acquire); }

 private:
  enum Field : size_t {
    kBytesIn, kBytesOut, kPacketsIn, kPacketsOut, kOpened, kClosed, kRetrans,
    kActive0, kApp0 = kActive0 + kTimelineProtocols, kFields = kApp0 + kTimelineApps,
  };
  // All zero when unused (calloc'd); every access is atomic (atomic_ref).
  // mutable: readers' atomic_refs (and Unchanged(), which adds 0).
  struct Slot {
    mutable int64_t interval_plus_1;  // The interval + 1; 0: none (or being reset).
    mutable uint64_t v[kFields];
  };
  struct FreeSlots {
    void operator()(Slot* p) const;
  };
  struct Ring {
    explicit Ring(size_t n);
    size_t n;
    std::unique_ptr<Slot[], FreeSlots> slots;
    int64_t newest = -1;  // Writer's: the newest interval started.
  };
  static std::atomic_ref<int64_t> IntervalRef(const Slot& s) {
    return std::atomic_ref<int64_t>(s.interval_plus_1);
  }
  static std::atomic_ref<uint64_t> Counter(const Slot& s, size_t f) {
    return std::atomic_ref<uint64_t>(s.v[f]);
  }
  static int64_t IntervalOfSlot(const Slot& s, std::memory_order order) {
    return IntervalRef(s).load(order) - 1;
  }

  // The slot `time_us` counts into in `ring` (interval length `unit_us`),
  // started if new.
  Slot& SlotFor(Ring& ring, int64_t unit_us, int64_t time_us);
  // The second's and the minute's slot for `time_us` (the last pair is
  // kept: consecutive packets mostly fall in the same second).
  std::pair<Slot*, Slot*> SlotsFor(int64_t time_us);
  void Add(int64_t time_us, Field f, uint64_t n);
  void SetActive(int64_t time_us, size_t p);
  static void AddFrom(const Ring& ring, int64_t first, std::span<TimelinePoint> out);
  // After reading a slot's counters: true if it still holds `interval`.
  static bool Unchanged(const Slot& s, int64_t interval);

  Ring seconds_{kSeconds};
  Ring minutes_{kMinutes};
  std::array<uint64_t, kTimelineProtocols> active_{};  // Writer's: the table now.
  std::atomic<int64_t> newest_second_{-1};
  int64_t cached_from_us_ = 0, cached_to_us_ = 0;  // [from, to): the cached second
  Slot* cached_second_ = nullptr;
  Slot* cached_minute_ = nullptr;
};

// The workers' recorders summed: the resolution's whole span ending at the
// interval holding `now_us` (oldest first, every interval present), or from
// `since_us` on if that is later.
std::vector<TimelinePoint> ReadTimeline(std::span<const TimelineRecorder* const> recorders,
                                        TimelineResolution r, int64_t now_us,
                                        int64_t since_us);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_TIMELINE_H_
