// TcpRtt: a TCP connection's round-trip time, measured continuously by a
// passive monitor and smoothed as the kernel smooths its own, in 16 bytes
// of the connection.
//
// The monitor sits somewhere on the path between endpoints A and B, so it
// cannot time a whole round trip: it times two legs, each from a segment it
// sees going one way to the first segment it sees coming back that echoes
// it.
//   leg to B: A's segment passes the monitor -> B -> B's echo passes back
//   leg to A: B's segment passes the monitor -> A -> A's echo passes back
// The RTT reported is the sum of the two legs' smoothed values: what an
// endpoint would measure, whichever side of the monitor it is on (as
// Wireshark's tcp.analysis.initial_rtt adds the handshake's two halves; as
// pping times TCP timestamps). Each leg is smoothed as RFC 6298 §2 smooths
// the kernel's samples: the first sample R gives SRTT = R, RTTVAR = R/2;
// later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R.
// The reported variation is the sum of the legs' RTTVAR (an upper bound of
// the sum's mean deviation).
//
// Samples come from one probe in flight per connection:
// - TCP timestamps (RFC 7323 §3, §4), when the segment carries the option:
//   the probe is the first segment seen with a new TSval in its direction
//   (later segments in the same tick of the sender's timestamp clock would
//   time too short; a segment seen first is not known to be the first of
//   its tick — the monitor may have started mid-stream — so the probe
//   waits for the sender's next tick); its echo is the first segment the
//   other way whose TSecr equals that TSval. A TSecr past it means the echo
//   was not seen (lost before the monitor, or the receiver echoed a later
//   segment): the probe is dropped rather than timed long. A segment the
//   other way without the option drops it too (that side does not use
//   timestamps: RFC 7323 §3.2 has both ends use them or neither). A
//   retransmitted segment never starts a probe.
// - Sequence numbers, for segments without the option: the probe is a
//   segment that uses sequence space (payload, SYN or FIN) and is not a
//   retransmission; its echo is the first ACK the other way that covers
//   its end. Karn's rule (RFC 6298 §3): a retransmission in the probe's
//   direction cancels it (the ACK could answer either copy). The sample
//   includes the receiver's delayed-ACK wait, as the kernel's does.
// The handshake is two such exchanges (SYN -> SYN/ACK times B's leg,
// SYN/ACK -> ACK A's), always timed by sequence numbers (the answer must
// acknowledge ISN + 1; a SYN's timestamps option says nothing about the
// answer's), so a connection seen from its start has both legs at its
// third packet. Traffic seen one way only, or a bulk transfer
// without timestamps picked up mid-way (its pure ACKs echo nothing), may
// time one leg or none: then there is no RTT (has_rtt() is false).
//
// The echo (a packet) also starts the next probe when it can, so the legs
// alternate. A probe older than kMaxProbeUs is abandoned, and so is any
// probe when the connection was silent longer than that (its 28-bit clock
// could have wrapped).
//
// Storage: the legs' values are kept in a 16-bit floating format (exact
// below 32.768 ms, within 0.1 % above, up to ~35 minutes), the probe's
// time as the low 28 bits of its microsecond clock.
//
// Thread-safety: part of a Connection; its worker's only.
#ifndef RUSTNET_DAEMON_TRACK_TCP_RTT_H_
#define RUSTNET_DAEMON_TRACK_TCP_RTT_H_

#include <cstdint>

namespace rustnet {

// What the estimator needs of one TCP segment (with a TCP header).
struct TcpRttSegment {
  int64_t timestamp_us = 0;
  int dir = 0;                  // 0: from endpoint A, 1: from B.
  uint8_t flags = 0;            // TCP flags.
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t seq_len = 0;         // Sequence space used: payload + SYN + FIN.
  bool retransmission = false;  // The flow table found it already seen.
  // Since the connection's previous packet (either way), µs; 0 for its first.
  int64_t idle_us = 0;
  bool has_timestamps = false;  // RFC 7323 timestamps option present.
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
};

class TcpRtt {
 public:
  // Probes unanswered for longer are abandoned (and such samples ignored).
  static constexpr int64_t kMaxProbeUs = 10'000'000;
  // A timestamp probe waits for its sender's next new TSval this long
  // before it may start in the other direction instead.
  static constexpr int64_t kMaxArmUs = 1'000'000;

  void OnSegment(const TcpRttSegment& s);

  // Both legs timed at least once.
  bool has_rtt() const { return srtt_[0] != 0 && srtt_[1] != 0; }
  // The sum of both legs' smoothed RTT / RTTVAR, µs; 0 without has_rtt().
  uint32_t srtt_us() const;
  uint32_t rttvar_us() const;
  // One leg (endpoint e: monitor -> e -> monitor), smoothed; 0 if never
  // timed.
  uint32_t leg_srtt_us(int endpoint) const { return Decode(srtt_[endpoint & 1]); }
  uint32_t leg_rttvar_us(int endpoint) const { return Decode(rttvar_[endpoint & 1]); }

