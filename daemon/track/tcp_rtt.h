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
//   time too short); its echo is the first segment the other way whose
//   TSecr equals that TSval. A TSecr past it means the echo was not seen
//   (lost before the monitor, or the receiver echoed a later segment): the
//   probe is dropped rather than timed long. A retransmitted segment never
//   starts a probe.
// - Sequence numbers, for segments without the option: the probe is a
//   segment that uses sequence space (payload, SYN or FIN) and is not a
//   retransmission; its echo is the first ACK the other way that covers
//   its end. Karn's rule (RFC 6298 §3): a retransmission in the probe's
//   direction cancels it (the ACK could answer either copy). The sample
//   includes the receiver's delayed-ACK wait, as the kernel's does.
// The handshake is two such exchanges (SYN -> SYN/ACK times B's leg,
// SYN/ACK -> ACK A's), so a connection seen from its start has both legs
// at its third packet. Traffic seen one way only, or a bulk transfer
// without timestamps picked up mid-way (its pure ACKs echo nothing), may
// time one leg or none: then there is no RTT (has_rtt() is false).
//
// The echo (a packet) also starts the next probe when it can, so the legs
// alternate. A probe older than kMaxProbeUs is abandoned.
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
  bool first_in_direction = false;  // The first packet seen from its sender.
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

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_TCP_RTT_H_
