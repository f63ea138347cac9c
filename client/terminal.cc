#include "client/terminal.h"

#include <langinfo.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>

#include "absl/status/status.h"

// Last, and without its function-like macros (erase(), move(y, x), ...),
// which would rewrite std::move and std::string::erase. Wide-character
// input (get_wch) needs NCURSES_WIDECHAR.
#define NCURSES_NOMACROS 1
#define NCURSES_WIDECHAR 1
#include <curses.h>

namespace rustnet::client {
namespace {

// What the crash handler needs, prepared ahead so the handler only calls
// write() and tcsetattr() (both async-signal-safe).
volatile sig_atomic_t g_terminal_active = 0;
char g_restore[512];
size_t g_restore_length = 0;
termios g_saved_termios;
bool g_have_termios = false;
volatile sig_atomic_t g_quit_signal = 0;

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction g_previous[NSIG];

constexpr int kUiSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP, SIGCONT};
constexpr int kQuitSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

void EmergencyRestore() {
  if (g_terminal_active == 0) return;
  g_terminal_active = 0;
  if (g_restore_length > 0) {
    ssize_t ignored = write(STDOUT_FILENO, g_restore, g_restore_length);
    (void)ignored;
  }
  if (g_have_termios) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
}

void OnCrash(int sig, siginfo_t* info, void* /*context*/) {
  EmergencyRestore();
  // Hand the signal to whoever had it before (the default action, or a
  // sanitizer's reporter). A fault raised by the hardware repeats when the
  // handler returns, now with the old handler; a signal sent by kill() or
  // raise() must be raised again.
  sigaction(sig, &g_previous[sig], nullptr);
  if (info == nullptr || info->si_code <= 0) raise(sig);
}

void OnQuit(int sig) { g_quit_signal = sig; }

// COLOR_PAIR is a function returning int without curses' macros.
unsigned Pair(short n) { return static_cast<unsigned>(COLOR_PAIR(n)); }

void AppendCapability(const char* name, const char* fallback) {
  const char* value = tigetstr(name);
  // tigetstr returns (char*)-1 for a name that is not a string capability.
  if (value == nullptr || value == reinterpret_cast<const char*>(static_cast<intptr_t>(-1)))
    value = fallback;
  const size_t n = std::strlen(value);
  if (g_restore_length + n < sizeof(g_restore)) {
    std::memcpy(g_restore + g_restore_length, value, n);
    g_restore_length += n;
  }
}

void InstallHandlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  // An alternate stack, so a stack overflow still restores the terminal.
  static char alt_stack[1 << 16];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof(alt_stack);
  sigaltstack(&ss, nullptr);
  for (int sig : kCrashSignals) {
    struct sigaction sa {};
    sa.sa_sigaction = OnCrash;
    sa.sa_flags = static_cast<int>(SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &g_previous[sig]);
  }
  for (int sig : kQuitSignals) {
    struct sigaction sa {};
    sa.sa_handler = OnQuit;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);  // No SA_RESTART: getch returns at once.
  }
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

void BlockUiSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kUiSignals) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void UnblockUiSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kUiSignals) sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

int PendingQuitSignal() { return g_quit_signal; }

absl::StatusOr<std::unique_ptr<Terminal>> Terminal::Start(const Theme& theme) {
  if (isatty(STDIN_FILENO) == 0 || isatty(STDOUT_FILENO) == 0) {
    return absl::FailedPreconditionError(
        "rustnet-tui needs a terminal (stdin and stdout must be a tty)");
  }
  std::setlocale(LC_ALL, "");
  auto t = std::unique_ptr<Terminal>(new Terminal());
  t->unicode_ = std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  g_have_termios = tcgetattr(STDIN_FILENO, &g_saved_termios) == 0;

  // newterm rather than initscr: initscr exits the process on a bad TERM.
  const char* term = std::getenv("TERM");
  if (term == nullptr || term[0] == '\0') term = "xterm";
  SCREEN* screen = newterm(term, stdout, stdin);
  if (screen == nullptr) {
    return absl::FailedPreconditionError(
        "cannot use this terminal (TERM is unknown to terminfo); try TERM=xterm-256color");
  }
  set_term(screen);
  raw();  // Ctrl+C and Ctrl+Z arrive as keys: quit, suspend.
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  set_escdelay(25);  // Esc answers at once.
  timeout(50);
  curs_set(0);
  // Mouse: clicks and the wheel (xterm's reports, X10 or SGR as terminfo
  // says). Double clicks are told apart by the view model, so ncurses
  // reports each press at once (no click interval).
  mouseinterval(0);
  mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, nullptr);
  t->color_ = theme.colored() && has_colors();
  if (t->color_) {
    start_color();
    // A pair per style, or no colours (a terminal with very few pairs).
    t->color_ = COLOR_PAIRS > static_cast<int>(std::size(kAllStyles));
  }
  t->theme_ = t->color_ ? theme : Theme::Monochrome();
  if (t->color_) {
    use_default_colors();
    // One pair per style: pair style + 1.
    for (Style style : kAllStyles) {
      const StyleSpec spec = t->theme_.Lookup(style);
      init_pair(static_cast<short>(static_cast<int>(style) + 1),
                static_cast<short>(TerminalColor(spec.fg, COLORS)),
                static_cast<short>(TerminalColor(spec.bg, COLORS)));
    }
  }

  g_restore_length = 0;
  AppendCapability("sgr0", "\033[0m");
  AppendCapability("cnorm", "\033[?25h");
  AppendCapability("rmkx", "");
  AppendCapability("rmcup", "\033[?1049l");
  t->active_ = true;
  g_terminal_active = 1;
  InstallHandlers();
  return t;
}

