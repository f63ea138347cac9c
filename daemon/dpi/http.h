// HTTP/1.x dissector.
#ifndef RUSTNET_DAEMON_DPI_HTTP_H_
#define RUSTNET_DAEMON_DPI_HTTP_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// HTTP's anomalies (http_anomaly::kHeadersTooLong ...).
#define RUSTNET_HTTP_ANOMALIES(X)                           \
  X(kRequestLineTooLong, "http_request_line_too_long")      \
  X(kBadRequestLine, "http_bad_request_line")               \
  X(kHeadersTooLong, "http_headers_too_long")               \
  X(kBadStatusLine, "http_bad_status_line")                 \
  X(kStatusLineTooLong, "http_status_line_too_long")
RUSTNET_DECLARE_DPI_ANOMALIES(http_anomaly, RUSTNET_HTTP_ANOMALIES)

std::unique_ptr<Dissector> MakeHttpDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_HTTP_H_
