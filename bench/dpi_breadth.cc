// bench_dpi_breadth: what the breadth of DPI costs (issue 19). Reads a
// capture into memory, decodes it once, then feeds every flow's payload
// packets to three DpiEngines: only the round-1 dissectors (TLS, HTTP, SSH,
// QUIC, DNS, DHCP, STUN, NTP), those plus part A's (mail, FTP, databases,
// remote access, Windows/LAN: DpiEngine's with_breadth = false), and all
// of them — interleaved REPS times so load from other users hits each
// alike. Prints each round, the medians, the ratios with vs without, and
// each dissector's Probe() cost in ns over every flow's first payload,
// probed where MayStartWith() lets it as the engine does.
//
// Only DPI runs here (no flow table, no snapshots): the ratio is DPI's own,
// an upper bound for what the dissectors add to a whole `rustnetd --read`
// (bench/run.sh measures that replay).
//
// Usage: bench_dpi_breadth [--reps N] CAPTURE [REPS]
//        (bench/run.sh runs it on the 1M-packet mixed capture)
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

enum class Set { kRound1, kPartA, kAll };

std::vector<std::unique_ptr<Dissector>> Dissectors(Set set) {
  switch (set) {
    case Set::kRound1: return Round1();
    case Set::kPartA: return MakeDefaultDissectors(/*with_breadth=*/false);
    case Set::kAll: break;
  }
  return MakeDefaultDissectors();
}

// Feeds every packet; returns seconds and the flows classified.
double Run(const std::vector<Packet>& packets, size_t flows, Set set, size_t* classified) {
  DpiEngine engine(DpiEngine::kDefaultMaxStateBytes, Dissectors(set));
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
  int reps = 5;
  if (argc >= 3 && std::string_view(argv[1]) == "--reps") {
    reps = std::max(1, std::atoi(argv[2]));
    argv += 2;
    argc -= 2;
  }
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: bench_dpi_breadth [--reps N] CAPTURE [REPS]\n");
    return 2;
  }
  if (argc == 3) reps = std::max(1, std::atoi(argv[2]));
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

  std::vector<double> base, part_a, all;
  size_t base_classified = 0, part_a_classified = 0, all_classified = 0;
  for (int i = 0; i < reps; ++i) {
    base.push_back(Run(packets, ids.size(), Set::kRound1, &base_classified));
    part_a.push_back(Run(packets, ids.size(), Set::kPartA, &part_a_classified));
    all.push_back(Run(packets, ids.size(), Set::kAll, &all_classified));
    std::printf("round %d: round-1 %.3f s, + part A %.3f s, all %.3f s\n", i + 1, base.back(),
                part_a.back(), all.back());
  }
  const double b = Median(base), pa = Median(part_a), a = Median(all);
  std::vector<double> ratio_all, ratio_b;
  for (size_t i = 0; i < base.size(); ++i) {
    ratio_all.push_back(all[i] / base[i]);
    ratio_b.push_back(all[i] / part_a[i]);
  }
  auto best = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  std::printf("dpi, round-1 dissectors:  %.3f s (median of %d, best %.3f), %zu flows named\n", b,
              reps, best(base), base_classified);
  std::printf("dpi, round-1 + part A:    %.3f s (median of %d, best %.3f), %zu flows named\n",
              pa, reps, best(part_a), part_a_classified);
  std::printf("dpi, all dissectors:      %.3f s (median of %d, best %.3f), %zu flows named\n", a,
              reps, best(all), all_classified);
  std::printf("with vs without the breadth: all / round-1 %.3f of the medians (%.3f the median "
              "of each round's ratio, %+.3f s); all / part A %.3f (%.3f, %+.3f s)\n",
              a / b, Median(ratio_all), a - b, a / pa, Median(ratio_b), a - pa);

  // Probe cost per dissector over every flow's first payload, probed only
  // where MayStartWith() lets it (as the engine does). Each payload is
  // probed kCalls times in a row: after the first call it is in cache, as
  // in the engine, which probes every dissector on the same payload.
  constexpr int kCalls = 8;
  std::printf("probe cost per dissector (ns per first payload, %zu payloads; probed: where "
              "MayStartWith() lets it):\n",
              first_payloads.size());
  for (const auto& d : MakeDefaultDissectors()) {
    size_t yes = 0, probed = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      for (size_t i = 0; i < first_payloads.size(); ++i) {
        const DpiFlow& f = first_flows[i];
        if (!d->MayStartWith(f.transport, first_payloads[i][0])) continue;
        ++probed;
        const FlowInfo fi{f.transport, f.client_port, f.server_port};
        for (int call = 0; call < kCalls; ++call) {
          yes += d->Probe(fi, f.from_client, first_payloads[i]) ? 1u : 0u;
        }
      }
    }
    const double ns = std::chrono::duration<double, std::nano>(
                          std::chrono::steady_clock::now() - start).count() /
                      (kCalls * static_cast<double>(std::max<size_t>(
                                    1, first_payloads.size() * static_cast<size_t>(reps))));
    std::printf("  %-16s %7.1f ns  probed %zu, claims %zu\n", std::string(d->name()).c_str(), ns,
                probed / static_cast<size_t>(reps),
                yes / (kCalls * static_cast<size_t>(reps)));
  }
  return 0;
}

}  // namespace
}  // namespace rustnet

int main(int argc, char** argv) { return rustnet::Main(argc, argv); }
