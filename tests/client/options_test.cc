// rustnet-tui's command line: the original tool's options, the daemon
// connection, and one sentence for each mistake.
#include "client/options.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

namespace rustnet::client {
namespace {

std::string Error(const std::vector<std::string>& args) {
  auto o = ParseClientOptions(args);
  REQUIRE_FALSE(o.ok());
  return std::string(o.status().message());
}

TEST_CASE("options: defaults", "[client][options]") {
  auto o = ParseClientOptions({});
  REQUIRE(o.ok());
  CHECK(o->target.socket_path == "/run/rustnet/rustnetd.sock");
  CHECK(o->target.GrpcTarget() == "unix:/run/rustnet/rustnetd.sock");
  CHECK(o->refresh_ms == 1000);
  CHECK_FALSE(o->no_localhost);
  CHECK(o->filter.empty());
  CHECK(o->log_level == spdlog::level::info);
}

TEST_CASE("options: the original tool's flags", "[client][options]") {
  auto o = ParseClientOptions({"-r", "500", "--no-localhost", "-l", "debug", "--log-dir", "/tmp/x",
                               "--filter", "proto:tcp port:443", "--socket", "/tmp/d.sock"});
  REQUIRE(o.ok());
  CHECK(o->refresh_ms == 500);
  CHECK(o->no_localhost);
  CHECK(o->log_level == spdlog::level::debug);
  CHECK(o->log_dir == "/tmp/x");
  CHECK(o->filter == "proto:tcp port:443");
  CHECK(o->target.Description() == "/tmp/d.sock");
  auto inline_forms = ParseClientOptions({"-r250", "--refresh-interval=2000", "--log-level=trace"});
  REQUIRE(inline_forms.ok());
  CHECK(inline_forms->refresh_ms == 2000);
  CHECK(inline_forms->log_level == spdlog::level::trace);
  CHECK(ParseClientOptions({"--help"})->help);
  CHECK(ParseClientOptions({"-h"})->help);
  CHECK(ParseClientOptions({"-V"})->version);
}

TEST_CASE("options: a remote daemon", "[client][options]") {
  auto o = ParseClientOptions({"--connect", "monitor.example:50051", "--tls-ca", "ca.pem",
                               "--tls-cert", "me.pem", "--tls-key", "me.key"});
  REQUIRE(o.ok());
  CHECK(o->target.GrpcTarget() == "monitor.example:50051");
  CHECK(o->target.Description() == "monitor.example:50051 (TLS)");
  auto plain = ParseClientOptions({"--connect", "[::1]:7000", "--insecure"});
  REQUIRE(plain.ok());
  CHECK(plain->target.Description() == "[::1]:7000 (plaintext)");
}

TEST_CASE("options: each mistake is one sentence pointing to --help", "[client][options]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "--bogus: unknown option"},
      {{"-x"}, "-x: unknown option"},
      {{"stray"}, "unexpected argument"},
      {{"-r"}, "needs a value"},
      {{"-r", "fast"}, "expected milliseconds from 100 to 60000"},
      {{"-r", "50"}, "expected milliseconds"},
      {{"-l", "loud"}, "unknown level \"loud\""},
      {{"--filter", "prot:tcp"}, "column 1"},
      {{"--no-localhost=yes"}, "takes no value"},
      {{"--connect", "hostonly"}, "expected HOST:PORT"},
      {{"--connect", "h:0"}, "expected HOST:PORT"},
      {{"--connect", "h:1", "--socket", "/s"}, "either --socket or --connect"},
      {{"--tls-ca", "ca.pem"}, "only applies to a remote daemon"},
      {{"--insecure"}, "only applies to a remote daemon"},
      {{"--connect", "h:1", "--tls-cert", "c.pem"}, "go together"},
      {{"--connect", "h:1", "--insecure", "--tls-ca", "c.pem"}, "plaintext excludes"},
      {{"--socket", ""}, "non-empty"},
  };
  for (const auto& [args, want] : cases) {
    const std::string message = Error(args);
    INFO(message);
    CHECK(message.find(want) != std::string::npos);
    CHECK(message.find("see rustnet-tui --help") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("options: the log directory defaults to the XDG state directory", "[client][options]") {
  const char* old_state = std::getenv("XDG_STATE_HOME");
  const std::string saved = old_state != nullptr ? old_state : "";
  setenv("XDG_STATE_HOME", "/var/tmp/state", 1);
  CHECK(DefaultLogDir() == "/var/tmp/state/rustnet");
  unsetenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    CHECK(DefaultLogDir() == std::string(home) + "/.local/state/rustnet");
  }
  if (old_state != nullptr) setenv("XDG_STATE_HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace rustnet::client
