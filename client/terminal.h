// ncurses drawing and input for rustnet-tui: the only file pair that knows
// about curses. It draws the lines the view model renders, styled as the
// theme says (client/theme.h; Theme::Monochrome() for NO_COLOR, and no
// colours on a terminal without them), decodes keys, and writes raw escape
// sequences (OSC 52) to the terminal.
//
// The terminal is always given back as it was: Stop() on the normal path,
// and for crash signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) a handler
// that only does async-signal-safe things — writes the terminfo strings
// that leave the alternate screen and show the cursor, restores the saved
// termios — and then lets the signal take its course. SIGTERM, SIGINT,
// SIGHUP and SIGQUIT set a flag the UI loop checks (PendingQuitSignal).
//
// Threads: the UI thread only (ncurses is not thread-safe). Signals meant
// for the UI are blocked in other threads (BlockUiSignals before starting
// them).
#ifndef RUSTNET_CLIENT_TERMINAL_H_
#define RUSTNET_CLIENT_TERMINAL_H_

#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/theme.h"
#include "client/view_model.h"

namespace rustnet::client {

// Blocks SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP and SIGCONT in
// the calling thread (and threads it starts afterwards).
void BlockUiSignals();
// Unblocks them in the calling thread, so they arrive on the UI thread.
void UnblockUiSignals();
// The quit signal that arrived (SIGTERM, ...), or 0.
int PendingQuitSignal();

class Terminal {
 public:
  // Takes over the terminal (alternate screen, raw input), drawing with
  // `theme` (its colours only if the terminal has them).
  static absl::StatusOr<std::unique_ptr<Terminal>> Start(const Theme& theme);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Gives the terminal back. Idempotent.
  void Stop();

  // {width, height}.
  std::pair<int, int> Size() const;
  bool unicode() const { return unicode_; }
  // Waits up to the input timeout (50 ms) for a key.
  std::optional<Key> ReadKey();
  void Draw(const std::vector<Line>& lines, std::optional<std::pair<int, int>> cursor);
  // Bytes straight to the terminal (after the screen is drawn).
  void WriteRaw(std::string_view bytes);
  // Ctrl+Z: give the terminal back, stop; redraw when continued.
  void Suspend();
  // Ctrl+L: repaint everything.
  void ForceRepaint();

 private:
  Terminal() = default;
  unsigned Attr(Style style) const;  // A curses chtype.

  bool active_ = false;
  bool color_ = false;
  Theme theme_ = Theme::Monochrome();
  bool unicode_ = false;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TERMINAL_H_
