#include "tests/test_util.h"

#include <arpa/inet.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace rustnet::testing {

void Put8(Bytes& b, uint8_t v) { b.push_back(v); }
void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
void PutBytes(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

Bytes Ip(const std::string& text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return Bytes(buf, buf + 4);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return Bytes(buf, buf + 16);
  throw std::invalid_argument("bad address " + text);
}

IpAddress Addr(const std::string& text) {
  const Bytes b = Ip(text);
  return b.size() == 4 ? IpAddress::FromV4(b.data()) : IpAddress::FromV6(b.data());
}

Bytes TcpSegment(const TcpSpec& t) {
  Bytes b;
  Put16(b, t.sport);
  Put16(b, t.dport);
  Put32(b, t.seq);
  Put32(b, t.ack);
  Put8(b, static_cast<uint8_t>((5 + t.options.size() / 4) << 4));
  Put8(b, t.flags);
  Put16(b, t.window);
  Put16(b, 0);  // checksum
  Put16(b, 0);  // urgent
  PutBytes(b, t.options);
  PutBytes(b, t.payload);
  return b;
}

Bytes UdpDatagram(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);
  PutBytes(b, payload);
  return b;
}

Bytes IcmpEcho(bool request, uint16_t id, uint16_t seq, bool v6) {
  Bytes b;
  Put8(b, v6 ? (request ? 128 : 129) : (request ? 8 : 0));
  Put8(b, 0);
  Put16(b, 0);
  Put16(b, id);
  Put16(b, seq);
  PutBytes(b, Bytes(16, 0xab));
  return b;
}

Bytes Ipv4Packet(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
                 uint16_t id, uint16_t frag) {
  Bytes b;
  Put8(b, 0x45);
  Put8(b, 0);
  Put16(b, static_cast<uint16_t>(20 + l4.size()));
  Put16(b, id);
  Put16(b, frag);
  Put8(b, 64);
  Put8(b, proto);
  Put16(b, 0);
  PutBytes(b, Ip(src));
  PutBytes(b, Ip(dst));
  PutBytes(b, l4);
  return b;
}

Bytes Ipv6Packet(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
                 const Bytes& ext, uint8_t first_next) {
  Bytes b;
  Put32(b, 0x60000000);
  Put16(b, static_cast<uint16_t>(ext.size() + l4.size()));
  Put8(b, ext.empty() ? proto : first_next);
  Put8(b, 64);
  PutBytes(b, Ip(src));
  PutBytes(b, Ip(dst));
  PutBytes(b, ext);
  PutBytes(b, l4);
  return b;
}

Bytes EthernetFrame(uint16_t ethertype, const Bytes& payload,
                    const std::vector<uint16_t>& vlan_tpids) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  uint16_t vid = 10;
  for (uint16_t tpid : vlan_tpids) {
    Put16(b, tpid);
    Put16(b, vid++);
  }
  Put16(b, ethertype);
  PutBytes(b, payload);
  return b;
}

Bytes ArpPacket(uint16_t op, const std::string& sender_ip, const std::string& target_ip,
                const Bytes& sender_mac) {
  Bytes b;
  Put16(b, 1);
  Put16(b, 0x0800);
  Put8(b, 6);
  Put8(b, 4);
  Put16(b, op);
  PutBytes(b, sender_mac.empty() ? Bytes{0x02, 0, 0, 0, 0, 0x01} : sender_mac);
  PutBytes(b, Ip(sender_ip));
  PutBytes(b, op == 1 ? Bytes(6, 0) : Bytes{0x02, 0, 0, 0, 0, 0x02});
  PutBytes(b, Ip(target_ip));
  return b;
}

Bytes Ipv4PacketWithOptions(const std::string& src, const std::string& dst, uint8_t proto,
                            const Bytes& l4, const Bytes& options) {
  if (options.size() % 4 != 0 || options.size() > 40) {
    throw std::invalid_argument("IPv4 options must be a multiple of 4, at most 40 bytes");
  }
  Bytes b = Ipv4Packet(src, dst, proto, {});
  b[0] = static_cast<uint8_t>(0x40 | (5 + options.size() / 4));
  const size_t total = 20 + options.size() + l4.size();
  b[2] = static_cast<uint8_t>(total >> 8);
  b[3] = static_cast<uint8_t>(total);
  PutBytes(b, options);
  PutBytes(b, l4);
  return b;
}

