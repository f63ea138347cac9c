// Socket tables: sock_diag replies from canned bytes, /proc/net text, the
// lookups attribution makes, and the live netlink dump of this process's
// own sockets.
#include "daemon/process/socket_table.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace rustnet {
namespace {

// "10.0.0.1", "2001:db8::1" (tests/test_util.h).
constexpr auto V4 = &testing::Addr;
constexpr auto V6 = &testing::Addr;

// One SOCK_DIAG_BY_FAMILY message as the kernel writes it.
void AppendDiag(std::vector<uint8_t>* out, uint8_t family, uint8_t state, const char* src,
                uint16_t sport, const char* dst, uint16_t dport, uint32_t uid, uint32_t inode,
                uint32_t extra_attr_bytes = 0) {
  nlmsghdr h{};
  inet_diag_msg m{};
  h.nlmsg_len = static_cast<uint32_t>(sizeof(h) + sizeof(m) + extra_attr_bytes);
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  m.idiag_family = family;
  m.idiag_state = state;
  m.id.idiag_sport = htons(sport);
  m.id.idiag_dport = htons(dport);
  REQUIRE(inet_pton(family, src, m.id.idiag_src) == 1);
  REQUIRE(inet_pton(family, dst, m.id.idiag_dst) == 1);
  m.idiag_uid = uid;
  m.idiag_inode = inode;
  const auto* hp = reinterpret_cast<const uint8_t*>(&h);
  const auto* mp = reinterpret_cast<const uint8_t*>(&m);
  out->insert(out->end(), hp, hp + sizeof(h));
  out->insert(out->end(), mp, mp + sizeof(m));
  out->resize(out->size() + ((extra_attr_bytes + 3) & ~3U), 0);
}

void AppendDone(std::vector<uint8_t>* out) {
  nlmsghdr h{};
  h.nlmsg_len = sizeof(h) + 4;
  h.nlmsg_type = NLMSG_DONE;
  const auto* hp = reinterpret_cast<const uint8_t*>(&h);
  out->insert(out->end(), hp, hp + sizeof(h));
  out->resize(out->size() + 4, 0);
}

TEST_CASE("sock_diag reply: sockets, v4 and v6, then DONE", "[process][socket_table]") {
  std::vector<uint8_t> buf;
  AppendDiag(&buf, AF_INET, 1, "10.0.0.1", 40000, "10.0.0.2", 443, 1000, 555);
  AppendDiag(&buf, AF_INET6, 10, "::", 22, "::", 0, 0, 777, /*extra_attr_bytes=*/6);
  AppendDiag(&buf, AF_INET, 6, "10.0.0.1", 40001, "10.0.0.2", 443, 0, 0);  // TIME_WAIT: no owner
  std::vector<SocketEntry> out;
  auto done = ParseSockDiagReply(buf, kIpProtoTcp, &out);
  REQUIRE(done.ok());
  CHECK_FALSE(*done);
  REQUIRE(out.size() == 2);
  CHECK(out[0].local == V4("10.0.0.1"));
  CHECK(out[0].local_port == 40000);
  CHECK(out[0].remote == V4("10.0.0.2"));
  CHECK(out[0].remote_port == 443);
  CHECK(out[0].uid == 1000);
  CHECK(out[0].inode == 555);
  CHECK(out[0].state == 1);
  CHECK(out[1].local == V6("::"));
  CHECK(out[1].state == kTcpStateListen);
  CHECK(out[1].inode == 777);

  std::vector<uint8_t> end;
  AppendDone(&end);
  auto finished = ParseSockDiagReply(end, kIpProtoTcp, &out);
  REQUIRE(finished.ok());
  CHECK(*finished);
}

TEST_CASE("sock_diag reply: every truncation is an error or a clean stop, never a read past the end",
          "[process][socket_table]") {
  std::vector<uint8_t> buf;
  AppendDiag(&buf, AF_INET, 1, "10.0.0.1", 40000, "10.0.0.2", 443, 1000, 555);
  AppendDiag(&buf, AF_INET6, 1, "2001:db8::1", 40000, "2001:db8::2", 443, 1000, 556);
  for (size_t n = 0; n < buf.size(); ++n) {
    // A copy of exactly n bytes, so ASan sees any read past it.
    std::vector<uint8_t> cut(buf.begin(), buf.begin() + static_cast<long>(n));
    std::vector<SocketEntry> out;
    auto r = ParseSockDiagReply(cut, kIpProtoTcp, &out);
    if (n == 0 || n == buf.size() / 2) {
      CHECK(r.ok());
    } else {
      CHECK_FALSE(r.ok());
    }
    CHECK(out.size() <= 2);
  }
}

TEST_CASE("sock_diag reply: lying lengths and wrong families are refused", "[process][socket_table]") {
  std::vector<uint8_t> buf;
  AppendDiag(&buf, AF_INET, 1, "10.0.0.1", 1, "10.0.0.2", 2, 0, 1);
  std::vector<SocketEntry> out;
  SECTION("nlmsg_len_past_buffer") {
    const uint32_t len = 4096;
    std::memcpy(buf.data(), &len, 4);
    CHECK_FALSE(ParseSockDiagReply(buf, kIpProtoTcp, &out).ok());
  }
  SECTION("nlmsg_len_below_header") {
    const uint32_t len = 8;
    std::memcpy(buf.data(), &len, 4);
    CHECK_FALSE(ParseSockDiagReply(buf, kIpProtoTcp, &out).ok());
  }
  SECTION("diag_message_shorter_than_inet_diag_msg") {
    const uint32_t len = sizeof(nlmsghdr) + 20;
    std::memcpy(buf.data(), &len, 4);
    CHECK_FALSE(ParseSockDiagReply(buf, kIpProtoTcp, &out).ok());
  }
  SECTION("family_not_inet") {
    buf[sizeof(nlmsghdr)] = AF_UNIX;
    CHECK_FALSE(ParseSockDiagReply(buf, kIpProtoTcp, &out).ok());
  }
  SECTION("kernel_error_message") {
    std::vector<uint8_t> err(sizeof(nlmsghdr) + 4, 0);
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(err.size());
    h.nlmsg_type = NLMSG_ERROR;
    std::memcpy(err.data(), &h, sizeof(h));
    const int32_t code = -EPERM;
    std::memcpy(err.data() + sizeof(h), &code, 4);
    auto r = ParseSockDiagReply(err, kIpProtoTcp, &out);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("not permitted") != std::string::npos);
  }
  CHECK(out.empty());
}

