// --metrics-web-config: the exporter-toolkit subset read, mistakes named by
// line, and bcrypt checks against hashes made by other tools.
#include "daemon/export/metrics/web_config.h"

#include <catch2/catch.hpp>
#include <string>

namespace rustnet {
namespace {

// "secret", hashed by Python's crypt (METHOD_BLOWFISH, cost 4) as $2b$;
// the $2y$ form (htpasswd's, Go's) is the same hash under another prefix.
constexpr char kHash2y[] = "$2y$04$APXnD9Kp8cQdFKt8CdVxO.TXS1arzI9r3e4ReKFlY1a56OzW7XB1W";

TEST_CASE("web config: users and comments, no TLS", "[metrics]") {
  auto c = ParseWebConfig(
      "# rustnetd\n"
      "---\n"
      "basic_auth_users:\n"
      "  prometheus: \"$2y$04$APXnD9Kp8cQdFKt8CdVxO.TXS1arzI9r3e4ReKFlY1a56OzW7XB1W\"\n"
      "  other: $2b$04$APXnD9Kp8cQdFKt8CdVxO.TXS1arzI9r3e4ReKFlY1a56OzW7XB1W  # two\n",
      "/etc/w.yml");
  REQUIRE(c.ok());
  CHECK(c->cert_pem.empty());
  CHECK(c->users.size() == 2);
  CHECK(c->users["prometheus"] == kHash2y);
}

TEST_CASE("web config: mistakes name the line", "[metrics]") {
  auto unknown = ParseWebConfig("tls_config:\n  cert_file: a\n", "w.yml");
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().message() ==
        "--metrics-web-config: w.yml line 1: unknown section \"tls_config\" (rustnetd reads "
        "tls_server_config and basic_auth_users)");
  auto key = ParseWebConfig("tls_server_config:\n  certfile: a\n", "w.yml");
  REQUIRE(!key.ok());
  CHECK(std::string(key.status().message()).find("line 2: unknown TLS setting \"certfile\"") !=
        std::string::npos);
  auto plain = ParseWebConfig("basic_auth_users:\n  u: secret\n", "w.yml");
  REQUIRE(!plain.ok());
  CHECK(std::string(plain.status().message()).find("not a bcrypt hash") != std::string::npos);
  auto half = ParseWebConfig("tls_server_config:\n  cert_file: a.pem\n", "w.yml");
  REQUIRE(!half.ok());
  CHECK(std::string(half.status().message()).find("needs both cert_file and key_file") !=
        std::string::npos);
  auto missing = ParseWebConfig(
      "tls_server_config:\n  cert_file: /nonexistent/a.pem\n  key_file: /nonexistent/k.pem\n",
      "w.yml");
  REQUIRE(!missing.ok());
  CHECK(std::string(missing.status().message()).find("cannot read certificate /nonexistent/a.pem") !=
        std::string::npos);
}

TEST_CASE("web config: bcrypt passwords checked with crypt_r", "[metrics]") {
  CHECK(CheckPassword(kHash2y, "secret"));
  CHECK(!CheckPassword(kHash2y, "Secret"));
  CHECK(!CheckPassword(kHash2y, ""));
  CHECK(!CheckPassword("plain", "plain"));
  CHECK(!CheckPassword(kHash2y, std::string(100, 'x')));
}

}  // namespace
}  // namespace rustnet
