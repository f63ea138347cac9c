// Conversion of tracked connections to the public rustnet.v1 messages.
#ifndef RUSTNET_DAEMON_SNAPSHOT_CONVERT_H_
#define RUSTNET_DAEMON_SNAPSHOT_CONVERT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/track/connection.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "rustnet/v1/connection.pb.h"

namespace rustnet {

// Fills `out` from `c`; rates are computed as of `now_us`.
void ToProto(const Connection& c, int64_t now_us, std::string_view interface,
             rustnet::v1::Connection* out);

// Microseconds since the epoch (clamped to Timestamp's range) / a duration.
void SetTimestampUs(int64_t us, google::protobuf::Timestamp* out);
void SetDurationUs(int64_t us, google::protobuf::Duration* out);

// One line of JSON (protobuf's canonical JSON mapping, no trailing newline).
std::string ToJsonLine(const rustnet::v1::Connection& message);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_CONVERT_H_
