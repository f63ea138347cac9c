// The anomalies issue 19 part B declares: unique among themselves and with
// every other protocol's, each with its protocol's prefix.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "daemon/dpi/dissector.h"
#include "daemon/dpi/dns.h"
#include "daemon/dpi/http.h"
#include "daemon/dpi/iot.h"
#include "daemon/dpi/netmgmt.h"
#include "daemon/dpi/p2p.h"
#include "daemon/dpi/quic.h"
#include "daemon/dpi/simple_udp.h"
#include "daemon/dpi/ssh.h"
#include "daemon/dpi/text_services.h"
#include "daemon/dpi/tls.h"
#include "daemon/dpi/tls_certificate.h"
#include "daemon/dpi/vpn.h"

namespace rustnet {
namespace {

TEST_CASE("dpi anomalies: part B names are unique and prefixed by their protocol", "[dpi]") {
  std::set<std::string_view> names;
  size_t declared = 0;
  auto add = [&](std::span<const DpiAnomaly> list, std::initializer_list<std::string_view> ok) {
    for (const DpiAnomaly& a : list) {
      ++declared;
      names.insert(a.name());
      INFO(a.name());
      bool prefixed = false;
      for (std::string_view p : ok) prefixed = prefixed || a.name().starts_with(p);
      CHECK(prefixed);
    }
  };
  add(tls_anomaly::kAll, {"tls_"});
  add(tls_certificate_anomaly::kAll, {"tls_certificate_"});
  add(dns_anomaly::kAll, {"dns_"});
  add(quic_anomaly::kAll, {"quic_", "gquic_"});
  add(http_anomaly::kAll, {"http_"});
  add(ssh_anomaly::kAll, {"ssh_"});
  add(simple_udp_anomaly::kAll, {"dhcp_", "stun_"});
  add(dpi_anomaly::kAll, {"dpi_"});
  add(iot_anomaly::kAll, {"mqtt_", "coap_"});
  add(p2p_anomaly::kAll, {"utp_"});
  add(vpn_anomaly::kAll, {"dtls_"});
  add(netmgmt_anomaly::kAll, {"snmp_", "tftp_"});
  add(text_services_anomaly::kAll, {"sip_", "socks_"});
  CHECK(names.size() == declared);
  CHECK(iot_anomaly::kMqttBadRemainingLength.name() == "mqtt_bad_remaining_length");
  CHECK(netmgmt_anomaly::kSnmpBerPastEnd.name() == "snmp_ber_past_end");
}

}  // namespace
}  // namespace rustnet
