// bench_dpi_breadth: what issue 19 part B's dissectors cost. Reads a
// capture into memory once, decodes it once, then replays the decoded
// packets through the DPI engine with all dissectors and with only the ones
// before part B, interleaved REPS times so load from other users hits both
// alike; prints each round's times, the medians and their ratio. Also
// times each dissector's Probe() over every flow's first payload (ns per
// call): the cost every unclassified flow pays.
//
// Only DPI runs here (no flow table, no snapshots): the ratio is DPI's own,
// an upper bound for what the dissectors add to a whole `rustnetd --read`
// (bench/run.sh measures that replay, and DPI's share of it with --no-dpi).
//
// Usage: bench_dpi_breadth [--reps N] FILE
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/flow_key.h"
#include "daemon/capture/pcap_source.h"
#include "daemon/decode/decoder.h"
#include "daemon/dpi/engine.h"

namespace rustnet {
namespace {

struct Packet {
  DpiFlow flow;
  std::vector<uint8_t> payload;
};

struct Callbacks final : DpiCallbacks {
  const AppRecord* app() const override { return app_.get(); }
  void SetApp(std::shared_ptr<const AppRecord> r) override { app_ = std::move(r); }
  void Done() override { done = true; }
  std::shared_ptr<const AppRecord> app_;
  bool done = false;
};

// Decodes `file` into the packets DPI sees (TCP/UDP with payload), flows
// numbered and oriented as the tracker would (the first packet's sender is
// the client).
bool Load(const char* file, std::vector<Packet>* out) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(file, err);
  if (p == nullptr) {
    std::fprintf(stderr, "bench_dpi_breadth: %s\n", err);
    return false;
  }
  const auto link = LinkTypeFromDlt(pcap_datalink(p));
  if (!link) {
    std::fprintf(stderr, "bench_dpi_breadth: unsupported link type\n");
    pcap_close(p);
    return false;
  }
  Decoder decoder(*link);
  struct Flow {
    uint64_t id;
    uint8_t initiator;
    uint32_t payload_packets = 0;
  };
  absl::flat_hash_map<FlowKey, Flow> flows;
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1) {
    DecodedPacket d;
    const std::span<const uint8_t> frame(data, h->caplen);
    if (decoder.Decode(frame, h->len, 0, &d) != DecodeResult::kOk) continue;
    if (d.key.protocol != kIpProtoTcp && d.key.protocol != kIpProtoUdp) continue;
    const uint8_t direction = d.src_is_a ? 0 : 1;
    auto [it, fresh] = flows.try_emplace(d.key, Flow{flows.size() + 1, direction});
    if (d.payload_captured == 0) continue;
    Flow& f = it->second;
    ++f.payload_packets;
    Packet pk;
    pk.flow.id = f.id;
    pk.flow.transport = d.key.protocol;
    pk.flow.client_port = f.initiator == 0 ? d.key.port_a : d.key.port_b;
    pk.flow.server_port = f.initiator == 0 ? d.key.port_b : d.key.port_a;
    pk.flow.direction = direction;
    pk.flow.from_client = direction == f.initiator;
    pk.flow.stream_seq = d.seq + ((d.tcp_flags & 0x02) != 0 ? 1u : 0u);
    pk.flow.payload_packets = f.payload_packets;
    pk.payload.assign(frame.begin() + d.payload_offset,
                      frame.begin() + d.payload_offset + d.payload_captured);
    out->push_back(std::move(pk));
  }
  pcap_close(p);
  return true;
}

struct Result {
  double seconds = 0;
  uint64_t classified = 0;
};

Result Replay(const std::vector<Packet>& packets, bool with_breadth) {
  DpiEngine engine(DpiEngine::kDefaultMaxStateBytes, with_breadth);
  absl::flat_hash_map<uint64_t, Callbacks> state;
  const auto start = std::chrono::steady_clock::now();
  for (const Packet& p : packets) {
    Callbacks& c = state[p.flow.id];
    if (c.done) continue;
    engine.Process(p.flow, p.payload, c);
  }
  Result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.classified = engine.stats().classified;
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace rustnet

int main(int argc, char** argv) {
  using namespace rustnet;  // NOLINT
  int reps = 5;
  if (argc == 4 && std::strcmp(argv[1], "--reps") == 0) {
    reps = std::max(1, std::atoi(argv[2]));
    argv += 2;
    argc -= 2;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_dpi_breadth [--reps N] FILE\n");
    return 2;
  }
  std::vector<Packet> packets;
  if (!Load(argv[1], &packets)) return 1;
  std::printf("payload packets: %zu\n", packets.size());
  std::vector<double> with, without;
  uint64_t classified_with = 0, classified_without = 0;
  for (int i = 0; i < reps; ++i) {
    const Result a = Replay(packets, false);
    const Result b = Replay(packets, true);
    without.push_back(a.seconds);
    with.push_back(b.seconds);
    classified_without = a.classified;
    classified_with = b.classified;
    std::printf("round %d: without %.3f s, with %.3f s\n", i + 1, a.seconds, b.seconds);
  }
  const double m0 = Median(without), m1 = Median(with);
  const double b0 = *std::min_element(without.begin(), without.end());
  const double b1 = *std::min_element(with.begin(), with.end());
  std::printf(
      "DPI replay: without part B median %.3f s best %.3f s (%llu classified); with "
      "median %.3f s best %.3f s (%llu classified); ratio median %.3f best %.3f\n",
      m0, b0, static_cast<unsigned long long>(classified_without), m1, b1,
      static_cast<unsigned long long>(classified_with), m1 / m0, b1 / b0);

  // Probe cost per dissector over every flow's first payload.
  std::vector<const Packet*> firsts;
  for (const Packet& p : packets) {
    if (p.flow.payload_packets == 1) firsts.push_back(&p);
  }
  const auto dissectors = MakeDefaultDissectors(true);
  std::printf("Probe() per first payload where MayStartWith() lets it (%zu flows):\n",
              firsts.size());
  // Each payload is probed kCalls times in a row: after the first call it
  // is in cache, as in the engine, which probes every dissector on the
  // same payload one after the other.
  constexpr int kCalls = 8;
  for (const auto& d : dissectors) {
    uint64_t claimed = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const Packet* p : firsts) {
      const FlowInfo info{p->flow.transport, p->flow.client_port, p->flow.server_port};
      // As the engine does: Probe() only where the first byte may match.
      if (!d->MayStartWith(p->flow.transport, p->payload[0])) continue;
      for (int call = 0; call < kCalls; ++call) {
        claimed += d->Probe(info, p->flow.from_client, p->payload) ? 1u : 0u;
      }
    }
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        (kCalls * static_cast<double>(std::max<size_t>(1, firsts.size())));
    std::printf("  %-16s %7.1f ns  claims %llu\n", std::string(d->name()).c_str(), ns,
                static_cast<unsigned long long>(claimed / kCalls));
  }
  return 0;
}