// Lines as this kernel prints them (captured from /proc/net/tcp and tcp6).
constexpr char kProcNetTcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
    "0 1381204 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:B5D2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        "
    "0 2222 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 0100007F:B5D4 0100007F:1F90 06 00000000:00000000 03:00001547 00000000     0        "
    "0 0 3 0000000000000000\n";
constexpr char kProcNetTcp6[] =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C000 01 "
    "00000000:00000000 00:00000000 00000000    33        0 5555 1 0000000000000000 20 4 30 10 "
    "-1\n";

TEST_CASE("/proc/net/tcp and tcp6 text", "[process][socket_table]") {
  std::vector<SocketEntry> out;
  REQUIRE(ParseProcNet(kProcNetTcp, kIpProtoTcp, false, &out).ok());
  REQUIRE(out.size() == 2);  // TIME_WAIT left out
  CHECK(out[0].local == V4("127.0.0.1"));
  CHECK(out[0].local_port == 8080);
  CHECK(out[0].state == kTcpStateListen);
  CHECK(out[0].inode == 1381204);
  CHECK(out[1].local_port == 46546);
  CHECK(out[1].remote_port == 8080);
  CHECK(out[1].uid == 1000);
  CHECK(out[1].inode == 2222);
  out.clear();
  REQUIRE(ParseProcNet(kProcNetTcp6, kIpProtoTcp, true, &out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].local == V6("::"));
  CHECK(out[0].local_port == 22);
  // A v4-mapped endpoint of a dual-stack socket equals the IPv4 address.
  CHECK(out[1].local == V4("127.0.0.1"));
  CHECK(out[1].remote_port == 0xC000);
  CHECK(out[1].uid == 33);
}

