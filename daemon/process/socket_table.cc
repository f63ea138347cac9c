#include "daemon/process/socket_table.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

// Native-endian field reads at a checked offset (netlink is host order).
template <typename T>
T Load(std::span<const uint8_t> b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

constexpr size_t kNlHeader = 16;         // struct nlmsghdr
constexpr size_t kDiagMsg = 72;          // struct inet_diag_msg
constexpr size_t kOffSport = 4, kOffDport = 6, kOffSrc = 8, kOffDst = 24;
constexpr size_t kOffUid = 64, kOffInode = 68;
static_assert(sizeof(nlmsghdr) == kNlHeader);
static_assert(sizeof(inet_diag_msg) == kDiagMsg);
static_assert(offsetof(inet_diag_msg, idiag_uid) == kOffUid);
static_assert(offsetof(inet_diag_msg, idiag_inode) == kOffInode);

IpAddress AddressFrom(uint8_t family, std::span<const uint8_t> sixteen) {
  return family == AF_INET ? IpAddress::FromV4(sixteen.data()) : IpAddress::FromV6(sixteen.data());
}

uint16_t Be16(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "0100007F:0050": the address as the kernel's 32-bit words printed with
// %08X in host order, then the port.
bool ParseProcEndpoint(std::string_view s, bool ipv6, IpAddress* addr, uint16_t* port) {
  const size_t hex_len = ipv6 ? 32 : 8;
  if (s.size() != hex_len + 5 || s[hex_len] != ':') return false;
  uint8_t bytes[16] = {};
  for (size_t word = 0; word < hex_len / 8; ++word) {
    uint32_t v = 0;
    for (size_t i = 0; i < 8; ++i) {
      const int d = HexDigit(s[word * 8 + i]);
      if (d < 0) return false;
      v = (v << 4) | static_cast<uint32_t>(d);
    }
    std::memcpy(bytes + word * 4, &v, 4);  // Back to the kernel's memory order.
  }
  uint32_t p = 0;
  for (size_t i = hex_len + 1; i < s.size(); ++i) {
    const int d = HexDigit(s[i]);
    if (d < 0) return false;
    p = (p << 4) | static_cast<uint32_t>(d);
  }
  *addr = ipv6 ? IpAddress::FromV6(bytes) : IpAddress::FromV4(bytes);
  *port = static_cast<uint16_t>(p);
  return true;
}

bool ParseUnsigned(std::string_view s, int base, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    const int d = HexDigit(c);
    if (d < 0 || d >= base) return false;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

bool HasOwner(const SocketEntry& e) {
  return e.protocol != kIpProtoTcp ||
         (e.state != kTcpStateTimeWait && e.state != kTcpStateNewSynRecv);
}

}  // namespace

absl::StatusOr<bool> ParseSockDiagReply(std::span<const uint8_t> buf, uint8_t protocol,
                                        std::vector<SocketEntry>* out) {
  size_t pos = 0;
  while (buf.size() - pos >= kNlHeader) {
    const auto msg = buf.subspan(pos);
    const uint32_t len = Load<uint32_t>(msg, 0);
    const uint16_t type = Load<uint16_t>(msg, 4);
    if (len < kNlHeader || len > msg.size()) {
      return absl::DataLossError(absl::StrCat("netlink message length ", len, " does not fit"));
    }
    if (type == NLMSG_DONE) return true;
    if (type == NLMSG_ERROR) {
      int32_t err = 0;
      if (len >= kNlHeader + 4) err = Load<int32_t>(msg, kNlHeader);
      return absl::UnavailableError(
          absl::StrCat("sock_diag dump failed: ", err < 0 ? std::strerror(-err) : "error"));
    }
    if (type == SOCK_DIAG_BY_FAMILY) {
      if (len < kNlHeader + kDiagMsg) {
        return absl::DataLossError("inet_diag message shorter than its header");
      }
      const auto d = msg.subspan(kNlHeader, kDiagMsg);
      const uint8_t family = d[0];
      if (family != AF_INET && family != AF_INET6) {
        return absl::DataLossError(absl::StrCat("inet_diag message of family ", family));
      }
      SocketEntry e;
      e.protocol = protocol;
      e.state = d[1];
      e.local_port = Be16(d, kOffSport);
      e.remote_port = Be16(d, kOffDport);
      e.local = AddressFrom(family, d.subspan(kOffSrc, 16));
      e.remote = AddressFrom(family, d.subspan(kOffDst, 16));
      e.uid = Load<uint32_t>(d, kOffUid);
      e.inode = Load<uint32_t>(d, kOffInode);
      if (HasOwner(e)) out->push_back(e);
    }
    const size_t aligned = (static_cast<size_t>(len) + 3) & ~size_t{3};
    pos += std::min(aligned, msg.size());
  }
  if (pos != buf.size()) return absl::DataLossError("netlink reply ends inside a header");
  return false;
}

absl::Status ParseProcNet(std::string_view text, uint8_t protocol, bool ipv6,
                          std::vector<SocketEntry>* out) {
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line_no++ == 0) continue;  // Column titles.
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size() && f.size() < 10) {
      while (i < line.size() && line[i] == ' ') ++i;
      const size_t start = i;
      while (i < line.size() && line[i] != ' ') ++i;
      if (i > start) f.push_back(line.substr(start, i - start));
    }
    if (f.empty()) continue;
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f.size() < 10) {
      return absl::DataLossError(absl::StrCat("line ", line_no, " has ", f.size(), " fields"));
    }
    SocketEntry e;
    e.protocol = protocol;
    uint64_t state = 0, uid = 0, inode = 0;
    if (!ParseProcEndpoint(f[1], ipv6, &e.local, &e.local_port) ||
        !ParseProcEndpoint(f[2], ipv6, &e.remote, &e.remote_port) ||
        !ParseUnsigned(f[3], 16, &state) || state > 255 || !ParseUnsigned(f[7], 10, &uid) ||
        uid > UINT32_MAX || !ParseUnsigned(f[9], 10, &inode)) {
      return absl::DataLossError(absl::StrCat("line ", line_no, " is not a socket"));
    }
    e.state = static_cast<uint8_t>(state);
    e.uid = static_cast<uint32_t>(uid);
    e.inode = inode;
    if (HasOwner(e)) out->push_back(e);
  }
  return absl::OkStatus();
}

