#include "daemon/options.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

namespace rustnet {
namespace {

absl::StatusOr<DaemonOptions> Parse(std::vector<std::string> args) {
  return ParseDaemonOptions(args);
}

TEST_CASE("options defaults") {
  auto o = Parse({});
  REQUIRE(o.ok());
  CHECK(o->interface.empty());
  CHECK(o->max_connections == 1'000'000);
  CHECK(o->threads == DefaultThreads());
  CHECK(o->threads >= 1);
  CHECK(o->threads <= 4);
  CHECK(o->log_level == spdlog::level::info);
  CHECK(o->log_dir == "logs");
}

TEST_CASE("options short, long and inline forms") {
  auto o = Parse({"-i", "eth0", "--bpf=tcp port 443", "-t3", "--log-level", "debug",
                  "--no-localhost", "--no-dpi", "--max-connections", "5000"});
  REQUIRE(o.ok());
  CHECK(o->interface == "eth0");
  CHECK(o->bpf == "tcp port 443");
  CHECK(o->threads == 3);
  CHECK(o->log_level == spdlog::level::debug);
  CHECK(o->no_localhost);
  CHECK(o->no_dpi);
  CHECK(o->max_connections == 5000);
}

TEST_CASE("options read with dump json") {
  auto o = Parse({"--read", "x.pcap", "--dump", "json"});
  REQUIRE(o.ok());
  CHECK(o->read_file == "x.pcap");
  CHECK(o->dump == "json");
}

TEST_CASE("options mistakes are one sentence naming the flag") {
  const std::vector<std::vector<std::string>> bad = {
      {"--bogus"},          {"-z"},
      {"--threads", "abc"}, {"--threads", "0"},
      {"--dump", "xml", "--read", "f"}, {"--dump", "json"},
      {"-i"},               {"--log-level", "loud"},
      {"--read", "f", "-i", "eth0"},   {"--no-dpi=yes"},
      {"stray"},
  };
  for (const auto& args : bad) {
    auto o = Parse(args);
    INFO(args[0]);
    REQUIRE_FALSE(o.ok());
    const std::string msg(o.status().message());
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.find("--help") != std::string::npos);
  }
}

// The exact sentence for each way a flag can be wrong, and every flag that
// sets something: the parser's pieces (splitting an argument, applying it,
// checking combinations) keep the behaviour they had as one function.
TEST_CASE("options each mistake's exact sentence") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-hx"}, "-hx: unknown option"},
      {{"-zeth0"}, "-zeth0: unknown option"},
      {{"-"}, "-: unexpected argument (options start with - or --)"},
      {{"--"}, "--: unknown option"},
      {{"--help=x"}, "--help: takes no value"},
      {{"--bogus=1"}, "--bogus: unknown option"},
      {{"--read"}, "--read: needs a value"},
      {{"-t", "65"}, "--threads: expected a whole number from 1 to 64, got \"65\""},
      {{"--config="}, "--config: needs a path"},
      {{"--dump-expired"}, "--dump-expired: only works with --dump json"},
      {{"--dump=json"}, "--dump: only works with --read FILE"},
      {{"--listen", "nowhere"}, "--listen: expected HOST:PORT, got \"nowhere\""},
      {{"--insecure-listen", ":1"}, "--insecure-listen: expected HOST:PORT, got \":1\""},
      {{"--listen", "h:1", "--insecure-listen", "h:2"},
       "--listen: cannot be combined with --insecure-listen; choose one"},
      {{"--listen", "h:1", "--tls-cert", "c"},
       "--listen: needs --tls-cert and --tls-key (plaintext TCP only with --insecure-listen)"},
      {{"--tls-client-ca", "ca"},
       "--tls-cert: --tls-cert, --tls-key and --tls-client-ca only work with --listen"},
      {{"--socket="}, "--socket: needs a path"},
      {{"--history-db="}, "--history-db: needs a path"},
      {{"--history-retention", "30"},
       "--history-retention: expected a duration such as 30d, 12h, 90m or 3600s (0: keep "
       "forever), got \"30\""},
      {{"--history-retention", "-1d"},
       "--history-retention: expected a duration such as 30d, 12h, 90m or 3600s (0: keep "
       "forever), got \"-1d\""},
      {{"--history-max-size", "2X"},
       "--history-max-size: expected a size such as 2G, 500M, 64K or a number of bytes (0: no "
       "limit), got \"2X\""},
  };
  for (const auto& [args, sentence] : cases) {
    INFO(args[0]);
    auto o = Parse(args);
    REQUIRE_FALSE(o.ok());
    CHECK(std::string(o.status().message()) == sentence + "; see rustnetd --help");
  }
}

