// rustnetd's command line.
#ifndef RUSTNET_DAEMON_OPTIONS_H_
#define RUSTNET_DAEMON_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spdlog/common.h"

namespace rustnet {

struct DaemonOptions {
  std::string interface;        // -i; empty: the default interface.
  std::string read_file;        // --read
  std::string bpf;              // -f / --bpf-filter / --bpf
  std::string dump;             // --dump FORMAT; only "json" so far.
  bool dump_expired = false;    // --dump-expired: also connections that ended before EOF.
  bool list_interfaces = false;
  bool no_localhost = false;
  // --show-localhost: tracks loopback even if the configuration file says
  // no-localhost (the original rustnet's spelling; the command line wins).
  bool show_localhost = false;
  bool no_dpi = false;
  bool no_process = false;
  bool no_ebpf = false;  // Process attribution without the eBPF socket tracker.
  bool help = false;
  bool version = false;
  // --config PATH: the configuration file (daemon/config.h reads it before
  // the command line is parsed; here only so the flag is known).
  std::string config;
  size_t threads = 0;           // 0: min(cores, 4).
  // --capture-threads: live capture threads, each a socket of one
  // PACKET_FANOUT group (0 before parsing: DefaultCaptureThreads; always
  // 1 for --read and --pcap-export).
  size_t capture_threads = 0;
  size_t max_connections = 1'000'000;
  // --history-size: closed connections kept in memory for the API's
  // include_closed (daemon/snapshot/closed_history.h); 0: none.
  size_t history_size = 10'000;
  // --json-log FILE: the connection log (daemon/export/json_log/); empty: none.
  std::string json_log;
  // --json-log-events: which events it writes.
  bool json_log_opened = true;
  bool json_log_classified = true;
  bool json_log_closed = true;
  // --history-db PATH: the SQLite history store (daemon/history_store/);
  // empty: none. --no-history-db clears it (over the configuration file's).
  std::string history_db;
  bool no_history_db = false;
  // --history-retention: rows closed longer ago are deleted; 0: kept.
  int64_t history_retention_us = 30LL * 86'400'000'000;
  // --history-max-size: the database is kept under it; 0: no limit.
  uint64_t history_max_bytes = 2ULL << 30;
  // GeoIP/ASN databases (daemon/enrich/geoip.h): files given, or empty to
  // search the standard directories; --no-geoip: none at all.
  std::string geoip_country;
  std::string geoip_city;
  std::string geoip_asn;
  bool no_geoip = false;
  // Reverse DNS (daemon/enrich/reverse_dns.h): off unless --resolve-dns;
  // --no-resolve-dns turns it off over the configuration file's.
  bool resolve_dns = false;
  bool no_resolve_dns = false;
  int resolve_dns_rate = 20;       // --resolve-dns-rate N (queries per second)
  std::string resolve_dns_server;  // --resolve-dns-server ADDR[:PORT],...; empty: resolv.conf
  // --show-ptr-lookups: list the resolver's own queries (marked own_lookup)
  // rather than leaving them out of the API's answers.
  bool show_ptr_lookups = false;
  // IPFIX / NetFlow v9 export (daemon/export/ipfix/).
  // --ipfix udp://HOST:PORT|tcp://HOST:PORT, repeatable (or comma-separated).
  std::vector<std::string> ipfix;
  bool netflow_v9 = false;                       // --netflow-v9
  bool ipfix_biflow = false;                     // --ipfix-biflow (RFC 5103)
  int64_t ipfix_active_timeout_us = 60'000'000;  // --ipfix-active-timeout; 0: off
  int64_t ipfix_template_refresh_us = 60'000'000;  // --ipfix-template-refresh (UDP)
  uint32_t ipfix_domain = 0;                     // --ipfix-domain: Observation Domain ID
  // --metrics-listen HOST:PORT: serve Prometheus metrics over HTTP
  // (daemon/export/metrics/); empty: off.
  std::string metrics_listen;
  // --metrics-web-config FILE: TLS and basic authentication for it
  // (daemon/export/metrics/web_config.h); empty: plain HTTP, no auth.
  std::string metrics_web_config;
  // --metrics-top-processes: processes named in rustnet_process_bytes_total.
  size_t metrics_top_processes = 20;
  // --pcap-export FILE: every captured frame as pcapng
  // (daemon/export/pcap_export/); empty: none. Rotated past
  // --pcap-export-size, --pcap-export-count files kept.
  std::string pcap_export;
  uint64_t pcap_export_bytes = 100ULL << 20;
  size_t pcap_export_count = 5;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::string log_dir = "logs";
  bool log_dir_set = false;     // --log-dir given explicitly.
  int64_t snapshot_interval_ms = 1000;
  int64_t stats_interval_s = 10;

  // API (see daemon/rpc/server.h).
  std::string socket = "/run/rustnet/rustnetd.sock";  // --socket
  std::string socket_group;                           // --socket-group
  bool socket_group_set = false;
  std::string listen;           // --listen HOST:PORT (TLS)
  std::string tls_cert;         // --tls-cert
  std::string tls_key;          // --tls-key
  std::string tls_client_ca;    // --tls-client-ca
  std::string insecure_listen;  // --insecure-listen HOST:PORT (plaintext)
  int max_streams = 64;         // --max-streams
};

// Parses argv (argv[0] skipped). Errors are one sentence naming the flag and
// what to do.
absl::StatusOr<DaemonOptions> ParseDaemonOptions(const std::vector<std::string>& args);

std::string DaemonUsage();

// min(hardware threads, 4), at least 1.
size_t DefaultThreads();
// --capture-threads' default for `workers` worker threads on `cores`
// cores: min(workers, cores / 2), at least 1. A capture thread only helps
// with a core of its own beside the workers', so 2 cores take 1.
size_t DefaultCaptureThreads(size_t workers, size_t cores);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_OPTIONS_H_
