// Helpers for the issue-19 dissector tests: run one conversation through a
// dissector whole, byte by byte and at several random splits, and require
// the same answer from every split.
#ifndef RUSTNET_TESTS_DAEMON_DPI_BREADTH_TEST_UTIL_H_
#define RUSTNET_TESTS_DAEMON_DPI_BREADTH_TEST_UTIL_H_

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/engine.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet::testing {

inline FlowInfo Tcp(uint16_t server_port) { return FlowInfo{kIpProtoTcp, 40000, server_port}; }
inline FlowInfo Udp(uint16_t server_port) { return FlowInfo{kIpProtoUdp, 40000, server_port}; }

struct Outcome {
  ParseState state = ParseState::kNeedMore;
  AppRecord record;
  DpiAnomalies anomalies;
};

// TCP: every split gives the same state and record (checked here); the
// whole-chunk outcome is returned. UDP: each chunk is one datagram.
inline Outcome Run(const Dissector& d, const FlowInfo& flow, const std::vector<Chunk>& chunks) {
  Outcome whole;
  whole.state = FeedSession(d, flow, chunks, Split::kWhole, &whole.record, &whole.anomalies);
  if (flow.transport == kIpProtoTcp) {
    std::vector<std::pair<Split, uint32_t>> splits = {{Split::kByteByByte, 1}};
    for (uint32_t seed = 1; seed <= 5; ++seed) splits.emplace_back(Split::kRandom, seed);
    for (const auto& [split, seed] : splits) {
      AppRecord r;
      DpiAnomalies a;
      const ParseState st = FeedSession(d, flow, chunks, split, &r, &a, seed);
      INFO("split " << static_cast<int>(split) << " seed " << seed);
      CHECK(st == whole.state);
      CHECK(r == whole.record);
    }
  }
  return whole;
}

// True if `d` would claim a flow whose first payload is `first`.
inline bool Claims(const Dissector& d, const FlowInfo& flow, const Bytes& first,
                   bool from_client = true) {
  return d.Probe(flow, from_client, first);
}

// Runs every truncation of `bytes` (a client's first datagram or stream
// prefix) through a fresh session: no crash, and a cut-short prefix never
// names the protocol with a field the whole would not have.
inline void EveryTruncation(const Dissector& d, const FlowInfo& flow, const Bytes& bytes) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    AppRecord r;
    DpiAnomalies a;
    auto session = d.NewSession(flow);
    (void)session->Feed(true, std::span<const uint8_t>(bytes.data(), n), &r, &a);
  }
}

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_DAEMON_DPI_BREADTH_TEST_UTIL_H_
