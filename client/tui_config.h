// rustnet-tui's configuration file, $XDG_CONFIG_HOME/rustnet/tui.conf
// (~/.config/rustnet/tui.conf without XDG_CONFIG_HOME): defaults for the
// command line, which wins. The syntax of rustnetd.conf:
//
//   # A comment; blank lines are ignored.
//   theme = nord                  a preset (rustnet-tui --help lists them)
//   refresh-interval = 500        milliseconds, 100..60000
//   tab = overview                the tab shown first
//   columns = proto, local, remote, state, rate-in, rate-out
//   no-color = true               switches take true or false
//   no-localhost = true
//
// A bad line is one sentence naming the file and the line. A missing file
// is no error.
//
// Threads: plain functions, called once at start.
#ifndef RUSTNET_CLIENT_TUI_CONFIG_H_
#define RUSTNET_CLIENT_TUI_CONFIG_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/columns.h"
#include "client/options.h"
#include "client/view_model.h"

namespace rustnet::client {

// Hard limit: the file is a few lines.
inline constexpr size_t kMaxTuiConfigBytes = 64 * 1024;

// $XDG_CONFIG_HOME/rustnet/tui.conf, else $HOME/.config/rustnet/tui.conf.
std::string DefaultTuiConfigPath();

// Applies the settings in `text` (the file at `path`, for messages) to `o`.
absl::Status ApplyTuiConfig(std::string_view text, std::string_view path, ClientOptions* o);

// Reads `path` and applies it; a file that does not exist changes nothing.
absl::Status LoadTuiConfig(const std::string& path, ClientOptions* o);

// "overview", "details", "help" (the tabs there are).
std::optional<Tab> TabByName(std::string_view name);
// "proto, local, remote": names as in the config file's `columns`, in any
// order (the table keeps its own order). Error: one sentence naming them.
absl::StatusOr<std::vector<Column>> ParseColumnList(std::string_view text);
// The names ParseColumnList accepts, in display order.
std::vector<std::string> ColumnNames();

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TUI_CONFIG_H_
