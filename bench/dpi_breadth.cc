// bench_dpi_breadth: what the breadth of DPI costs. Reads a capture into
// memory, decodes it once, then feeds every flow's payload packets to a
// DpiEngine with the default dissectors and to one with only the round-1
// dissectors (TLS, HTTP, SSH, QUIC, DNS, DHCP, STUN, NTP), interleaved REPS
// times so load from other users hits both alike; prints the medians and
// their ratio, and each dissector's Probe cost in ns (over every flow's
// first payload).
//
// Usage: bench_dpi_breadth CAPTURE [REPS]   (bench/run.sh runs it on the mixed capture)
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
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

struct Flow : DpiCallbacks {
  const AppRecord* app() const override { return record.get(); }
  void SetApp(std::shared_ptr<const AppRecord> r) override { record = std::move(r); }
  void Done() override { done = true; }
  std::shared_ptr<const AppRecord> record;
  bool done = false;
};

std::vector<std::unique_ptr<Dissector>> Round1() {
  static const std::set<std::string_view> kNames = {"tls",  "http", "ssh",  "quic",
                                                    "dns",  "dhcp", "stun", "ntp"};
  std::vector<std::unique_ptr<Dissector>> out;
  for (auto& d : MakeDefaultDissectors()) {
    if (kNames.count(d->name()) != 0) out.push_back(std::move(d));
  }
  return out;
}

// Feeds every packet; returns seconds and the flows classified.
double Run(const std::vector<Packet>& packets, size_t flows, bool all, size_t* classified) {
  DpiEngine engine(DpiEngine::kDefaultMaxStateBytes,
                   all ? MakeDefaultDissectors() : Round1());
  std::vector<Flow> state(flows);
  const auto start = std::chrono::steady_clock::now();
  for (const Packet& p : packets) {
    Flow& f = state[p.flow.id - 1];
    if (f.done) continue;
    engine.Process(p.flow, p.payload, f);
  }
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *classified = 0;
  for (const Flow& f : state) *classified += f.record != nullptr;
  return s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_dpi_breadth CAPTURE [REPS]\n");
    return 2;
  }
  const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(argv[1], err);
  if (pcap == nullptr) {
    std::fprintf(stderr, "bench_dpi_breadth: %s\n", err);
    return 1;
  }
  const auto link = LinkTypeFromDlt(pcap_datalink(pcap));
  if (!link) {
    std::fprintf(stderr, "bench_dpi_breadth: unsupported link type\n");
    return 1;
  }
  Decoder decoder(*link);
  struct FlowInfoOf {
    uint64_t id;
    uint8_t initiator;  // 0: A, 1: B
    uint32_t payload_packets = 0;
  };
  absl::flat_hash_map<FlowKey, FlowInfoOf> ids;
  std::vector<Packet> packets;
  std::vector<std::vector<uint8_t>> first_payloads;  // For the probe costs.
  std::vector<DpiFlow> first_flows;
  size_t total = 0;
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap, &h, &data) == 1) {
    ++total;
    DecodedPacket p;
    const int64_t ts = int64_t{h->ts.tv_sec} * 1'000'000 + h->ts.tv_usec;
    if (decoder.Decode({data, h->caplen}, h->len, ts, &p) != DecodeResult::kOk) continue;
    if (p.key.protocol != kIpProtoTcp && p.key.protocol != kIpProtoUdp) continue;
    auto [it, fresh] = ids.try_emplace(p.key, FlowInfoOf{ids.size() + 1,
                                                         static_cast<uint8_t>(p.src_is_a ? 0 : 1)});
    if (p.payload_captured == 0) continue;
    FlowInfoOf& fi = it->second;
    Packet out;
    DpiFlow& f = out.flow;
    f.id = fi.id;
    f.transport = p.key.protocol;
    f.client_port = fi.initiator == 0 ? p.key.port_a : p.key.port_b;
    f.server_port = fi.initiator == 0 ? p.key.port_b : p.key.port_a;
    f.client_address = fi.initiator == 0 ? p.key.addr_a : p.key.addr_b;
    f.server_address = fi.initiator == 0 ? p.key.addr_b : p.key.addr_a;
    f.direction = p.src_is_a ? 0 : 1;
    f.from_client = f.direction == fi.initiator;
    f.stream_seq = p.seq + ((p.tcp_flags & 0x02) != 0 ? 1u : 0u);
    f.payload_packets = ++fi.payload_packets;
    f.timestamp_us = ts;
    out.payload.assign(data + p.payload_offset, data + p.payload_offset + p.payload_captured);
    if (fi.payload_packets == 1) {
      first_payloads.push_back(out.payload);
      first_flows.push_back(f);
    }
    packets.push_back(std::move(out));
  }
  pcap_close(pcap);
  std::printf("capture: %zu packets, %zu flows, %zu payload packets\n", total, ids.size(),
              packets.size());

  std::vector<double> base, all;
  size_t base_classified = 0, all_classified = 0;
  for (int i = 0; i < reps; ++i) {
    base.push_back(Run(packets, ids.size(), false, &base_classified));
    all.push_back(Run(packets, ids.size(), true, &all_classified));
  }
  const double b = Median(base), a = Median(all);
  std::vector<double> pair_ratio;
  for (size_t i = 0; i < base.size(); ++i) pair_ratio.push_back(all[i] / base[i]);
  std::printf("dpi, round-1 dissectors: %.3f s (median of %d, best %.3f), %zu flows named\n", b,
              reps, *std::min_element(base.begin(), base.end()), base_classified);
  std::printf("dpi, all dissectors:     %.3f s (median of %d, best %.3f), %zu flows named\n", a,
              reps, *std::min_element(all.begin(), all.end()), all_classified);
  std::printf("ratio all / round-1: %.3f of the medians, %.3f the median of each round's "
              "ratio (+%.3f s)\n",
              a / b, Median(pair_ratio), a - b);

  // Probe cost per dissector, over every flow's first payload.
  std::printf("probe cost per dissector (ns per first payload, %zu payloads):\n",
              first_payloads.size());
  for (const auto& d : MakeDefaultDissectors()) {
    size_t yes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      for (size_t i = 0; i < first_payloads.size(); ++i) {
        FlowInfo fi{first_flows[i].transport, first_flows[i].client_port,
                    first_flows[i].server_port};
        yes += d->Probe(fi, first_flows[i].from_client, first_payloads[i]) ? 1u : 0u;
      }
    }
    const double ns = std::chrono::duration<double, std::nano>(
                          std::chrono::steady_clock::now() - start).count() /
                      static_cast<double>(std::max<size_t>(
                          1, first_payloads.size() * static_cast<size_t>(reps)));
    std::printf("  %-12s %6.1f ns  (claims %zu)\n", std::string(d->name()).c_str(), ns,
                yes / static_cast<size_t>(reps));
  }
  return 0;
}

}  // namespace
}  // namespace rustnet

int main(int argc, char** argv) { return rustnet::Main(argc, argv); }
