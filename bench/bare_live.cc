// bench_bare_live: the floor for rustnetd's live capture — a bare libpcap
// loop on an interface, opened as rustnetd opens one (TPACKET_V3 ring of
// the same size, same snaplen, immediate mode off, the 2 ms block timeout; see
// daemon/capture/pcap_source.cc), touching every packet's first and last
// captured byte and nothing else. bench/live_trafgen.sh runs it next to
// tcpdump and rustnetd.
//
// Usage: bench_bare_live IFACE [BUFFER_BYTES]
// Runs until SIGINT/SIGTERM, then prints one line:
//   received=N dropped=D ifdropped=I captured=C
// (received/dropped/ifdropped: pcap_stats' ps_recv/ps_drop/ps_ifdrop;
// captured: packets the loop read).
#include <pcap/pcap.h>
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

pcap_t* g_handle = nullptr;

void OnSignal(int) {
  if (g_handle != nullptr) pcap_breakloop(g_handle);
}

struct Counts {
  uint64_t captured = 0;
  uint64_t checksum = 0;
};

void OnPacket(u_char* user, const pcap_pkthdr* h, const u_char* data) {
  auto* c = reinterpret_cast<Counts*>(user);
  ++c->captured;
  if (h->caplen > 0) c->checksum += data[0] + data[h->caplen - 1];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: bench_bare_live IFACE [BUFFER_BYTES]\n");
    return 2;
  }
  const int buffer = argc == 3 ? std::atoi(argv[2]) : 32 << 20;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(argv[1], err);
  if (p == nullptr) {
    std::fprintf(stderr, "bench_bare_live: %s\n", err);
    return 1;
  }
  pcap_set_snaplen(p, 262144);
  pcap_set_buffer_size(p, buffer);
  pcap_set_timeout(p, 2);  // rustnetd's block timeout (LiveCaptureOptions).
  pcap_set_immediate_mode(p, 0);
  if (pcap_activate(p) < 0) {
    std::fprintf(stderr, "bench_bare_live: %s\n", pcap_geterr(p));
    pcap_close(p);
    return 1;
  }
  g_handle = p;
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::fprintf(stderr, "listening on %s\n", argv[1]);
  Counts counts;
  for (;;) {
    const int r = pcap_dispatch(p, -1, OnPacket, reinterpret_cast<u_char*>(&counts));
    if (r == PCAP_ERROR_BREAK) break;
    if (r == PCAP_ERROR) {
      std::fprintf(stderr, "bench_bare_live: %s\n", pcap_geterr(p));
      break;
    }
  }
  pcap_stat st = {};
  pcap_stats(p, &st);
  std::printf("received=%u dropped=%u ifdropped=%u captured=%llu checksum=%llu\n", st.ps_recv,
              st.ps_drop, st.ps_ifdrop, static_cast<unsigned long long>(counts.captured),
              static_cast<unsigned long long>(counts.checksum));
  pcap_close(p);
  return 0;
}