TEST_CASE("options the history store's") {
  auto d = Parse({});
  REQUIRE(d.ok());
  CHECK(d->history_db.empty());
  CHECK(d->history_retention_us == 30LL * 86'400'000'000);
  CHECK(d->history_max_bytes == 2ULL << 30);
  auto o = Parse({"--history-db", "/tmp/h.db", "--history-retention", "12h",
                  "--history-max-size", "500M"});
  REQUIRE(o.ok());
  CHECK(o->history_db == "/tmp/h.db");
  CHECK(o->history_retention_us == 12LL * 3'600'000'000);
  CHECK(o->history_max_bytes == 500ULL << 20);
  for (const auto& [text, us] : std::vector<std::pair<std::string, int64_t>>{
           {"0", 0}, {"90m", 5'400'000'000}, {"3600s", 3'600'000'000}, {"30d", 2'592'000'000'000}}) {
    auto r = Parse({"--history-retention", text});
    REQUIRE(r.ok());
    CHECK(r->history_retention_us == us);
  }
  for (const auto& [text, bytes] : std::vector<std::pair<std::string, uint64_t>>{
           {"0", 0}, {"64K", 65'536}, {"2G", 2ULL << 30}, {"12345", 12'345}}) {
    auto r = Parse({"--history-max-size", text});
    REQUIRE(r.ok());
    CHECK(r->history_max_bytes == bytes);
  }
  // --no-history-db wins, wherever history-db came from.
  auto off = Parse({"--history-db", "/tmp/h.db", "--no-history-db"});
  REQUIRE(off.ok());
  CHECK(off->history_db.empty());
}

TEST_CASE("options every flag sets its field") {
  auto o = Parse({"--interface=any", "-f", "udp", "-l", "trace", "--log-dir", "/tmp/l",
                  "--stats-interval", "5", "--socket", "/tmp/s.sock", "--socket-group=adm",
                  "--listen", "[::1]:5000", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                  "--tls-client-ca", "ca.pem", "--max-streams", "7", "--config", "r.conf",
                  "--snapshot-interval-ms", "250", "--list-interfaces", "--no-process", "-h",
                  "-V"});
  REQUIRE(o.ok());
  CHECK(o->interface == "any");
  CHECK(o->bpf == "udp");
  CHECK(o->log_level == spdlog::level::trace);
  CHECK(o->log_dir == "/tmp/l");
  CHECK(o->log_dir_set);
  CHECK(o->stats_interval_s == 5);
  CHECK(o->socket == "/tmp/s.sock");
  CHECK(o->socket_group == "adm");
  CHECK(o->socket_group_set);
  CHECK(o->listen == "[::1]:5000");
  CHECK(o->tls_cert == "c.pem");
  CHECK(o->tls_key == "k.pem");
  CHECK(o->tls_client_ca == "ca.pem");
  CHECK(o->max_streams == 7);
  CHECK(o->config == "r.conf");
  CHECK(o->snapshot_interval_ms == 250);
  CHECK(o->list_interfaces);
  CHECK(o->no_process);
  CHECK(o->help);
  CHECK(o->version);

  auto d = Parse({"--read", "f.pcap", "--dump", "json", "--dump-expired", "--insecure-listen",
                  "0.0.0.0:1"});
  REQUIRE(d.ok());
  CHECK(d->dump_expired);
  CHECK(d->insecure_listen == "0.0.0.0:1");
  CHECK_FALSE(d->log_dir_set);
  CHECK_FALSE(d->socket_group_set);
}

TEST_CASE("options reverse DNS and --show-ptr-lookups") {
  auto o = Parse({"-i", "eth0", "--resolve-dns", "--resolve-dns-rate", "7",
                  "--resolve-dns-server", "127.0.0.53:53", "--show-ptr-lookups"});
  REQUIRE(o.ok());
  CHECK(o->resolve_dns);
  CHECK(o->resolve_dns_rate == 7);
  CHECK(o->resolve_dns_server == "127.0.0.53:53");
  CHECK(o->show_ptr_lookups);
  auto d = Parse({"-i", "eth0", "--resolve-dns"});
  REQUIRE(d.ok());
  CHECK_FALSE(d->show_ptr_lookups);
  auto off = Parse({"-i", "eth0", "--resolve-dns", "--no-resolve-dns"});
  REQUIRE(off.ok());
  CHECK_FALSE(off->resolve_dns);
  CHECK_FALSE(Parse({"-i", "eth0", "--show-ptr-lookups=yes"}).ok());
}

}  // namespace
}  // namespace rustnet

