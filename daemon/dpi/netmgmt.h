// Network management protocols recognised by content: Syslog (RFC 3164,
// 5424; over UDP and TCP), TFTP (RFC 1350; file name and direction, and
// its data transfers), SNMP v1/v2c/v3 (RFC 3416: version and PDU type;
// the community string is never kept) and LDAP (RFC 4511; also CLDAP).
#ifndef RUSTNET_DAEMON_DPI_NETMGMT_H_
#define RUSTNET_DAEMON_DPI_NETMGMT_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_NETMGMT_ANOMALIES(X)      \
  X(kSnmpBerPastEnd, "snmp_ber_past_end") \
  X(kTftpFileNameNotTerminated, "tftp_file_name_not_terminated")
RUSTNET_DECLARE_DPI_ANOMALIES(netmgmt_anomaly, RUSTNET_NETMGMT_ANOMALIES)

inline constexpr size_t kMaxTftpFileKept = 128;

std::unique_ptr<Dissector> MakeSyslogDissector();
std::unique_ptr<Dissector> MakeTftpDissector();
std::unique_ptr<Dissector> MakeSnmpDissector();
std::unique_ptr<Dissector> MakeLdapDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_NETMGMT_H_
