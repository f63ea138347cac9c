// SSH identification strings (RFC 4253 §4.2) dissector.
#ifndef RUSTNET_DAEMON_DPI_SSH_H_
#define RUSTNET_DAEMON_DPI_SSH_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// SSH's anomalies (ssh_anomaly::kNoIdentification ...).
#define RUSTNET_SSH_ANOMALIES(X)                               \
  X(kNoIdentification, "ssh_no_identification")               \
  X(kIdentificationTooLong, "ssh_identification_too_long")
RUSTNET_DECLARE_DPI_ANOMALIES(ssh_anomaly, RUSTNET_SSH_ANOMALIES)

std::unique_ptr<Dissector> MakeSshDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_SSH_H_
