// WebConfig: `--metrics-web-config FILE`, TLS and basic authentication for
// the metrics endpoint in the format of Prometheus' own exporters
// (exporter-toolkit's web configuration), so one file serves both:
//
//   tls_server_config:
//     cert_file: /etc/rustnet/metrics.crt   # PEM, the chain after the leaf
//     key_file: /etc/rustnet/metrics.key    # PEM
//   basic_auth_users:
//     prometheus: $2y$10$...                # bcrypt (htpasswd -nBC 10 "")
//
// Read here: that subset of YAML (two sections of "name: value" lines,
// comments, quoted values), and bcrypt hashes only ($2a$, $2b$, $2y$),
// checked with crypt_r(3) of libxcrypt (Debian's libcrypt), which is what
// exporter-toolkit's hashes need. Anything else in the file is an error
// naming its line, so a mistyped key never silently turns TLS or
// authentication off. Relative file names are relative to the file.
//
// Threads: LoadWebConfig on the owning thread; CheckPassword from any.
#ifndef RUSTNET_DAEMON_EXPORT_METRICS_WEB_CONFIG_H_
#define RUSTNET_DAEMON_EXPORT_METRICS_WEB_CONFIG_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rustnet {

struct WebConfig {
  std::string cert_pem;  // Empty: no TLS.
  std::string key_pem;
  std::map<std::string, std::string> users;  // name -> bcrypt hash; empty: no authentication.
};

// Parses the file's text; `path` names it in errors and anchors relative
// paths; `read_file` is how certificate and key files are read.
absl::StatusOr<WebConfig> ParseWebConfig(std::string_view text, const std::string& path);
absl::StatusOr<WebConfig> LoadWebConfig(const std::string& path);

// True if `password` matches the bcrypt `hash`.
bool CheckPassword(const std::string& hash, const std::string& password);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_METRICS_WEB_CONFIG_H_
