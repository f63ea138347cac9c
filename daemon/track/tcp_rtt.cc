#include "daemon/track/tcp_rtt.h"

#include <algorithm>

namespace rustnet {
namespace {

constexpr uint8_t kFlagSyn = 0x02;
constexpr uint8_t kFlagAck = 0x10;

// RFC 1982 serial-number difference (as the flow table's).
int32_t Serial(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

}  // namespace

uint16_t TcpRtt::Encode(uint64_t us) {
  if (us < 0x8000) return static_cast<uint16_t>(us);
  // (2048 + m) << (e + 4), e in 0..15, m in 0..2047.
  uint32_t e = 0;
  while (e < 15 && (us >> (e + 4)) >= 4096) ++e;
  uint64_t m = (us + (uint64_t{1} << (e + 3))) >> (e + 4);  // Rounded to nearest.
  if (m >= 4096) {
    if (e == 15) return 0xffff;
    ++e;
    m >>= 1;
  }
  if (m >= 4096) return 0xffff;  // Beyond the range: the largest value.
  return static_cast<uint16_t>(0x8000 | (e << 11) | (m - 2048));
}

uint32_t TcpRtt::Decode(uint16_t code) {
  if (code < 0x8000) return code;
  const uint32_t e = (code >> 11) & 15;
  const uint32_t m = code & 2047;
  return (2048 + m) << (e + 4);
}

uint32_t TcpRtt::srtt_us() const {
  if (!has_rtt()) return 0;
  return Decode(srtt_[0]) + Decode(srtt_[1]);  // Each < 2^31: no overflow.
}

uint32_t TcpRtt::rttvar_us() const {
  if (!has_rtt()) return 0;
  return Decode(rttvar_[0]) + Decode(rttvar_[1]);
}

int64_t TcpRtt::Age(int64_t now_us) const {
  // Modulo 2^28 µs (~268 s): right for any age below kMaxProbeUs, and a
  // probe is never kept longer than that unless no packet came at all;
  // a wrapped age then reads short, which at worst gives one sample an
  // idle gap long (bounded by the 2^28 µs range; see OnSegment).
  return static_cast<int64_t>((static_cast<uint64_t>(now_us) - probe_time_) & kTimeMask);
}

void TcpRtt::Sample(int endpoint, int64_t us) {
  const int64_t r = std::clamp<int64_t>(us, 1, INT32_MAX);
  uint16_t& s = srtt_[endpoint];
  uint16_t& v = rttvar_[endpoint];
  if (s == 0) {
    // RFC 6298 §2.2.
    s = Encode(static_cast<uint64_t>(r));
    v = Encode(static_cast<uint64_t>(std::max<int64_t>(r / 2, 1)));
    return;
  }
  // RFC 6298 §2.3 (alpha 1/8, beta 1/4), RTTVAR first with the old SRTT.
  const int64_t srtt = Decode(s);
  const int64_t rttvar = Decode(v);
  const int64_t dev = srtt > r ? srtt - r : r - srtt;
  const int64_t new_var = rttvar + (dev - rttvar) / 4;
  const int64_t new_srtt = srtt + (r - srtt) / 8;
  s = Encode(static_cast<uint64_t>(std::max<int64_t>(new_srtt, 1)));
  v = Encode(static_cast<uint64_t>(std::max<int64_t>(new_var, 0)));
}

void TcpRtt::Start(const TcpRttSegment& s, bool timestamps, uint32_t value, Phase phase) {
  probe_value_ = value;
  probe_time_ = static_cast<uint32_t>(static_cast<uint64_t>(s.timestamp_us) & kTimeMask);
  phase_ = static_cast<uint32_t>(phase) & 3u;
  probe_dir_ = static_cast<uint32_t>(s.dir & 1);
  probe_ts_ = timestamps ? 1 : 0;
}

void TcpRtt::OnSegment(const TcpRttSegment& s) {
  const int dir = s.dir & 1;
  const bool ack = (s.flags & kFlagAck) != 0;
  // Packets are in capture order, but a clock stepping back must not make
  // an age out of range: treat it as stale.
  if (phase_ != kIdle) {
    const int64_t age = Age(s.timestamp_us);
    const int64_t limit = phase_ == kTiming ? kMaxProbeUs : kMaxArmUs;
    if (age > limit) phase_ = kIdle;
  }

  // 1. Does it answer the probe?
  if (phase_ == kTiming) {
    if (static_cast<int>(probe_dir_) != dir) {
      if (probe_ts_) {
        if (s.has_timestamps) {
          const int32_t d = Serial(s.tsecr, probe_value_);
          if (d == 0) {
            Sample(dir, Age(s.timestamp_us));
            phase_ = kIdle;
          } else if (d > 0) {
            phase_ = kIdle;  // Echo of a later segment: this probe's was missed.
          }
        }
      } else if (ack && Serial(s.ack, probe_value_) >= 0) {
        Sample(dir, Age(s.timestamp_us));
        phase_ = kIdle;
      }
    } else if (!probe_ts_ && s.retransmission) {
      phase_ = kIdle;  // Karn: the ACK could answer either copy.
    }
  }

  // 2. Can it start the next probe?
  if (phase_ == kTiming || s.retransmission) return;
  if (s.has_timestamps) {
    if (s.first_in_direction || (s.flags & kFlagSyn) != 0) {
      // Nothing from this sender came before: its TSval is new.
      Start(s, true, s.tsval, kTiming);
    } else if (phase_ == kArmed && static_cast<int>(probe_dir_) == dir) {
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
