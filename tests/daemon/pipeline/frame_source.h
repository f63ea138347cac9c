// Test helpers for the pipeline's tests: frames replayed from memory as a
// file would be (never live, nothing dropped), and hand-built TCP/UDP
// frames over Ethernet and IPv4.
#ifndef RUSTNET_TESTS_DAEMON_PIPELINE_FRAME_SOURCE_H_
#define RUSTNET_TESTS_DAEMON_PIPELINE_FRAME_SOURCE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daemon/capture/packet_source.h"
#include "tests/test_util.h"

namespace rustnet::testing {

inline constexpr int64_t kT0 = 1'700'000'000'000'000;  // us
inline constexpr int64_t kSecond = 1'000'000;
inline constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04, kSynAck = 0x12;

struct Frame {
  int64_t time_us;
  Bytes data;
};

// Replays frames from memory, as a file would. Stats() counts the frames
// read so far as received.
class FrameSource final : public PacketSource {
 public:
  explicit FrameSource(std::vector<Frame> frames, std::string name = "frames")
      : frames_(std::move(frames)), name_(std::move(name)) {}
  NextResult Next(RawPacket* out) override {
    if (next_ == frames_.size()) return NextResult::kEnd;
    const Frame& f = frames_[next_++];
    out->timestamp_us = f.time_us;
    out->wire_length = static_cast<uint32_t>(f.data.size());
    out->data = f.data;
    return NextResult::kPacket;
  }
  LinkType link_type() const override { return LinkType::kEthernet; }
  const std::string& name() const override { return name_; }
  bool live() const override { return false; }
  CaptureStats Stats() override {
    CaptureStats s;
    s.received = next_;
    return s;
  }
  void Interrupt() override {}
  std::string error() const override { return {}; }

 private:
  std::vector<Frame> frames_;
  size_t next_ = 0;
  std::string name_;
};

inline Frame Tcp(int64_t t, const std::string& src, uint16_t sport, const std::string& dst,
                 uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, size_t payload = 0) {
  TcpSpec s;
  s.sport = sport;
  s.dport = dport;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.payload.assign(payload, 'x');
  return Frame{t, EthernetFrame(0x0800, Ipv4Packet(src, dst, 6, TcpSegment(s)))};
}

inline Frame Udp(int64_t t, const std::string& src, uint16_t sport, const std::string& dst,
                 uint16_t dport) {
  return Frame{t, EthernetFrame(0x0800, Ipv4Packet(src, dst, 17,
                                                   UdpDatagram(sport, dport, {1, 2, 3})))};
}

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_DAEMON_PIPELINE_FRAME_SOURCE_H_