SocketTableReader::SocketTableReader(std::string proc_root, bool force_procfs)
    : proc_root_(std::move(proc_root)) {
  if (!force_procfs) fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  source_ = fd_ >= 0 ? SocketSource::kNetlink : SocketSource::kProcfs;
  buf_.resize(64 * 1024);
}

SocketTableReader::~SocketTableReader() {
  if (fd_ >= 0) close(fd_);
}

absl::Status SocketTableReader::Read(bool tcp, bool udp, std::vector<SocketEntry>* out) {
  out->clear();
  for (const uint8_t protocol : {kIpProtoTcp, kIpProtoUdp}) {
    if ((protocol == kIpProtoTcp && !tcp) || (protocol == kIpProtoUdp && !udp)) continue;
    for (const bool v6 : {false, true}) {
      absl::Status s;
      if (source_ == SocketSource::kNetlink) {
        s = DumpNetlink(v6 ? AF_INET6 : AF_INET, protocol, out);
        if (!s.ok() && out->empty()) {
          // Netlink refused (seccomp, an old kernel): fall back for good.
          close(fd_);
          fd_ = -1;
          source_ = SocketSource::kProcfs;
        }
      }
      if (source_ == SocketSource::kProcfs) s = ReadProcfs(protocol, v6, out);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status SocketTableReader::Send(const void* request, size_t size) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, request, size, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return absl::UnavailableError(absl::StrCat("sock_diag request: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::span<const uint8_t>> SocketTableReader::Receive() {
  for (;;) {
    const ssize_t n = recv(fd_, buf_.data(), buf_.size(), 0);
    if (n > 0) return std::span<const uint8_t>(buf_.data(), static_cast<size_t>(n));
    if (n == 0) return absl::UnavailableError("sock_diag socket closed");
    if (errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("sock_diag reply: ", std::strerror(errno)));
    }
  }
}

absl::Status SocketTableReader::DumpNetlink(uint8_t family, uint8_t protocol,
                                            std::vector<SocketEntry>* out) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } request{};
  request.nlh.nlmsg_len = sizeof(request);
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.nlh.nlmsg_seq = ++seq_;
  request.req.sdiag_family = family;
  request.req.sdiag_protocol = protocol;
  // Every state except TIME_WAIT and request sockets (no owner).
  request.req.idiag_states =
      ~((1U << kTcpStateTimeWait) | (1U << kTcpStateNewSynRecv)) & 0xfffU;
  if (protocol == kIpProtoUdp) request.req.idiag_states = 0xffffffffU;
  if (absl::Status s = Send(&request, sizeof(request)); !s.ok()) return s;
  for (;;) {
    absl::StatusOr<std::span<const uint8_t>> reply = Receive();
    if (!reply.ok()) return reply.status();
    auto done = ParseSockDiagReply(*reply, protocol, out);
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
  }
}

absl::Status SocketTableReader::Lookup(uint8_t protocol, const IpAddress& local,
                                       uint16_t lport, const IpAddress& remote,
                                       uint16_t rport, std::vector<SocketEntry>* out) {
  if (source_ != SocketSource::kNetlink) {
    return absl::FailedPreconditionError("single-socket lookups need sock_diag");
  }
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } request{};
  request.nlh.nlmsg_len = sizeof(request);
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST;
  request.nlh.nlmsg_seq = ++seq_;
  const bool v4 = local.IsV4();
  request.req.sdiag_family = v4 ? AF_INET : AF_INET6;
  request.req.sdiag_protocol = protocol;
  request.req.idiag_states = 0xffffffffU;
  // The kernel looks TCP up as a packet from dst to src would be
  // (inet_diag_find_one_icsk), UDP the other way round ("src and dst are
  // swapped for historical reasons", udp_dump_one).
  const bool tcp = protocol == kIpProtoTcp;
  const IpAddress& src = tcp ? local : remote;
  const IpAddress& dst = tcp ? remote : local;
  request.req.id.idiag_sport = htons(tcp ? lport : rport);
  request.req.id.idiag_dport = htons(tcp ? rport : lport);
  const size_t offset = v4 ? 12 : 0;
  std::memcpy(request.req.id.idiag_src, src.bytes.data() + offset, 16 - offset);
  std::memcpy(request.req.id.idiag_dst, dst.bytes.data() + offset, 16 - offset);
  request.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  if (absl::Status s = Send(&request, sizeof(request)); !s.ok()) return s;
  for (;;) {
    absl::StatusOr<std::span<const uint8_t>> received = Receive();
    if (!received.ok()) return received.status();
    const std::span<const uint8_t> reply = *received;
    if (reply.size() < kNlHeader) return absl::DataLossError("sock_diag reply shorter than a header");
    const uint32_t len = Load<uint32_t>(reply, 0);
    const uint16_t type = Load<uint16_t>(reply, 4);
    const uint32_t seq = Load<uint32_t>(reply, 8);
    if (len < kNlHeader || len > reply.size()) {
      return absl::DataLossError(absl::StrCat("netlink message length ", len, " does not fit"));
    }
    if (seq != seq_) continue;  // Left over from an earlier, abandoned request.
    if (type == NLMSG_ERROR) {
      int32_t err = 0;
      if (len >= kNlHeader + 4) err = Load<int32_t>(reply, kNlHeader);
      if (err == -ENOENT) return absl::OkStatus();  // No such socket.
      return absl::UnavailableError(
          absl::StrCat("sock_diag lookup failed: ", err < 0 ? std::strerror(-err) : "error"));
    }
    auto parsed = ParseSockDiagReply(reply.subspan(0, len), protocol, out);
    return parsed.ok() ? absl::OkStatus() : parsed.status();
  }
}

