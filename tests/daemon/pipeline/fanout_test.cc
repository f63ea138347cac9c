// Capture fan-out in the pipeline (--capture-threads): with several sources
// read by their own capture threads, each connection is owned by the worker
// its symmetric hash picks, whichever thread read each direction. Both
// directions of many flows come through different capture threads (as the
// kernel's PACKET_FANOUT may deliver them); every connection ends once in
// one table, with each direction's packets and bytes, and with each
// direction's segments in order (no retransmission or gap seen).
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/pipeline/pipeline.h"
#include "tests/daemon/pipeline/frame_source.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;

using testing::Frame;
using testing::FrameSource;
using testing::kAck;
using testing::kSyn;
using testing::kSynAck;
using testing::kT0;
using testing::Tcp;
constexpr int kSegments = 6;            // Data segments each way, after the handshake.
constexpr size_t kClientPayload = 100;  // Bytes per client segment.
constexpr size_t kServerPayload = 700;  // Bytes per server segment.

struct Expected {
  uint64_t packets_each_way = 0;
  uint64_t client_bytes = 0;
  uint64_t server_bytes = 0;
};

TEST_CASE("fanout: both directions through different capture threads meet in one worker",
          "[pipeline][fanout]") {
  constexpr size_t kSources = 3;
  constexpr int kFlows = 150;
  for (const size_t workers : {1u, 2u, 3u}) {
    INFO(workers << " workers");
    std::vector<std::vector<Frame>> per_source(kSources);
    std::map<uint16_t, Expected> expected;  // By client port.
    for (int i = 0; i < kFlows; ++i) {
      const uint16_t port = static_cast<uint16_t>(20000 + i);
      const std::string client = absl::StrCat("10.1.", i % 7, ".", 1 + i % 200);
      const std::string server = absl::StrCat("10.2.0.", 1 + i % 13);
      // The client's direction through one capture thread, the server's
      // through another.
      std::vector<Frame>& up = per_source[static_cast<size_t>(i) % kSources];
      std::vector<Frame>& down = per_source[static_cast<size_t>(i + 1) % kSources];
      const int64_t t = kT0 + i * 10;
      Expected& e = expected[port];
      uint32_t cseq = 1000, sseq = 5000;
      up.push_back(Tcp(t, client, port, server, 443, kSyn, cseq++, 0, 0));
      down.push_back(Tcp(t + 1000, server, 443, client, port, kSynAck, sseq++, cseq, 0));
      e.client_bytes += up.back().data.size() - 14;  // IP lengths: the frame less Ethernet.
      e.server_bytes += down.back().data.size() - 14;
      for (int s = 0; s < kSegments; ++s) {
        const int64_t ts = t + 2000 + s * 2000;
        up.push_back(Tcp(ts, client, port, server, 443, kAck, cseq, sseq, kClientPayload));
        cseq += kClientPayload;
        down.push_back(Tcp(ts + 1000, server, 443, client, port, kAck, sseq, cseq,
                           kServerPayload));
        sseq += kServerPayload;
        e.client_bytes += up.back().data.size() - 14;
        e.server_bytes += down.back().data.size() - 14;
      }
      e.packets_each_way = 1 + kSegments;
    }
    std::vector<size_t> frames_in(kSources);
    std::vector<std::unique_ptr<PacketSource>> sources;
    for (size_t k = 0; k < kSources; ++k) {
      auto& f = per_source[k];
      std::stable_sort(f.begin(), f.end(),
                       [](const Frame& a, const Frame& b) { return a.time_us < b.time_us; });
      frames_in[k] = f.size();
      sources.push_back(std::make_unique<FrameSource>(std::move(f), absl::StrCat("src", k)));
    }
    PipelineOptions p;
    p.workers = workers;
    p.publish_snapshots = false;
    p.batch_size = 8;     // Many batches per capture thread and worker...
    p.queue_batches = 4;  // ... through short queues: producers wait for room.
    Pipeline pipeline(p, std::move(sources));
    CHECK(pipeline.capture_threads() == kSources);
    pipeline.Start();
    pipeline.Join();

    std::map<uint16_t, int> seen;
    bool owners_ok = true, counts_ok = true, order_ok = true;
    pipeline.ForEachConnection([&](const Connection& c) {
      const uint16_t port = c.key.port_a == 443 ? c.key.port_b : c.key.port_a;
      ++seen[port];
      // Worker i hands out ids i+1, i+1+n, ...: the owner is the one the
      // symmetric hash picks.
      if ((c.id - 1) % workers != c.key.Hash() % workers) owners_ok = false;
      const auto it = expected.find(port);
      if (it == expected.end()) {
        counts_ok = false;
        return;
      }
      const Expected& e = it->second;
      const std::multiset<uint64_t> bytes = {c.bytes[0], c.bytes[1]};
      if (c.packets[0] != e.packets_each_way || c.packets[1] != e.packets_each_way ||
          bytes != std::multiset<uint64_t>{e.client_bytes, e.server_bytes}) {
        counts_ok = false;
      }
      // Each direction's segments came in their order.
      if (c.tcp.retransmissions != 0 || c.tcp.out_of_order != 0) order_ok = false;
    });
    CHECK(seen.size() == expected.size());
    bool once = true;
    for (const auto& [port, n] : seen) once = once && n == 1;
    CHECK(once);
    CHECK(owners_ok);
    CHECK(counts_ok);
    CHECK(order_ok);

    const PipelineStats s = pipeline.Stats();
    REQUIRE(s.capture_threads.size() == kSources);
    uint64_t total = 0;
    for (size_t k = 0; k < kSources; ++k) {
      CHECK(s.capture_threads[k].packets == frames_in[k]);
      CHECK(s.capture_threads[k].tracked == frames_in[k]);
      CHECK(s.capture_threads[k].capture.received == frames_in[k]);
      CHECK(s.capture_threads[k].queue_dropped == 0);
      total += frames_in[k];
    }
    CHECK(s.packets == total);
    CHECK(s.tracked == total);
    CHECK(s.capture.received == total);  // Summed over the sources.
    CHECK(s.flows.created == static_cast<uint64_t>(kFlows));
    CHECK(s.flows.replaced == 0);
  }
}

}  // namespace
}  // namespace rustnet