Bytes Ipv6OptionsHeader(uint8_t next, size_t total) {
  if (total < 8 || total % 8 != 0) throw std::invalid_argument("bad options header size");
  Bytes b;
  Put8(b, next);
  Put8(b, static_cast<uint8_t>(total / 8 - 1));
  // One PadN option covering the rest (RFC 8200 §4.2).
  Put8(b, 1);
  Put8(b, static_cast<uint8_t>(total - 4));
  PutBytes(b, Bytes(total - 4, 0));
  return b;
}

Bytes Ipv6RoutingHeader(uint8_t next) {
  Bytes b;
  Put8(b, next);
  Put8(b, 0);  // 8 bytes
  Put8(b, 4);  // routing type 4 (segment routing)
  Put8(b, 0);  // segments left
  Put32(b, 0);
  return b;
}

Bytes Ipv6FragmentHeader(uint8_t next, uint16_t offset_units, bool more, uint32_t id) {
  Bytes b;
  Put8(b, next);
  Put8(b, 0);
  Put16(b, static_cast<uint16_t>((offset_units << 3) | (more ? 1 : 0)));
  Put32(b, id);
  return b;
}

Bytes Ipv6AuthHeader(uint8_t next, size_t total) {
  if (total < 12 || total % 4 != 0) throw std::invalid_argument("bad AH size");
  Bytes b;
  Put8(b, next);
  Put8(b, static_cast<uint8_t>(total / 4 - 2));  // RFC 4302 §2.2
  Put16(b, 0);
  Put32(b, 0x100);  // SPI
  Put32(b, 1);      // sequence number
  PutBytes(b, Bytes(total - 12, 0xcc));  // ICV
  return b;
}

Bytes SllFrame(uint16_t protocol, const Bytes& payload, uint16_t hatype) {
  Bytes b;
  Put16(b, 0);  // packet type: to us
  Put16(b, hatype);
  Put16(b, 6);  // address length
  PutBytes(b, {0x02, 0, 0, 0, 0, 0x09, 0, 0});
  Put16(b, protocol);
  PutBytes(b, payload);
  return b;
}

Bytes Sll2Frame(uint16_t protocol, const Bytes& payload, uint16_t hatype) {
  Bytes b;
  Put16(b, protocol);
  Put16(b, 0);  // reserved
  Put32(b, 2);  // interface index
  Put16(b, hatype);
  Put8(b, 0);   // packet type
  Put8(b, 6);   // address length
  PutBytes(b, {0x02, 0, 0, 0, 0, 0x09, 0, 0});
  PutBytes(b, payload);
  return b;
}

Bytes NullFrame(uint32_t family, bool big_endian, const Bytes& payload) {
  Bytes b;
  if (big_endian) {
    Put32(b, family);
  } else {
    for (int i = 0; i < 4; ++i) Put8(b, static_cast<uint8_t>(family >> (8 * i)));
  }
  PutBytes(b, payload);
  return b;
}

Bytes PppoeSession(uint16_t ppp, const Bytes& payload) {
  Bytes b;
  Put8(b, 0x11);  // version 1, type 1
  Put8(b, 0);     // code: session data
  Put16(b, 0x1234);
  Put16(b, static_cast<uint16_t>(2 + payload.size()));
  Put16(b, ppp);
  PutBytes(b, payload);
  return b;
}

std::vector<std::string> FixtureCaptures() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(RUSTNET_FIXTURES_DIR)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) {
      files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool MakeTestMmdb(const std::string& path, const std::string& type, const std::string& json) {
  // fork + exec (no shell: the JSON is an argument as it is).
  const std::string script = RUSTNET_FIXTURES_DIR "/../tools/make_mmdb.pl";
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    execl("/usr/bin/perl", "perl", script.c_str(), path.c_str(), type.c_str(), json.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TempDir::TempDir(std::string_view prefix) {
  std::string templ = "/tmp/" + std::string(prefix) + ".XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::File(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

std::string TempDir::Write(std::string_view name, std::string_view text) const {
  const std::string file = File(name);
  std::ofstream out(file, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw std::runtime_error("cannot write " + file);
  return file;
}

}  // namespace rustnet::testing
