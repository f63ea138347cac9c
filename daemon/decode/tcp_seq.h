// TCP sequence-number arithmetic, for the stages that follow streams (the
// tracker's retransmission and FIN accounting, DPI's reassembly).
//
// Thread-safety: pure functions.
#ifndef RUSTNET_DAEMON_DECODE_TCP_SEQ_H_
#define RUSTNET_DAEMON_DECODE_TCP_SEQ_H_

#include <cstdint>

namespace rustnet {

// Serial-number arithmetic (RFC 1982; RFC 9293 §3.4 compares sequence
// numbers so): a - b as a signed distance, correct across the wrap as long
// as the two are less than 2^31 apart. Positive if a is after b.
constexpr int32_t SeqDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DECODE_TCP_SEQ_H_
