// bench_bare_read: the floor for rustnetd's replay speed — a bare libpcap
// loop over a capture file that touches every packet (first and last
// captured byte, captured length) so the compiler cannot skip the reads.
// rustnetd --read does this and everything else; bench/run.sh prints the
// two side by side.
//
// Usage: bench_bare_read FILE
// Prints one line: packets=N bytes=B seconds=S checksum=C
#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_bare_read FILE\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(argv[1], err);
  if (p == nullptr) {
    std::fprintf(stderr, "bench_bare_read: %s\n", err);
    return 1;
  }
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t checksum = 0;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int r = 0;
  while ((r = pcap_next_ex(p, &header, &data)) == 1) {
    ++packets;
    bytes += header->len;
    if (header->caplen > 0) checksum += data[0] + data[header->caplen - 1] + header->caplen;
  }
  if (r == PCAP_ERROR) {
    std::fprintf(stderr, "bench_bare_read: %s\n", pcap_geterr(p));
    pcap_close(p);
    return 1;
  }
  pcap_close(p);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("packets=%llu bytes=%llu seconds=%.6f checksum=%llu\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
              seconds, static_cast<unsigned long long>(checksum));
  return 0;
}