  // The 16-bit format (public for tests): exact below 32768, then 11 bits
  // of mantissa; rounds to nearest; 0 stays 0, anything else stays >= 1.
  static uint16_t Encode(uint64_t us);
  static uint32_t Decode(uint16_t code);

 private:
  enum Phase : uint8_t { kIdle = 0, kArmed = 1, kTiming = 2 };
  static constexpr uint32_t kTimeMask = (1u << 28) - 1;

  void Sample(int endpoint, int64_t us);
  void Start(const TcpRttSegment& s, bool timestamps, uint32_t value, Phase phase);
  int64_t Age(int64_t now_us) const;

  uint32_t probe_value_ = 0;  // TSval, or the sequence number to be acked.
  uint32_t probe_time_ : 28 = 0;  // Low bits of the probe's µs clock.
  uint32_t phase_ : 2 = kIdle;
  uint32_t probe_dir_ : 1 = 0;
  uint32_t probe_ts_ : 1 = 0;   // Timestamp probe (else sequence numbers).
  uint16_t srtt_[2] = {0, 0};   // Per leg (endpoint), encoded; 0: no sample.
  uint16_t rttvar_[2] = {0, 0};
};
static_assert(sizeof(TcpRtt) == 16, "TcpRtt is on every connection: keep it at 16 bytes");

// Inline: called for every TCP segment (the flow table's hot path).
namespace tcp_rtt_internal {
inline constexpr uint8_t kFlagSyn = 0x02;
inline constexpr uint8_t kFlagAck = 0x10;
// RFC 1982 serial-number difference (as the flow table's).
inline int32_t Serial(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
}  // namespace tcp_rtt_internal

inline int64_t TcpRtt::Age(int64_t now_us) const {
  // Modulo 2^28 µs (~268 s): right for any age below kMaxProbeUs. A probe
  // is never kept longer: a packet after a longer silence ends it before
  // its age is read (OnSegment), and otherwise packets come at least every
  // kMaxProbeUs, each seeing the age below the limit or ending the probe.
  return static_cast<int64_t>((static_cast<uint64_t>(now_us) - probe_time_) & kTimeMask);
}

inline void TcpRtt::Start(const TcpRttSegment& s, bool timestamps, uint32_t value, Phase phase) {
  probe_value_ = value;
  probe_time_ = static_cast<uint32_t>(static_cast<uint64_t>(s.timestamp_us) & kTimeMask);
  phase_ = static_cast<uint32_t>(phase) & 3u;
  probe_dir_ = static_cast<uint32_t>(s.dir & 1);
  probe_ts_ = timestamps ? 1 : 0;
}

inline void TcpRtt::OnSegment(const TcpRttSegment& s) {
  const int dir = s.dir & 1;
  const bool ack = (s.flags & tcp_rtt_internal::kFlagAck) != 0;
  const bool syn = (s.flags & tcp_rtt_internal::kFlagSyn) != 0;
  // Packets are in capture order, but a clock stepping back must not make
  // an age out of range: treat it as stale.
  if (phase_ != kIdle) {
    const int64_t limit = phase_ == kTiming ? kMaxProbeUs : kMaxArmUs;
    if (s.idle_us > limit || Age(s.timestamp_us) > limit) phase_ = kIdle;
  }

  // 1. Does it answer the probe?
  if (phase_ == kTiming) {
    if (static_cast<int>(probe_dir_) != dir) {
      if (probe_ts_) {
        if (s.has_timestamps) {
          const int32_t d = tcp_rtt_internal::Serial(s.tsecr, probe_value_);
          if (d == 0) {
            Sample(dir, Age(s.timestamp_us));
            phase_ = kIdle;
          } else if (d > 0) {
            phase_ = kIdle;  // Echo of a later segment: this probe's was missed.
          }
        } else {
          phase_ = kIdle;  // That side sends no timestamps: no echo will come.
        }
      } else if (ack && tcp_rtt_internal::Serial(s.ack, probe_value_) >= 0) {
        Sample(dir, Age(s.timestamp_us));
        phase_ = kIdle;
      }
    } else if (!probe_ts_ && s.retransmission) {
      phase_ = kIdle;  // Karn: the ACK could answer either copy.
    }
  }

  // 2. Can it start the next probe?
  if (phase_ == kTiming || s.retransmission) return;
  if (s.has_timestamps && !syn) {
    if (phase_ == kArmed && static_cast<int>(probe_dir_) == dir) {
      // The first segment of the sender's next timestamp tick.
      if (s.tsval != probe_value_) Start(s, true, s.tsval, kTiming);
    } else if (phase_ == kIdle) {
      // Wait for this sender's next tick: earlier segments may already
      // have carried this TSval.
      Start(s, true, s.tsval, kArmed);
    }
    return;
  }
  if (s.seq_len > 0) Start(s, false, s.seq + s.seq_len, kTiming);
}

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_TCP_RTT_H_