TEST_CASE("/proc/net text: malformed lines are refused", "[process][socket_table]") {
  std::vector<SocketEntry> out;
  const std::string header = "sl local rem st\n";
  CHECK_FALSE(ParseProcNet(header + "0: 0100007F:1F90\n", kIpProtoTcp, false, &out).ok());
  CHECK_FALSE(ParseProcNet(header + "0: 0100007G:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1\n",
                           kIpProtoTcp, false, &out)
                  .ok());
  CHECK_FALSE(ParseProcNet(header + "0: 0100007F-1F90 00000000:0000 0A 0:0 0:0 0 0 0 1\n",
                           kIpProtoTcp, false, &out)
                  .ok());
  CHECK_FALSE(ParseProcNet(header + "0: 0100007F:1F90 00000000:0000 1FF 0:0 0:0 0 0 0 1\n",
                           kIpProtoTcp, false, &out)
                  .ok());
  CHECK_FALSE(ParseProcNet(header + "0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 99999999999 0 1\n",
                           kIpProtoTcp, false, &out)
                  .ok());
  CHECK(ParseProcNet(header + "\n   \n", kIpProtoTcp, false, &out).ok());
  CHECK(out.empty());
}

TEST_CASE("SocketIndex: exact, listener and wildcard lookups", "[process][socket_table]") {
  std::vector<SocketEntry> e(5);
  e[0] = {V4("127.0.0.1"), V4("127.0.0.1"), 40000, 8080, kIpProtoTcp, 1, 1000, 11};
  e[1] = {V4("0.0.0.0"), V4("0.0.0.0"), 8080, 0, kIpProtoTcp, kTcpStateListen, 0, 12};
  e[2] = {V6("::"), V6("::"), 22, 0, kIpProtoTcp, kTcpStateListen, 0, 13};
  e[3] = {V4("10.0.0.1"), V4("0.0.0.0"), 53, 0, kIpProtoUdp, kTcpStateClose, 0, 14};
  e[4] = {V4("127.0.0.1"), V4("127.0.0.1"), 40000, 8080, kIpProtoTcp, 1, 1000, 0};  // dup, no inode
  SocketIndex index;
  index.Build(e);
  const SocketEntry* x = index.Exact(kIpProtoTcp, V4("127.0.0.1"), 40000, V4("127.0.0.1"), 8080);
  REQUIRE(x != nullptr);
  CHECK(x->inode == 11);
  CHECK(index.Exact(kIpProtoTcp, V4("127.0.0.1"), 8080, V4("127.0.0.1"), 40000) == nullptr);
  CHECK(index.Exact(kIpProtoUdp, V4("127.0.0.1"), 40000, V4("127.0.0.1"), 8080) == nullptr);
  // 0.0.0.0:8080 listens on every IPv4 address; [::]:22 on both families.
  REQUIRE(index.Bound(kIpProtoTcp, V4("192.0.2.7"), 8080) != nullptr);
  CHECK(index.Bound(kIpProtoTcp, V4("192.0.2.7"), 8080)->inode == 12);
  REQUIRE(index.Bound(kIpProtoTcp, V4("192.0.2.7"), 22) != nullptr);
  CHECK(index.Bound(kIpProtoTcp, V6("2001:db8::5"), 22)->inode == 13);
  CHECK(index.Bound(kIpProtoTcp, V6("2001:db8::5"), 8080) == nullptr);
  // A UDP socket bound to one address answers for that address only.
  REQUIRE(index.Bound(kIpProtoUdp, V4("10.0.0.1"), 53) != nullptr);
  CHECK(index.Bound(kIpProtoUdp, V4("10.0.0.2"), 53) == nullptr);
  CHECK(index.Bound(kIpProtoTcp, V4("10.0.0.1"), 53) == nullptr);
}

TEST_CASE("SocketTableReader: netlink and /proc/net see this process's listening socket alike",
          "[process][socket_table][live]") {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 1) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  struct stat st;
  REQUIRE(fstat(fd, &st) == 0);
  const uint16_t port = ntohs(addr.sin_port);

  for (const bool procfs : {false, true}) {
    INFO("procfs: " << procfs);
    SocketTableReader reader("/proc", procfs);
    CHECK((reader.source() == SocketSource::kProcfs) == procfs);
    std::vector<SocketEntry> entries;
    REQUIRE(reader.Read(true, true, &entries).ok());
    SocketIndex index;
    index.Build(entries);
    const SocketEntry* e = index.Bound(kIpProtoTcp, V4("127.0.0.1"), port);
    REQUIRE(e != nullptr);
    CHECK(e->inode == st.st_ino);
    CHECK(e->uid == geteuid());
    CHECK(e->state == kTcpStateListen);
  }
  close(fd);
}

