// SSH identification strings (RFC 4253 §4.2) dissector.
#ifndef RUSTNET_DAEMON_DPI_SSH_H_
#define RUSTNET_DAEMON_DPI_SSH_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

std::unique_ptr<Dissector> MakeSshDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_SSH_H_