absl::Status SocketTableReader::ReadProcfs(uint8_t protocol, bool ipv6,
                                           std::vector<SocketEntry>* out) {
  const std::string path = absl::StrCat(proc_root_, "/net/", protocol == kIpProtoTcp ? "tcp" : "udp",
                                        ipv6 ? "6" : "");
  std::ifstream in(path);
  if (!in) {
    if (ipv6) return absl::OkStatus();  // No IPv6 in this kernel.
    return absl::UnavailableError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseProcNet(text.str(), protocol, ipv6, out);
}

void SocketIndex::Build(std::vector<SocketEntry> entries) {
  entries_ = std::move(entries);
  exact_.clear();
  bound_.clear();
  exact_.reserve(entries_.size());
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    const SocketEntry& e = entries_[i];
    const Key k{e.local, e.remote, e.local_port, e.remote_port, e.protocol};
    const bool listening = e.protocol == kIpProtoTcp ? e.state == kTcpStateListen
                                                     : e.remote_port == 0;
    // A socket with an inode beats one without (several may share a tuple
    // briefly); otherwise the first wins.
    auto& map = listening ? bound_ : exact_;
    auto [it, inserted] = map.try_emplace(k, i);
    if (!inserted && entries_[it->second].inode == 0 && e.inode != 0) it->second = i;
  }
}

const SocketEntry* SocketIndex::Exact(uint8_t protocol, const IpAddress& addr, uint16_t port,
                                      const IpAddress& raddr, uint16_t rport) const {
  auto it = exact_.find(Key{addr, raddr, port, rport, protocol});
  return it == exact_.end() ? nullptr : &entries_[it->second];
}

const SocketEntry* SocketIndex::Bound(uint8_t protocol, const IpAddress& addr,
                                      uint16_t port) const {
  static const IpAddress kAny6{};
  static const IpAddress kAny4 = [] {
    const uint8_t zero[4] = {};
    return IpAddress::FromV4(zero);
  }();
  const IpAddress* candidates[] = {&addr, &kAny4, &kAny6};
  for (size_t i = 0; i < std::size(candidates); ++i) {
    const IpAddress& a = *candidates[i];
    if (i > 0 && a == addr) continue;  // Already tried.
    if (&a == &kAny4 && !addr.IsV4()) continue;  // 0.0.0.0 takes no IPv6.
    auto it = bound_.find(Key{a, kAny6, port, 0, protocol});
    if (it == bound_.end()) it = bound_.find(Key{a, kAny4, port, 0, protocol});
    if (it != bound_.end()) return &entries_[it->second];
  }
  return nullptr;
}

}  // namespace rustnet
