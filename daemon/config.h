// rustnetd's configuration file, /etc/rustnet/rustnetd.conf: the
// command-line options by their long names without the dashes, one per line.
//
//   # A comment; blank lines are ignored.
//   interface = eth0
//   bpf = tcp port 443        the rest of the line, trimmed; " #" starts a comment
//   bpf = "not port 22"       double quotes keep spaces and '#'; \" and \\ inside
//   no-localhost = true       switches take true or false
//
// The file's options go before the command line's, so the command line wins:
// a later value replaces an earlier one, and a command-line -i drops the
// file's `read` (and --read its `interface`; --listen and --insecure-listen
// likewise), since those pairs exclude each other. Options that only make
// sense for one run (config, dump, dump-expired, list-interfaces, help,
// version) are refused in the file.
//
// Thread-safety: plain functions; rustnetd calls them at start and on SIGHUP.
#ifndef RUSTNET_DAEMON_CONFIG_H_
#define RUSTNET_DAEMON_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/options.h"

namespace rustnet {

inline constexpr char kDefaultConfigPath[] = "/etc/rustnet/rustnetd.conf";

// Hard limit: a configuration file is a few hundred bytes.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

struct ConfigEntry {
  std::string name;   // "interface"
  std::string value;  // "eth0"; "true"/"false" for switches.
  int line = 0;       // 1-based.
};

struct ConfigFile {
  std::string path;
  std::vector<ConfigEntry> entries;  // In file order; each name at most once.
};

// Parses the text of a configuration file. Errors: "PATH line N: ..." for
// an unknown name, a missing '=', a bad switch value, an unterminated quote
// or a name given twice.
absl::StatusOr<ConfigFile> ParseConfig(std::string_view text, std::string_view path);

// Reads and parses `path`; errors say what to do.
absl::StatusOr<ConfigFile> ReadConfigFile(const std::string& path);

// The configuration file the command line asks for: --config PATH (or
// --config=PATH; the last one wins) and whether it was given. Without it,
// `default_path`, used only if it exists.
struct ConfigChoice {
  std::string path;
  bool explicit_path = false;
};
ConfigChoice ChooseConfigFile(const std::vector<std::string>& command_line,
                              std::string_view default_path = kDefaultConfigPath);

// The file's entries as arguments ("--interface", "eth0"), without those
// the command line overrides through an exclusive pair (see above).
std::vector<std::string> ConfigArgs(const ConfigFile& file,
                                    const std::vector<std::string>& command_line);

// What rustnetd runs with: the configuration file's options, then the
// command line's, parsed by ParseDaemonOptions. With -h/--help or
// -V/--version on the command line no file is read (a broken file must not
// hide the help). An error about an option that came from the file names
// the file and line: "/etc/rustnet/rustnetd.conf line 4: --threads: ...".
absl::StatusOr<DaemonOptions> LoadDaemonOptions(
    const std::vector<std::string>& command_line,
    std::string_view default_config = kDefaultConfigPath);

// The options whose value differs between `before` and `after` that a
// running daemon cannot apply (everything except log-level and
// stats-interval), by their long names, for the SIGHUP reload's warning.
std::vector<std::string> OptionsNeedingRestart(const DaemonOptions& before,
                                               const DaemonOptions& after);

// Long option names accepted in the file; for tests (switches included).
std::vector<std::string> ConfigOptionNames();
// Long option names refused in the file (command line only).
std::vector<std::string> CommandLineOnlyOptionNames();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CONFIG_H_
