// Conversion of tracked connections to the public rustnet.v1 messages.
#ifndef RUSTNET_DAEMON_SNAPSHOT_CONVERT_H_
#define RUSTNET_DAEMON_SNAPSHOT_CONVERT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/track/connection.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "rustnet/v1/connection.pb.h"

namespace rustnet {

// Fills `out` from `c`; rates are computed as of `now_us`.
// The connection's best name and where it came from ("sni", "http-host",
// ..., "dns-cache"); nullopt when none is known. A DNS-cache name may be
// empty (a query for the root): then only the source shows.
struct Hostname {
  std::string name;
  std::string_view source;
};
std::optional<Hostname> HostnameOf(const Connection& c);

void ToProto(const Connection& c, int64_t now_us, std::string_view interface,
             rustnet::v1::Connection* out);

// Microseconds since the epoch (clamped to Timestamp's range) / a duration.
void SetTimestampUs(int64_t us, google::protobuf::Timestamp* out);
// Microseconds since the epoch of a client's timestamp, clamped (never
// overflows, whatever the seconds).
int64_t TimestampToUs(const google::protobuf::Timestamp& t);
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
