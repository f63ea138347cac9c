// rustnet-tui's command line.
#ifndef RUSTNET_CLIENT_OPTIONS_H_
#define RUSTNET_CLIENT_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/columns.h"
#include "client/rpc_client.h"
#include "client/view_model.h"
#include "spdlog/common.h"

namespace rustnet::client {

struct ClientOptions {
  RpcTarget target;
  int refresh_ms = 1000;
  bool no_localhost = false;
  std::string filter;
  // --theme NAME (client/theme.h); empty: the default theme.
  std::string theme;
  // --no-color (NO_COLOR in the environment does the same): no colour at
  // all, attributes only.
  bool no_color = false;
  // From tui.conf (client/tui_config.h): the tab shown first and the
  // Overview's columns (empty: all that fit).
  Tab tab = Tab::kOverview;
  std::vector<Column> columns;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::string log_dir;  // Empty: DefaultLogDir().
  bool help = false;
  bool version = false;
};

std::string ClientUsage();

// Parses argv[1..] over `base` (the defaults, or tui.conf's settings: the
// command line wins). Errors are one sentence ending in "see rustnet-tui
// --help" (bad flag, bad value, --filter that does not parse, conflicting
// options); the original rustnet's capture flags (-i, -f/--bpf-filter,
// --no-dpi) are rustnetd's, and their sentence says how to give them to it.
absl::StatusOr<ClientOptions> ParseClientOptions(const std::vector<std::string>& args,
                                                 ClientOptions base = {});

// $XDG_STATE_HOME/rustnet, else ~/.local/state/rustnet.
std::string DefaultLogDir();

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_OPTIONS_H_