Terminal::~Terminal() { Stop(); }

void Terminal::Stop() {
  if (!active_) return;
  active_ = false;
  g_terminal_active = 0;
  curs_set(1);
  endwin();
  std::fflush(stdout);
}

std::pair<int, int> Terminal::Size() const {
  int h = 0;
  int w = 0;
  getmaxyx(stdscr, h, w);
  return {w, h};
}

std::optional<Key> Terminal::ReadKey() {
  wint_t ch = 0;
  const int kind = get_wch(&ch);
  if (kind == ERR) return std::nullopt;
  if (kind == KEY_CODE_YES) {
    switch (ch) {
      case KEY_UP: return Key::Of(KeyCode::kUp);
      case KEY_DOWN: return Key::Of(KeyCode::kDown);
      case KEY_LEFT: return Key::Of(KeyCode::kLeft);
      case KEY_RIGHT: return Key::Of(KeyCode::kRight);
      case KEY_PPAGE: return Key::Of(KeyCode::kPageUp);
      case KEY_NPAGE: return Key::Of(KeyCode::kPageDown);
      case KEY_HOME: return Key::Of(KeyCode::kHome);
      case KEY_END: return Key::Of(KeyCode::kEnd);
      case KEY_ENTER: return Key::Of(KeyCode::kEnter);
      case KEY_BTAB: return Key::Of(KeyCode::kBackTab);
      case KEY_BACKSPACE: return Key::Of(KeyCode::kBackspace);
      case KEY_DC: return Key::Of(KeyCode::kDelete);
      case KEY_MOUSE: {
        MEVENT event;
        if (getmouse(&event) != OK) return Key::Of(KeyCode::kNone);
        if ((event.bstate & BUTTON4_PRESSED) != 0) {
          return Key::Mouse(MouseAction::kWheelUp, event.x, event.y);
        }
        if ((event.bstate & BUTTON5_PRESSED) != 0) {
          return Key::Mouse(MouseAction::kWheelDown, event.x, event.y);
        }
        if ((event.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) != 0) {
          return Key::Mouse(MouseAction::kClick, event.x, event.y);
        }
        return Key::Of(KeyCode::kNone);
      }
      default: return Key::Of(KeyCode::kNone);  // KEY_RESIZE too: Size() tells.
    }
  }
  switch (ch) {
    case 3: return Key::Of(KeyCode::kInterrupt);
    case 26: return Key::Of(KeyCode::kSuspend);
    case 12: return Key::Of(KeyCode::kRedraw);
    case 1: return Key::Of(KeyCode::kLineStart);
    case 5: return Key::Of(KeyCode::kLineEnd);
    case 21: return Key::Of(KeyCode::kKillLine);
    case 2: return Key::Of(KeyCode::kPageUp);    // Ctrl+B, as in less and vi.
    case 6: return Key::Of(KeyCode::kPageDown);  // Ctrl+F.
    case 23: return Key::Of(KeyCode::kKillWord);
    case '\t': return Key::Of(KeyCode::kTab);
    case '\r':
    case '\n': return Key::Of(KeyCode::kEnter);
    case 27: return Key::Of(KeyCode::kEscape);
    case 8:
    case 127: return Key::Of(KeyCode::kBackspace);
    default: break;
  }
  if (ch < 0x20) return Key::Of(KeyCode::kNone);
  return Key::Char(static_cast<char32_t>(ch));
}

unsigned Terminal::Attr(Style style) const {
  const StyleSpec spec = theme_.Lookup(style);
  unsigned attr = A_NORMAL;
  if (color_) attr |= Pair(static_cast<short>(static_cast<int>(style) + 1));
  if (spec.bold) attr |= A_BOLD;
  if (spec.dim) attr |= A_DIM;
  if (spec.reverse) attr |= A_REVERSE;
  return attr;
}

void Terminal::Draw(const std::vector<Line>& lines, std::optional<std::pair<int, int>> cursor) {
  if (!active_) return;
  const auto [width, height] = Size();
  erase();
  for (size_t y = 0; y < lines.size() && static_cast<int>(y) < height; ++y) {
    const int row = static_cast<int>(y);
    move(row, 0);
    int x = 0;
    for (const Segment& s : lines[y].segments) {
      if (x >= width) break;
      attrset(static_cast<int>(Attr(s.style)));
      addstr(s.text.c_str());
      x += static_cast<int>(DisplayWidth(s.text));
    }
    if (lines[y].fill != Style::kNormal && x < width) {
      attrset(static_cast<int>(Attr(lines[y].fill)));
      // The bottom-right cell cannot be written without scrolling on some
      // terminals; the fill stops one short there.
      const int end = row == height - 1 ? width - 1 : width;
      for (; x < end; ++x) addch(' ');
    }
  }
  attrset(A_NORMAL);
  if (cursor) {
    curs_set(1);
    move(cursor->first, cursor->second);
  } else {
    curs_set(0);
  }
  refresh();
}

void Terminal::WriteRaw(std::string_view bytes) {
  std::fflush(stdout);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

void Terminal::Suspend() {
  if (!active_) return;
  def_prog_mode();
  endwin();
  g_terminal_active = 0;
  kill(getpid(), SIGSTOP);  // Stops here until SIGCONT (fg).
  g_terminal_active = 1;
  reset_prog_mode();
  ForceRepaint();
}

void Terminal::ForceRepaint() {
  clearok(curscr, TRUE);
  refresh();
}

}  // namespace rustnet::client
