// The continuous TCP RTT estimator, on hand-built exchanges whose RTT is
// known: first the estimator alone, then through the decoder and the flow
// table from wire bytes (TCP timestamps in the packets).
#include "daemon/track/tcp_rtt.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/decode/decoder.h"
#include "daemon/track/flow_table.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kSynAck = 0x12;

// A segment as the flow table would describe it.
TcpRttSegment Seg(int64_t t, int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len) {
  TcpRttSegment s;
  s.timestamp_us = t;
  s.dir = dir;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.seq_len = len + ((flags & kSyn) ? 1u : 0u) + ((flags & kFin) ? 1u : 0u);
  return s;
}

TcpRttSegment Ts(TcpRttSegment s, uint32_t tsval, uint32_t tsecr) {
  s.has_timestamps = true;
  s.tsval = tsval;
  s.tsecr = tsecr;
  return s;
}

TEST_CASE("tcp_rtt_encoding_exact_below_32ms_within_0_1_percent_above", "[tcp_rtt]") {
  for (uint64_t us : {0ull, 1ull, 999ull, 32767ull}) CHECK(TcpRtt::Decode(TcpRtt::Encode(us)) == us);
  for (uint64_t us = 32768; us < 2'140'000'000ull; us = us * 3 / 2 + 7) {
    const double back = TcpRtt::Decode(TcpRtt::Encode(us));
    INFO(us);
    CHECK(std::abs(back - static_cast<double>(us)) <= static_cast<double>(us) / 1000 + 1);
  }
  // Beyond ~35 minutes: the largest value, never a wrap to a small one.
  CHECK(TcpRtt::Decode(TcpRtt::Encode(UINT64_MAX / 2)) > 2'000'000'000u);
}

TEST_CASE("tcp_rtt_handshake_by_sequence_numbers_times_both_legs", "[tcp_rtt]") {
  // A (client) is 2 ms from the monitor, B (server) 30 ms: SYN at 0,
  // SYN/ACK 30 ms later, ACK 2 ms after that.
  TcpRtt r;
  r.OnSegment(Seg(1'000'000, 0, kSyn, 100, 0, 0));
  CHECK_FALSE(r.has_rtt());
  r.OnSegment(Seg(1'030'000, 1, kSynAck, 5000, 101, 0));
  CHECK(r.leg_srtt_us(1) == 30'000);
  CHECK_FALSE(r.has_rtt());  // A's leg not timed yet.
  CHECK(r.srtt_us() == 0);
  r.OnSegment(Seg(1'032'000, 0, kAck, 101, 5001, 0));
  REQUIRE(r.has_rtt());
  CHECK(r.leg_srtt_us(0) == 2'000);
  CHECK(r.srtt_us() == 32'000);
  // RFC 6298 §2.2: RTTVAR = R/2 per leg.
  CHECK(r.rttvar_us() == 16'000);
}

TEST_CASE("tcp_rtt_smooths_as_rfc6298", "[tcp_rtt]") {
  // Request/response: A sends 100 bytes, B answers 25 ms later (acking
  // them, with data), A acks 5 ms after that. Then B's leg grows to 45 ms.
  TcpRtt r;
  r.OnSegment(Seg(0, 0, kSyn, 0, 0, 0));
  r.OnSegment(Seg(25'000, 1, kSynAck, 0, 1, 0));
  r.OnSegment(Seg(30'000, 0, kAck, 1, 1, 0));
  REQUIRE(r.srtt_us() == 30'000);
  int64_t t = 1'000'000;
  uint32_t a_seq = 1, b_seq = 1;
  // Reference values computed here as the RFC's formulas in doubles.
  double srtt_b = 25'000, var_b = 12'500;
  for (int i = 0; i < 6; ++i) {
    const int64_t leg_b = i < 3 ? 25'000 : 45'000;
    r.OnSegment(Seg(t, 0, kAck, a_seq, b_seq, 100));
    a_seq += 100;
    r.OnSegment(Seg(t + leg_b, 1, kAck, b_seq, a_seq, 200));
    b_seq += 200;
    r.OnSegment(Seg(t + leg_b + 5'000, 0, kAck, a_seq, b_seq, 0));
    var_b = 0.75 * var_b + 0.25 * std::abs(srtt_b - static_cast<double>(leg_b));
    srtt_b = 0.875 * srtt_b + 0.125 * static_cast<double>(leg_b);
    t += 100'000;
  }
  CHECK(r.leg_srtt_us(0) == 5'000);
  CHECK(std::abs(static_cast<double>(r.leg_srtt_us(1)) - srtt_b) <= 2);
  CHECK(std::abs(static_cast<double>(r.leg_rttvar_us(1)) - var_b) <= 2);
  CHECK(r.srtt_us() == r.leg_srtt_us(0) + r.leg_srtt_us(1));
  CHECK(r.srtt_us() > 30'000);  // Moved toward 50 ms.
  CHECK(r.srtt_us() < 50'000);
}

TEST_CASE("tcp_rtt_karn_rule_skips_retransmitted_probe", "[tcp_rtt]") {
  TcpRtt r;
  r.OnSegment(Seg(0, 0, kSyn, 0, 0, 0));
  r.OnSegment(Seg(10'000, 1, kSynAck, 0, 1, 0));
  r.OnSegment(Seg(11'000, 0, kAck, 1, 1, 0));
  REQUIRE(r.leg_srtt_us(1) == 10'000);
  // A sends 1..101 at 1 s; it is retransmitted at 1.5 s; the ACK comes at
  // 1.51 s. Which copy it answers is unknown: no sample.
  r.OnSegment(Seg(1'000'000, 0, kAck, 1, 1, 100));
  TcpRttSegment again = Seg(1'500'000, 0, kAck, 1, 1, 100);
  again.retransmission = true;
  r.OnSegment(again);
  r.OnSegment(Seg(1'510'000, 1, kAck, 1, 101, 0));
  CHECK(r.leg_srtt_us(1) == 10'000);
  // The next fresh segment is timed again.
  r.OnSegment(Seg(2'000'000, 0, kAck, 101, 1, 100));
  r.OnSegment(Seg(2'010'000, 1, kAck, 1, 201, 0));
  CHECK(r.leg_srtt_us(1) == 10'000);
  CHECK(r.leg_rttvar_us(1) == 3'750);  // 3/4 of 5000: a sample equal to SRTT.
}

TEST_CASE("tcp_rtt_timestamps_time_both_legs_of_a_bulk_transfer", "[tcp_rtt]") {
  // A sends data, B only pure ACKs: sequence numbers cannot time A's leg,
  // timestamps can (B's TSval comes back in A's TSecr). A is 1 ms from the
  // monitor, B 20 ms. TS clocks tick every 1 ms (Linux), A's from 7000,
  // B's from 900000.
  TcpRtt r;
  r.OnSegment(Ts(Seg(0, 0, kSyn, 0, 0, 0), 7000, 0));
  r.OnSegment(Ts(Seg(20'000, 1, kSynAck, 0, 1, 0), 900'020, 7000));
  r.OnSegment(Ts(Seg(21'000, 0, kAck, 1, 1, 0), 7021, 900'020));
  REQUIRE(r.srtt_us() == 21'000);
  // Bulk, in capture order: every 30 ms A sends two segments with the same
  // TSval (one tick), B acks 20 ms after the first echoing its TSval, and
  // A's next segment echoes B's ack's TSval 1 ms after it.
  uint32_t seq = 1;
  for (int64_t t = 100'000; t < 400'000; t += 30'000) {
    const uint32_t a_ts = 7000 + static_cast<uint32_t>(t / 1000);
    const uint32_t b_ts = 900'000 + static_cast<uint32_t>((t + 20'000) / 1000);
    r.OnSegment(Ts(Seg(t, 0, kAck, seq, 1, 1000), a_ts, 0));
    r.OnSegment(Ts(Seg(t + 500, 0, kAck, seq + 1000, 1, 1000), a_ts, 0));
    seq += 2000;
    r.OnSegment(Ts(Seg(t + 20'000, 1, kAck, 1, seq, 0), b_ts, a_ts));
    r.OnSegment(Ts(Seg(t + 21'000, 0, kAck, seq, 1, 1000), a_ts + 21, b_ts));
    seq += 1000;
  }
  CHECK(r.leg_srtt_us(0) == 1'000);
  CHECK(r.leg_srtt_us(1) == 20'000);
  CHECK(r.srtt_us() == 21'000);
}

TEST_CASE("tcp_rtt_timestamps_probe_waits_for_a_new_tick", "[tcp_rtt]") {
  // Mid-connection (no handshake seen): A's first packet may share its
  // TSval with earlier ones the monitor never saw, so it is not timed; the
  // first with the next TSval is.
  TcpRtt r;
  r.OnSegment(Ts(Seg(0, 0, kAck, 1, 1, 100), 50, 10));  
  r.OnSegment(Ts(Seg(4'000, 1, kAck, 1, 101, 0), 80, 50));  // Echo of the untimed 50.
  CHECK(r.leg_srtt_us(1) == 0);
  r.OnSegment(Ts(Seg(5'000, 0, kAck, 101, 1, 100), 50, 10));  // Same tick.
  r.OnSegment(Ts(Seg(6'000, 0, kAck, 201, 1, 100), 51, 10));  // New tick: timed.
  r.OnSegment(Ts(Seg(13'000, 1, kAck, 1, 301, 0), 81, 51));
  CHECK(r.leg_srtt_us(1) == 7'000);
}

TEST_CASE("tcp_rtt_timestamps_echo_of_later_segment_drops_probe", "[tcp_rtt]") {
  TcpRtt r;
  r.OnSegment(Ts(Seg(0, 0, kAck, 1, 1, 100), 100, 7));
  r.OnSegment(Ts(Seg(1'000, 0, kAck, 101, 1, 100), 101, 7));  // New tick: the probe.
  // Its echo was lost before the monitor; the next packet from B echoes a
  // later TSval of A's: no sample (it would time past the probe's echo).
  r.OnSegment(Ts(Seg(50'000, 1, kAck, 1, 201, 0), 500, 140));
  CHECK(r.leg_srtt_us(1) == 0);
}

TEST_CASE("tcp_rtt_syn_with_timestamps_answered_without_times_both_legs", "[tcp_rtt]") {
  // The server has timestamps off (RFC 7323: then neither side sends
  // them): the handshake still times both legs, and later exchanges by
  // sequence numbers go on. (Found in review: the SYN's timestamp probe
  // used to wait 10 s for an echo that never comes.)
  TcpRtt r;
  constexpr uint8_t kPsh = 0x08;
  r.OnSegment(Ts(Seg(1'000'000, 0, kSyn, 100, 0, 0), 5000, 0));
  r.OnSegment(Seg(1'020'000, 1, kSynAck, 900, 101, 0));   // +20 ms, no option.
  r.OnSegment(Seg(1'020'500, 0, kAck, 101, 901, 0));       // +0.5 ms.
  REQUIRE(r.has_rtt());
  CHECK(r.leg_srtt_us(1) == 20'000);
  CHECK(r.leg_srtt_us(0) == 500);
  int64_t t = 1'030'000;
  uint32_t cseq = 101, sseq = 901;
  for (int i = 0; i < 20; ++i) {
    r.OnSegment(Seg(t, 0, kAck | kPsh, cseq, sseq, 100));
    cseq += 100;
    r.OnSegment(Seg(t + 30'000, 1, kAck | kPsh, sseq, cseq, 500));
    sseq += 500;
    r.OnSegment(Seg(t + 30'500, 0, kAck, cseq, sseq, 0));
    t += 100'000;
  }
  // B's leg moved towards 30 ms; A's stays 0.5 ms.
  CHECK(r.leg_srtt_us(1) > 25'000);
  CHECK(r.leg_srtt_us(1) <= 30'000);
  CHECK(r.leg_srtt_us(0) == 500);

  // A timestamp probe mid-stream answered by a segment without the option
  // is dropped at once, so a sequence-number probe can start.
  TcpRtt m;
  m.OnSegment(Ts(Seg(0, 0, kAck, 1, 1, 100), 50, 10));
  m.OnSegment(Ts(Seg(1'000, 0, kAck, 101, 1, 100), 51, 10));  // Timestamp probe.
  m.OnSegment(Seg(2'000, 1, kAck, 1, 201, 10));   // No option: dropped; starts its own.
  m.OnSegment(Seg(5'000, 0, kAck, 201, 11, 0));   // Acks it: A's leg, 3 ms.
  CHECK(m.leg_srtt_us(0) == 3'000);
}

TEST_CASE("tcp_rtt_probe_ends_after_a_silence_longer_than_its_clock", "[tcp_rtt]") {
  // The probe's time is kept modulo 2^28 µs (~268 s): an answer that long
  // plus 5 ms later would read 5 ms. The flow table passes the time since
  // the connection's previous packet, which ends the probe first. (Found
  // in review.)
  TcpRtt r;
  r.OnSegment(Seg(1'000'000, 0, kAck, 1, 1, 100));
  TcpRttSegment late = Seg(1'000'000 + (int64_t{1} << 28) + 5'000, 1, kAck, 1, 101, 0);
  late.idle_us = (int64_t{1} << 28) + 5'000;
  r.OnSegment(late);
  CHECK(r.leg_srtt_us(1) == 0);
  // Without the silence (the same ages, packets in between) it is timed.
  TcpRtt q;
  q.OnSegment(Seg(1'000'000, 0, kAck, 1, 1, 100));
  TcpRttSegment answer = Seg(1'005'000, 1, kAck, 1, 101, 0);
  answer.idle_us = 5'000;
  q.OnSegment(answer);
  CHECK(q.leg_srtt_us(1) == 5'000);
}

TEST_CASE("tcp_rtt_stale_probe_is_abandoned", "[tcp_rtt]") {
  TcpRtt r;
  r.OnSegment(Seg(0, 0, kSyn, 0, 0, 0));
  // An answer 20 s later is not a round trip (kMaxProbeUs).
  r.OnSegment(Seg(20'000'000, 1, kSynAck, 0, 1, 0));
  CHECK(r.leg_srtt_us(1) == 0);
  // A clock that steps back does not make a sample either.
  TcpRtt back;
  back.OnSegment(Seg(5'000'000, 0, kSyn, 0, 0, 0));
  back.OnSegment(Seg(4'000'000, 1, kSynAck, 0, 1, 0));
  CHECK(back.leg_srtt_us(1) == 0);
}

// --- Through the decoder and the flow table, from wire bytes. ---

using testing::Bytes;

Bytes TsOption(uint32_t tsval, uint32_t tsecr) {
  Bytes o;
  testing::Put8(o, 1);  // NOP
  testing::Put8(o, 1);  // NOP
  testing::Put8(o, 8);
  testing::Put8(o, 10);
  testing::Put32(o, tsval);
  testing::Put32(o, tsecr);
  return o;
}

struct Wire {
  Decoder decoder{LinkType::kEthernet};
  FlowTable table{FlowTable::Options{}};

  // One segment from the client (from_client) or the server, IPv4 or 6.
  Connection* Send(bool v6, bool from_client, int64_t t, uint8_t flags, uint32_t seq,
                   uint32_t ack, size_t payload, std::optional<std::pair<uint32_t, uint32_t>> ts) {
    testing::TcpSpec spec;
    spec.sport = from_client ? 40000 : 443;
    spec.dport = from_client ? 443 : 40000;
    spec.seq = seq;
    spec.ack = ack;
    spec.flags = flags;
    spec.payload.assign(payload, 'x');
    if (ts) spec.options = TsOption(ts->first, ts->second);
    const std::string c = v6 ? "2001:db8::1" : "10.0.0.1";
    const std::string s = v6 ? "2001:db8::2" : "10.0.0.2";
    const Bytes l4 = testing::TcpSegment(spec);
    const Bytes ip = v6 ? testing::Ipv6Packet(from_client ? c : s, from_client ? s : c, 6, l4)
                        : testing::Ipv4Packet(from_client ? c : s, from_client ? s : c, 6, l4);
    const Bytes frame = testing::EthernetFrame(v6 ? 0x86dd : 0x0800, ip);
    DecodedPacket p;
    REQUIRE(decoder.Decode(frame, static_cast<uint32_t>(frame.size()), t, &p) ==
            DecodeResult::kOk);
    CHECK(p.has_tcp_timestamps == ts.has_value());
    if (ts) {
      CHECK(p.tsval == ts->first);
      CHECK(p.tsecr == ts->second);
    }
    return table.Process(p, p.key.Hash());
  }
};

TEST_CASE("tcp_rtt_from_wire_timestamps_ipv4_and_ipv6", "[tcp_rtt]") {
  for (const bool v6 : {false, true}) {
    INFO("v6 " << v6);
    Wire w;
    using P = std::pair<uint32_t, uint32_t>;
    // Client 3 ms from the monitor, server 40 ms.
    w.Send(v6, true, 1'000'000, kSyn, 10, 0, 0, P{1000, 0});
    w.Send(v6, false, 1'040'000, kSynAck, 70, 11, 0, P{5000, 1000});
    Connection* c = w.Send(v6, true, 1'043'000, kAck, 11, 71, 0, P{1043, 5000});
    REQUIRE(c != nullptr);
    CHECK(c->tcp.handshake_rtt_us == 43'000);
    CHECK(c->tcp.rtt.srtt_us() == 43'000);
    // Later the server's leg is 60 ms for a request/response.
    w.Send(v6, true, 2'000'000, kAck | 0x08, 11, 71, 300, P{2000, 5000});
    w.Send(v6, false, 2'060'000, kAck | 0x08, 71, 311, 900, P{6020, 2000});
    c = w.Send(v6, true, 2'063'000, kAck, 311, 971, 0, P{2063, 6020});
    REQUIRE(c != nullptr);
    const int server = 1 - c->initiator;
    // RFC 6298 §2.3: 40 ms + (60 - 40) / 8 = 42.5 ms (stored within 0.1 %).
    CHECK(std::abs(static_cast<double>(c->tcp.rtt.leg_srtt_us(server)) - 42'500) <= 42.5);
    CHECK(c->tcp.rtt.leg_srtt_us(1 - server) == 3'000);
    CHECK(c->tcp.rtt.srtt_us() == c->tcp.rtt.leg_srtt_us(0) + c->tcp.rtt.leg_srtt_us(1));
  }
}

TEST_CASE("tcp_rtt_from_wire_without_timestamps_uses_sequence_numbers", "[tcp_rtt]") {
  Wire w;
  w.Send(false, true, 0, kSyn, 10, 0, 0, std::nullopt);
  w.Send(false, false, 8'000, kSynAck, 70, 11, 0, std::nullopt);
  Connection* c = w.Send(false, true, 9'000, kAck, 11, 71, 0, std::nullopt);
  REQUIRE(c != nullptr);
  CHECK(c->tcp.rtt.srtt_us() == 9'000);
  // The options list may hold other options before the timestamps, and a
  // truncated list is ignored (no timestamps, nothing counted).
  testing::TcpSpec spec;
  spec.flags = kAck;
  spec.options = {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};  // MSS, NOP, NOP, TS.
  Bytes frame = testing::EthernetFrame(
      0x0800, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6, testing::TcpSegment(spec)));
  Decoder d(LinkType::kEthernet);
  DecodedPacket p;
  REQUIRE(d.Decode(frame, static_cast<uint32_t>(frame.size()), 0, &p) == DecodeResult::kOk);
  CHECK(p.has_tcp_timestamps);
  CHECK(p.tsval == 7);
  CHECK(p.tsecr == 9);
  spec.options = {1, 1, 8, 12, 0, 0, 0, 7, 0, 0, 0, 9};  // Length past the list.
  frame = testing::EthernetFrame(
      0x0800, testing::Ipv4Packet("10.0.0.1", "10.0.0.2", 6, testing::TcpSegment(spec)));
  REQUIRE(d.Decode(frame, static_cast<uint32_t>(frame.size()), 0, &p) == DecodeResult::kOk);
  CHECK_FALSE(p.has_tcp_timestamps);
}

}  // namespace
}  // namespace rustnet
