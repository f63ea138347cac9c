// rn_syn_flood: sends TCP SYNs from random source addresses and ports as
// fast as one thread can, through a packet socket on one interface (test
// use only: tests/integration/syn_flood_test.py runs it inside a network
// namespace of its own, on one end of a veth pair).
//
// Usage: rn_syn_flood IFACE SRC_MAC DST_MAC DST_IP SRC_NET/BITS SECONDS
//   Frames: Ethernet SRC_MAC -> DST_MAC, IPv4 from a random address in
//   SRC_NET/BITS to DST_IP, TCP SYN from a random port >= 1024 to a random
//   port in 1..65535, valid checksums (the receiving kernel answers them).
// Prints one line: "sent N seconds S rate R" (packets, wall seconds,
// packets per second); exits 1 on a setup error.
//
// Thread-safety: single-threaded.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kFrameBytes = 14 + 20 + 20;
constexpr size_t kBatch = 256;

bool ParseMac(const char* text, uint8_t out[6]) {
  unsigned v[6];
  if (std::sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

uint64_t Next(uint64_t& s) {  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ULL;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint32_t Sum16(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  return sum;
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: rn_syn_flood IFACE SRC_MAC DST_MAC DST_IP SRC_NET/BITS SECONDS\n");
    return 1;
  }
  uint8_t src_mac[6], dst_mac[6];
  in_addr dst{}, net{};
  std::string src_net = argv[5];
  const size_t slash = src_net.find('/');
  const int bits = slash == std::string::npos ? -1 : std::atoi(src_net.c_str() + slash + 1);
  if (slash != std::string::npos) src_net.resize(slash);
  const double seconds = std::atof(argv[6]);
  if (!ParseMac(argv[2], src_mac) || !ParseMac(argv[3], dst_mac) ||
      inet_pton(AF_INET, argv[4], &dst) != 1 || inet_pton(AF_INET, src_net.c_str(), &net) != 1 ||
      bits < 1 || bits > 32 || seconds <= 0) {
    std::fprintf(stderr, "rn_syn_flood: bad arguments\n");
    return 1;
  }
  const unsigned ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) {
    std::fprintf(stderr, "rn_syn_flood: no interface %s\n", argv[1]);
    return 1;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);  // Protocol 0: receives nothing.
  if (fd < 0) {
    std::perror("rn_syn_flood: socket(AF_PACKET)");
    return 1;
  }
  const int one = 1;
  // Straight to the driver: the qdisc would only add work.
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_IP);
  addr.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("rn_syn_flood: bind");
    return 1;
  }

  const uint32_t host_mask = bits == 32 ? 0 : (0xffffffffu >> bits);
  const uint32_t net_base = ntohl(net.s_addr) & ~host_mask;
  const uint32_t dst_ip = ntohl(dst.s_addr);
  uint64_t rng = (static_cast<uint64_t>(getpid()) * uint64_t{0x9E3779B97F4A7C15}) | 1;

  std::vector<std::array<uint8_t, kFrameBytes>> frames(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    uint8_t* f = frames[i].data();
    std::memcpy(f, dst_mac, 6);
    std::memcpy(f + 6, src_mac, 6);
    Put16(f + 12, ETH_P_IP);
    uint8_t* ip = f + 14;
    ip[0] = 0x45;
    Put16(ip + 2, 40);
    ip[6] = 0x40;  // DF
    ip[8] = 64;
    ip[9] = IPPROTO_TCP;
    Put32(ip + 16, dst_ip);
    uint8_t* tcp = ip + 20;
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;  // SYN
    Put16(tcp + 14, 64240);
    iov[i].iov_base = f;
    iov[i].iov_len = kFrameBytes;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  uint64_t sent = 0;
  uint16_t ip_id = 0;
  while (Clock::now() < end) {
    for (size_t i = 0; i < kBatch; ++i) {
      uint8_t* ip = frames[i].data() + 14;
      uint8_t* tcp = ip + 20;
      const uint64_t r = Next(rng);
      const uint32_t src_ip = net_base | (static_cast<uint32_t>(r) & host_mask);
      Put16(ip + 4, ++ip_id);
      Put32(ip + 12, src_ip);
      Put16(ip + 10, 0);
      Put16(ip + 10, Fold(Sum16(ip, 20)));
      Put16(tcp, static_cast<uint16_t>(1024 + (r >> 32) % 64512));
      Put16(tcp + 2, static_cast<uint16_t>(1 + (r >> 48) % 65535));
      Put32(tcp + 4, static_cast<uint32_t>(Next(rng)));
      Put16(tcp + 16, 0);
      // Pseudo-header (RFC 9293 §3.1): addresses, protocol, TCP length.
      uint32_t sum = Sum16(ip + 12, 8) + IPPROTO_TCP + 20 + Sum16(tcp, 20);
      Put16(tcp + 16, Fold(sum));
    }
    const int n = sendmmsg(fd, msgs.data(), kBatch, 0);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
    } else if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
      std::perror("rn_syn_flood: sendmmsg");
      return 1;
    }
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("sent %llu seconds %.3f rate %.0f\n", static_cast<unsigned long long>(sent), took,
              static_cast<double>(sent) / took);
  close(fd);
  return 0;
}
