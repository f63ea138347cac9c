#include "daemon/track/tcp_rtt.h"

#include <algorithm>

namespace rustnet {

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



}  // namespace rustnet
