// Named DPI anomalies: every protocol's declared once, no two alike, and
// counted by CountAnomaly under exactly that name.
#include "daemon/dpi/dissector.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "daemon/dpi/db.h"
#include "daemon/dpi/dns.h"
#include "daemon/dpi/ftp.h"
#include "daemon/dpi/http.h"
#include "daemon/dpi/lan.h"
#include "daemon/dpi/mail.h"
#include "daemon/dpi/quic.h"
#include "daemon/dpi/remote.h"
#include "daemon/dpi/simple_udp.h"
#include "daemon/dpi/ssh.h"
#include "daemon/dpi/tls.h"

namespace rustnet {
namespace {

TEST_CASE("dpi anomalies: names are unique across protocols and keep their prefixes",
          "[dpi]") {
  std::set<std::string_view> names;
  size_t declared = 0;
  auto add = [&](std::span<const DpiAnomaly> list, std::string_view prefix,
                 std::string_view other_prefix = "") {
    for (const DpiAnomaly& a : list) {
      ++declared;
      names.insert(a.name());
      INFO(a.name());
      CHECK((a.name().starts_with(prefix) ||
             (!other_prefix.empty() && a.name().starts_with(other_prefix))));
    }
  };
  add(tls_anomaly::kAll, "tls_");
  add(dns_anomaly::kAll, "dns_");
  add(quic_anomaly::kAll, "quic_", "gquic_");
  add(http_anomaly::kAll, "http_");
  add(ssh_anomaly::kAll, "ssh_");
  add(simple_udp_anomaly::kAll, "dhcp_", "stun_");
  add(dpi_anomaly::kAll, "dpi_");
  add(mail_anomaly::kAll, "mail_");
  add(ftp_anomaly::kAll, "ftp_");
  for (const DpiAnomaly& a : db_anomaly::kAll) {
    ++declared;
    names.insert(a.name());
    INFO(a.name());
    CHECK((a.name().starts_with("postgresql_") || a.name().starts_with("mysql_") ||
           a.name().starts_with("redis_") || a.name().starts_with("mongodb_")));
  }
  add(remote_anomaly::kAll, "rdp_");
  for (const DpiAnomaly& a : lan_anomaly::kAll) {
    ++declared;
    names.insert(a.name());
    INFO(a.name());
    CHECK((a.name().starts_with("smb_") || a.name().starts_with("netbios_") ||
           a.name().starts_with("kerberos_")));
  }
  CHECK(names.size() == declared);
  // Names the API and the tests already show stay as they were.
  CHECK(tls_anomaly::kHandshakeTooLong.name() == "tls_handshake_too_long");
  CHECK(dns_anomaly::kPointerNotBackwards.name() == "dns_pointer_not_backwards");
  CHECK(quic_anomaly::kInitialDecryptFailed.name() == "quic_initial_decrypt_failed");
  CHECK(dpi_anomaly::kOutOfOrderOverflow.name() == "dpi_out_of_order_overflow");
}

TEST_CASE("dpi anomalies: CountAnomaly counts by name and tolerates no map", "[dpi]") {
  DpiAnomalies a;
  CountAnomaly(&a, tls_anomaly::kRecordTooLong);
  CountAnomaly(&a, tls_anomaly::kRecordTooLong);
  CountAnomaly(&a, ssh_anomaly::kNoIdentification);
  CHECK(a == DpiAnomalies{{"tls_record_too_long", 2}, {"ssh_no_identification", 1}});
  CountAnomaly(nullptr, tls_anomaly::kRecordTooLong);
}

}  // namespace
}  // namespace rustnet
