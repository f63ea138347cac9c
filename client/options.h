// rustnet-tui's command line.
#ifndef RUSTNET_CLIENT_OPTIONS_H_
#define RUSTNET_CLIENT_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/rpc_client.h"
#include "spdlog/common.h"

namespace rustnet::client {

struct ClientOptions {
  RpcTarget target;
  int refresh_ms = 1000;
  bool no_localhost = false;
  std::string filter;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::string log_dir;  // Empty: DefaultLogDir().
  bool help = false;
  bool version = false;
};

std::string ClientUsage();

// Parses argv[1..]. Errors are one sentence ending in "see rustnet-tui
// --help" (bad flag, bad value, --filter that does not parse, conflicting
// options).
absl::StatusOr<ClientOptions> ParseClientOptions(const std::vector<std::string>& args);

// $XDG_STATE_HOME/rustnet, else ~/.local/state/rustnet.
std::string DefaultLogDir();

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_OPTIONS_H_
