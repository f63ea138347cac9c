// bench_bare_read: the floor for rustnetd's replay speed — a bare libpcap
// loop over a capture file that touches every packet (first and last
// captured byte, captured length) so the compiler cannot skip the reads.
// rustnetd --read does this and everything else; bench/run.sh prints the
// two side by side.
//
// Usage: bench_bare_read [--buffer BYTES] FILE
//   --buffer: read the file through a stdio buffer of BYTES (as rustnetd
//   does) instead of libpcap's default (stdio's, one st_blksize: 4 KiB, a
//   read() per 4 KiB).
// Prints one line: packets=N bytes=B seconds=S checksum=C
#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

int main(int argc, char** argv) {
  size_t buffer = 0;
  if (argc == 4 && std::strcmp(argv[1], "--buffer") == 0) {
    buffer = std::strtoull(argv[2], nullptr, 10);
    argv += 2;
    argc -= 2;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_bare_read [--buffer BYTES] FILE\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  char err[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<char[]> stdio_buffer;
  pcap_t* p = nullptr;
  if (buffer == 0) {
    p = pcap_open_offline(argv[1], err);
  } else if (FILE* f = std::fopen(argv[1], "rb")) {
    stdio_buffer = std::make_unique<char[]>(buffer);
    std::setvbuf(f, stdio_buffer.get(), _IOFBF, buffer);
    p = pcap_fopen_offline(f, err);  // Closes f with the handle.
    if (p == nullptr) std::fclose(f);
  } else {
    std::snprintf(err, sizeof(err), "%s: %s", argv[1], std::strerror(errno));
  }
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
