// LocalAddresses: the machine's own addresses. Capture lists them
// (MachineAddresses); the tracker uses them to tell the local endpoint of a
// connection from the remote one.
//
// Thread-safety: shared immutable (std::shared_ptr<const LocalAddresses>).
#ifndef RUSTNET_DAEMON_RECORD_LOCAL_ADDRESSES_H_
#define RUSTNET_DAEMON_RECORD_LOCAL_ADDRESSES_H_

#include "absl/container/flat_hash_set.h"
#include "common/flow_key.h"

namespace rustnet {

using LocalAddresses = absl::flat_hash_set<IpAddress>;

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RECORD_LOCAL_ADDRESSES_H_
