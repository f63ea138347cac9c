#include "common/services.h"

#include <algorithm>
#include <array>

#include "common/flow_key.h"

namespace rustnet {
namespace {

struct ServiceEntry {
  uint16_t port;
  bool tcp;
  bool udp;
  std::string_view name;
};

// Sorted by port; checked by a unit test.
constexpr ServiceEntry kServices[] = {
    {7, true, true, "echo"},
    {20, true, false, "ftp-data"},
    {21, true, false, "ftp"},
    {22, true, false, "ssh"},
    {23, true, false, "telnet"},
    {25, true, false, "smtp"},
    {37, true, true, "time"},
    {43, true, false, "whois"},
    {49, true, true, "tacacs"},
    {53, true, true, "domain"},
    {67, false, true, "bootps"},
    {68, false, true, "bootpc"},
    {69, false, true, "tftp"},
    {70, true, false, "gopher"},
    {79, true, false, "finger"},
    {80, true, true, "http"},
    {88, true, true, "kerberos"},
    {110, true, false, "pop3"},
    {111, true, true, "sunrpc"},
    {113, true, false, "auth"},
    {119, true, false, "nntp"},
    {123, false, true, "ntp"},
    {135, true, true, "epmap"},
    {137, false, true, "netbios-ns"},
    {138, false, true, "netbios-dgm"},
    {139, true, false, "netbios-ssn"},
    {143, true, false, "imap"},
    {161, false, true, "snmp"},
    {162, false, true, "snmp-trap"},
    {179, true, false, "bgp"},
    {194, true, false, "irc"},
    {389, true, true, "ldap"},
    {443, true, true, "https"},
    {445, true, false, "microsoft-ds"},
    {464, true, true, "kpasswd"},
    {465, true, false, "submissions"},
    {500, false, true, "isakmp"},
    {514, false, true, "syslog"},
    {515, true, false, "printer"},
    {520, false, true, "rip"},
    {546, false, true, "dhcpv6-client"},
    {547, false, true, "dhcpv6-server"},
    {554, true, true, "rtsp"},
    {587, true, false, "submission"},
    {631, true, true, "ipp"},
    {636, true, false, "ldaps"},
    {853, true, true, "domain-s"},
    {873, true, false, "rsync"},
    {989, true, false, "ftps-data"},
    {990, true, false, "ftps"},
    {993, true, false, "imaps"},
    {995, true, false, "pop3s"},
    {1080, true, false, "socks"},
    {1194, true, true, "openvpn"},
    {1433, true, false, "ms-sql-s"},
    {1434, false, true, "ms-sql-m"},
    {1521, true, false, "oracle"},
    {1701, false, true, "l2tp"},
    {1723, true, false, "pptp"},
    {1812, false, true, "radius"},
    {1813, false, true, "radius-acct"},
    {1883, true, false, "mqtt"},
    {1900, false, true, "ssdp"},
    {2049, true, true, "nfs"},
    {2181, true, false, "zookeeper"},
    {2375, true, false, "docker"},
    {2376, true, false, "docker-s"},
    {2379, true, false, "etcd-client"},
    {2380, true, false, "etcd-server"},
    {3128, true, false, "squid"},
    {3260, true, false, "iscsi"},
    {3306, true, false, "mysql"},
    {3389, true, true, "ms-wbt-server"},
    {3478, true, true, "stun"},
    {4500, false, true, "ipsec-nat-t"},
    {4789, false, true, "vxlan"},
    {5060, true, true, "sip"},
    {5061, true, false, "sips"},
    {5222, true, false, "xmpp-client"},
    {5269, true, false, "xmpp-server"},
    {5353, false, true, "mdns"},
    {5355, false, true, "llmnr"},
    {5432, true, false, "postgresql"},
    {5671, true, false, "amqps"},
    {5672, true, false, "amqp"},
    {5900, true, false, "vnc"},
    {6379, true, false, "redis"},
    {6443, true, false, "kubernetes"},
    {6667, true, false, "ircd"},
    {8080, true, false, "http-alt"},
    {8443, true, false, "https-alt"},
    {9000, true, false, "cslistener"},
    {9090, true, false, "websm"},
    {9092, true, false, "kafka"},
    {9100, true, false, "jetdirect"},
    {9200, true, false, "elasticsearch"},
    {9418, true, false, "git"},
    {11211, true, true, "memcache"},
    {27017, true, false, "mongodb"},
    {51820, false, true, "wireguard"},
};

}  // namespace

std::string_view LookupService(uint8_t protocol, uint16_t port) {
  const bool tcp = protocol == kIpProtoTcp;
  const bool udp = protocol == kIpProtoUdp;
  if (!tcp && !udp) return {};
  const auto* it = std::lower_bound(
      std::begin(kServices), std::end(kServices), port,
      [](const ServiceEntry& e, uint16_t p) { return e.port < p; });
  if (it == std::end(kServices) || it->port != port) return {};
  if ((tcp && it->tcp) || (udp && it->udp)) return it->name;
  return {};
}

std::string_view ServiceForConnection(uint8_t protocol, uint16_t initiator_port,
                                      uint16_t responder_port) {
  std::string_view s = LookupService(protocol, responder_port);
  if (s.empty()) s = LookupService(protocol, initiator_port);
  return s;
}

bool ServiceTableIsSorted() {
  return std::is_sorted(std::begin(kServices), std::end(kServices),
                        [](const ServiceEntry& a, const ServiceEntry& b) { return a.port < b.port; });
}

}  // namespace rustnet