uint16_t LocalPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return ntohs(a.sin_port);
}

uint64_t InodeOf(int fd) {
  struct stat st;
  REQUIRE(fstat(fd, &st) == 0);
  return st.st_ino;
}

int BoundLoopback(int type) {
  const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

void ConnectLoopback(int fd, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
}

TEST_CASE("SocketTableReader::Lookup: one socket per request, as the kernel would deliver",
          "[process][socket_table][live]") {
  SocketTableReader reader;
  REQUIRE(reader.source() == SocketSource::kNetlink);
  const IpAddress lo = V4("127.0.0.1");
  const IpAddress any = V4("0.0.0.0");
  auto lookup = [&](uint8_t protocol, uint16_t lport, const IpAddress& remote, uint16_t rport) {
    std::vector<SocketEntry> out;
    const absl::Status s = reader.Lookup(protocol, lo, lport, remote, rport, &out);
    INFO(s.ToString());
    REQUIRE(s.ok());
    REQUIRE(out.size() <= 1);
    return out;
  };

  const int listener = BoundLoopback(SOCK_STREAM);
  REQUIRE(listen(listener, 4) == 0);
  const uint16_t server_port = LocalPort(listener);
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ConnectLoopback(client, server_port);
  const uint16_t client_port = LocalPort(client);

  // The client's own socket, by its 4-tuple.
  auto c = lookup(kIpProtoTcp, client_port, lo, server_port);
  REQUIRE(c.size() == 1);
  CHECK(c[0].inode == InodeOf(client));
  CHECK(c[0].local_port == client_port);
  CHECK(c[0].remote_port == server_port);
  CHECK(c[0].uid == geteuid());
  // Not accepted yet: the server end is a socket without a file (inode 0);
  // with the remote zeroed the kernel answers with the listener.
  auto queued = lookup(kIpProtoTcp, server_port, lo, client_port);
  REQUIRE(queued.size() == 1);
  CHECK(queued[0].inode == 0);
  auto l = lookup(kIpProtoTcp, server_port, any, 0);
  REQUIRE(l.size() == 1);
  CHECK(l[0].state == kTcpStateListen);
  CHECK(l[0].inode == InodeOf(listener));
  // Accepted: the server end has its own socket now.
  const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(accepted >= 0);
  auto s = lookup(kIpProtoTcp, server_port, lo, client_port);
  REQUIRE(s.size() == 1);
  CHECK(s[0].inode == InodeOf(accepted));
  // A peer nobody has: the listener answers for its port (what a SYN would
  // reach); a port nobody listens on: nothing, and no error.
  auto other = lookup(kIpProtoTcp, server_port, V4("127.0.0.9"), 9);
  REQUIRE(other.size() == 1);
  CHECK(other[0].state == kTcpStateListen);
  close(client);
  close(accepted);
  close(listener);
  CHECK(lookup(kIpProtoTcp, server_port, any, 0).empty());

  // UDP: a bound socket answers for any peer, a connected one for its own.
  const int bound = BoundLoopback(SOCK_DGRAM);
  const uint16_t bound_port = LocalPort(bound);
  const int connected = BoundLoopback(SOCK_DGRAM);
  ConnectLoopback(connected, bound_port);
  const uint16_t connected_port = LocalPort(connected);
  auto b = lookup(kIpProtoUdp, bound_port, lo, connected_port);
  REQUIRE(b.size() == 1);
  CHECK(b[0].inode == InodeOf(bound));
  CHECK(b[0].remote_port == 0);
  auto u = lookup(kIpProtoUdp, connected_port, lo, bound_port);
  REQUIRE(u.size() == 1);
  CHECK(u[0].inode == InodeOf(connected));
  CHECK(u[0].remote_port == bound_port);
  close(bound);
  close(connected);
  CHECK(lookup(kIpProtoUdp, bound_port, lo, connected_port).empty());

  // The /proc/net fallback has no per-socket lookups: it says so.
  SocketTableReader procfs("/proc", /*force_procfs=*/true);
  std::vector<SocketEntry> out;
  CHECK(procfs.Lookup(kIpProtoTcp, lo, 1, lo, 2, &out).code() ==
        absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rustnet
