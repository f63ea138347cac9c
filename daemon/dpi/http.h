// HTTP/1.x dissector.
#ifndef RUSTNET_DAEMON_DPI_HTTP_H_
#define RUSTNET_DAEMON_DPI_HTTP_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

std::unique_ptr<Dissector> MakeHttpDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_HTTP_H_
