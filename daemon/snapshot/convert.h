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

// One line of JSON (protobuf's canonical JSON mapping, no trailing newline;
// see json_writer.h). A message with a time JSON cannot represent becomes
// {"id":"N","error":"not representable in JSON"}.
std::string ToJsonLine(const rustnet::v1::Connection& message);
// The same, appended to `out`.
void AppendJsonLine(const rustnet::v1::Connection& message, std::string* out);
// The line ToJsonLine(ToProto(c, now_us, interface)) gives, written straight
// from the tracked connection (no message in between: converting cost twice
// what writing does). For the --dump of a replayed file.
void AppendJsonLine(const Connection& c, int64_t now_us, std::string_view interface,
                    std::string* out);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_CONVERT_H_