namespace rustnet {
namespace {

TEST_CASE("options ipfix: collectors repeated or comma-separated, durations, domain") {
  auto o = Parse({"--ipfix", "udp://127.0.0.1:4739,tcp://[::1]:4739", "--ipfix=udp://h:2055",
                  "--ipfix-active-timeout", "5m", "--ipfix-template-refresh", "30",
                  "--ipfix-domain", "4294967295", "--ipfix-biflow"});
  REQUIRE(o.ok());
  CHECK(o->ipfix == std::vector<std::string>{"udp://127.0.0.1:4739", "tcp://[::1]:4739",
                                             "udp://h:2055"});
  CHECK(o->ipfix_active_timeout_us == 300'000'000);
  CHECK(o->ipfix_template_refresh_us == 30'000'000);
  CHECK(o->ipfix_domain == 4294967295u);
  CHECK(o->ipfix_biflow);
  CHECK_FALSE(o->netflow_v9);
  auto d = Parse({});
  REQUIRE(d.ok());
  CHECK(d->ipfix.empty());
  CHECK(d->ipfix_active_timeout_us == 60'000'000);
  CHECK(d->ipfix_template_refresh_us == 60'000'000);
  auto zero = Parse({"--ipfix", "udp://h:1", "--ipfix-active-timeout", "0"});
  REQUIRE(zero.ok());
  CHECK(zero->ipfix_active_timeout_us == 0);
}

TEST_CASE("options ipfix mistakes' sentences") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--ipfix", "127.0.0.1:4739"},
       "--ipfix: expected udp://HOST:PORT or tcp://HOST:PORT, got \"127.0.0.1:4739\""},
      {{"--ipfix", ","}, "--ipfix: needs udp://HOST:PORT or tcp://HOST:PORT"},
      {{"--netflow-v9"},
       "--netflow-v9: only works with --ipfix udp://HOST:PORT (the collector to export to)"},
      {{"--ipfix-biflow"},
       "--ipfix-biflow: only works with --ipfix udp://HOST:PORT (the collector to export to)"},
      {{"--ipfix", "udp://h:1", "--netflow-v9", "--ipfix-biflow"},
       "--ipfix-biflow: is IPFIX only (RFC 5103); leave out --netflow-v9"},
      {{"--ipfix", "tcp://h:1", "--netflow-v9"},
       "--netflow-v9: exports over UDP only; use udp://HOST:PORT"},
      {{"--ipfix-template-refresh", "0"},
       "--ipfix-template-refresh: expected a duration such as 60s, 5m or 1h, got \"0\""},
      {{"--ipfix-active-timeout", "2d"},
       "--ipfix-active-timeout: expected a duration such as 60s, 5m or 1h (0: off), got \"2d\""},
      {{"--ipfix-domain", "-1"},
       "--ipfix-domain: expected a whole number from 0 to 4294967295, got \"-1\""},
  };
  for (const auto& [args, sentence] : cases) {
    INFO(args[0]);
    auto o = Parse(args);
    REQUIRE_FALSE(o.ok());
    CHECK(std::string(o.status().message()) == sentence + "; see rustnetd --help");
  }
}

TEST_CASE("options metrics endpoint") {
  auto off = ParseDaemonOptions({});
  REQUIRE(off.ok());
  CHECK(off->metrics_listen.empty());
  CHECK(off->metrics_top_processes == 20);
  auto on = ParseDaemonOptions({"--metrics-listen", "127.0.0.1:9876", "--metrics-top-processes",
                                "5"});
  REQUIRE(on.ok());
  CHECK(on->metrics_listen == "127.0.0.1:9876");
  CHECK(on->metrics_top_processes == 5);
  auto bad = ParseDaemonOptions({"--metrics-listen", "9876"});
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() ==
        "--metrics-listen: expected HOST:PORT (such as 127.0.0.1:9876), got \"9876\"; see "
        "rustnetd --help");
  auto dump = ParseDaemonOptions(
      {"--read", "f.pcap", "--dump", "json", "--metrics-listen", "127.0.0.1:1"});
  REQUIRE(!dump.ok());
  CHECK(std::string(dump.status().message()).find("--dump") != std::string::npos);
  CHECK(!ParseDaemonOptions({"--metrics-top-processes", "1001"}).ok());
}

TEST_CASE("options the pcap export's") {
  auto d = ParseDaemonOptions({});
  REQUIRE(d.ok());
  CHECK(d->pcap_export.empty());
  CHECK(d->pcap_export_bytes == 100ULL << 20);
  CHECK(d->pcap_export_count == 5);
  auto o = ParseDaemonOptions(
      {"--pcap-export", "/tmp/x.pcapng", "--pcap-export-size", "1G", "--pcap-export-count", "3"});
  REQUIRE(o.ok());
  CHECK(o->pcap_export == "/tmp/x.pcapng");
  CHECK(o->pcap_export_bytes == 1ULL << 30);
  CHECK(o->pcap_export_count == 3);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--pcap-export="}, "--pcap-export: needs a path"},
      {{"--pcap-export-size", "12Q"},
       "--pcap-export-size: expected a size such as 2G, 500M, 64K or a number of bytes, got "
       "\"12Q\""},
      {{"--pcap-export-size", "100"}, "--pcap-export-size: must be at least 1024 bytes, got \"100\""},
      {{"--pcap-export-count", "0"}, ""},
  };
  for (const auto& [args, sentence] : cases) {
    INFO(args[0]);
    auto r = ParseDaemonOptions(args);
    REQUIRE_FALSE(r.ok());
    const std::string message(r.status().message());
    if (!sentence.empty()) CHECK(message == sentence + "; see rustnetd --help");
    CHECK(message.find(args[0].substr(0, args[0].find('='))) == 0);
  }
}

}  // namespace
}  // namespace rustnet
