#include "daemon/capture/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rustnet {
namespace {

std::optional<IpAddress> FromSockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof(sin));
    return IpAddress::FromV4(reinterpret_cast<const uint8_t*>(&sin.sin_addr));
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof(sin6));
    return IpAddress::FromV6(sin6.sin6_addr.s6_addr);
  }
  return std::nullopt;
}

// One counter file: a decimal number and a newline, read with one bounded
// read.
std::optional<uint64_t> ReadCounterFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[32];
  const ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  if (n <= 0) return std::nullopt;
  uint64_t v = 0;
  ssize_t i = 0;
  for (; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
    const auto digit = static_cast<uint64_t>(buf[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  // Digits up to a newline; a file that filled the whole buffer with
  // digits was longer than any counter.
  if (i == 0 || (i < n && buf[i] != '\n') || i == static_cast<ssize_t>(sizeof(buf))) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<InterfaceCounters> ReadInterfaceCounters(const std::string& name,
                                                       const std::string& sysfs_root) {
  if (name.empty() || name.size() > 15 || name == "." || name == ".." ||
      name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  const std::string dir = absl::StrCat(sysfs_root, "/", name, "/statistics/");
  InterfaceCounters c;
  const std::pair<const char*, uint64_t*> files[] = {
      {"rx_bytes", &c.rx_bytes},     {"tx_bytes", &c.tx_bytes},
      {"rx_packets", &c.rx_packets}, {"tx_packets", &c.tx_packets},
      {"rx_errors", &c.rx_errors},   {"tx_errors", &c.tx_errors},
      {"rx_dropped", &c.rx_dropped}, {"tx_dropped", &c.tx_dropped},
  };
  for (const auto& [file, out] : files) {
    const std::optional<uint64_t> v = ReadCounterFile(absl::StrCat(dir, file));
    if (!v) return std::nullopt;
    *out = *v;
  }
  return c;
}

bool IsNetworkInterface(const std::string& name) {
  for (const char* prefix : {"dbus-", "bluetooth", "nflog", "nfqueue", "usbmon"}) {
    if (name.rfind(prefix, 0) == 0) return false;
  }
  return true;
}

absl::StatusOr<std::vector<InterfaceInfo>> ListCaptureInterfaces() {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_if_t* devs = nullptr;
  if (pcap_findalldevs(&devs, errbuf) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot list interfaces: ", errbuf));
  }
  std::vector<InterfaceInfo> out;
  for (pcap_if_t* d = devs; d != nullptr; d = d->next) {
    InterfaceInfo info;
    info.name = d->name;
    if (d->description) info.description = d->description;
    info.up = (d->flags & PCAP_IF_UP) != 0;
    info.running = (d->flags & PCAP_IF_RUNNING) != 0;
    info.loopback = (d->flags & PCAP_IF_LOOPBACK) != 0;
    for (pcap_addr_t* a = d->addresses; a != nullptr; a = a->next) {
      if (auto ip = FromSockaddr(a->addr)) info.addresses.push_back(ip->ToString());
    }
    out.push_back(std::move(info));
  }
  pcap_freealldevs(devs);
  return out;
}

absl::StatusOr<std::string> DefaultInterface() {
  auto list = ListCaptureInterfaces();
  if (!list.ok()) return list.status();
  for (const InterfaceInfo& i : *list) {
    if (i.up && !i.loopback && !i.addresses.empty() && i.name != "any") return i.name;
  }
  return absl::NotFoundError(
      "no interface is up with an address; choose one with -i (see --list-interfaces)");
}

std::string CapturableInterfaceNames() {
  auto list = ListCaptureInterfaces();
  if (!list.ok() || list->empty()) return "(none found)";
  std::vector<std::string> names;
  for (const InterfaceInfo& i : *list) {
    // libpcap also offers non-network sources (D-Bus, USB, netfilter
    // queues); they are not what a user means by an interface.
    if (!IsNetworkInterface(i.name)) continue;
    names.push_back(i.name);
  }
  return absl::StrJoin(names, ", ");
}

std::shared_ptr<const LocalAddresses> MachineAddresses() {
  auto set = std::make_shared<LocalAddresses>();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return set;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (auto ip = FromSockaddr(i->ifa_addr)) set->insert(*ip);
  }
  freeifaddrs(list);
  return set;
}

}  // namespace rustnet
