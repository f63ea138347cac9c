#include "daemon/capture/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include <cstring>
#include <optional>

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

}  // namespace

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
