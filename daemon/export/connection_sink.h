// The sink interface moved below the pipeline (its workers call OnClosed):
// daemon/snapshot/connection_sink.h. This name stays for the sinks under
// daemon/export/ that include it.
#ifndef RUSTNET_DAEMON_EXPORT_CONNECTION_SINK_H_
#define RUSTNET_DAEMON_EXPORT_CONNECTION_SINK_H_

#include "daemon/snapshot/connection_sink.h"

#endif  // RUSTNET_DAEMON_EXPORT_CONNECTION_SINK_H_
