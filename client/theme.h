// rustnet-tui's colour themes: what each Style of the view model looks like.
//
// The view model says what a piece of text is (Style::kWarn, kSelected, ...);
// a Theme says how that looks (colours, bold, dim, reverse), and the
// terminal only draws what Lookup answers. Presets: `classic` (the
// default), the original rustnet's six (muted, vivid, catppuccin-mocha,
// tokyo-night, gruvbox, nord), `light` for light terminal backgrounds, and
// `colorblind` (the Okabe-Ito palette: blue / orange / vermillion, never
// red against green). Monochrome() is what NO_COLOR and --no-color give:
// attributes only (bold, dim, reverse), no colour at all.
//
// Colours are ANSI indices (0-15) or RGB. RGB is drawn as the nearest of
// xterm's 256 colours, or of the 16 ANSI ones on terminals with fewer
// (TerminalColor); ANSI 8-15 fall back to 0-7 on 8-colour terminals.
//
// Adding a Style: add it to kAllStyles and to Theme::Lookup's switch (the
// compiler points at the switch).
//
// Threads: immutable values; any thread.
#ifndef RUSTNET_CLIENT_THEME_H_
#define RUSTNET_CLIENT_THEME_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/view_model.h"

namespace rustnet::client {

struct Color {
  enum class Kind : uint8_t { kDefault, kAnsi, kRgb };
  Kind kind = Kind::kDefault;  // kDefault: the terminal's own colour.
  uint8_t ansi = 0;            // 0-15.
  uint8_t r = 0, g = 0, b = 0;

  static constexpr Color Default() { return {}; }
  static constexpr Color Ansi(uint8_t index) { return {Kind::kAnsi, index, 0, 0, 0}; }
  static constexpr Color Rgb(uint32_t hex) {
    return {Kind::kRgb, 0, static_cast<uint8_t>(hex >> 16), static_cast<uint8_t>(hex >> 8),
            static_cast<uint8_t>(hex)};
  }
  bool operator==(const Color& other) const = default;
};

// How one Style is drawn.
struct StyleSpec {
  Color fg;
  Color bg;
  bool bold = false;
  bool dim = false;
  bool reverse = false;
  bool operator==(const StyleSpec& other) const = default;
};

// A theme's colours by role; Lookup maps the view model's styles onto them.
struct Palette {
  Color text;          // Plain text (default: the terminal's).
  Color muted;         // Dimmed text.
  Color heading;       // Column headers, section titles.
  Color accent;        // Rates, host names.
  Color good;          // ESTABLISHED, ACTIVE.
  Color warn;          // Handshakes, one-way traffic, confirmations.
  Color bad;           // CLOSED, errors in the table.
  Color error_fg, error_bg;  // The cannot-reach title, filter errors.
  Color title_fg, title_bg;  // The top bar.
  Color tab_fg, tab_bg;      // The active tab.
  Color selection_fg, selection_bg;
};

// Every Style, for the terminal's colour pairs.
inline constexpr Style kAllStyles[] = {
    Style::kNormal, Style::kTitle, Style::kTabActive, Style::kHeading,
    Style::kSelected, Style::kDim, Style::kGood, Style::kWarn,
    Style::kBad, Style::kAccent, Style::kError,
};

class Theme {
 public:
  // Attributes only, no colour: NO_COLOR, --no-color, or a terminal
  // without colours.
  static Theme Monochrome();

  const std::string& name() const { return name_; }
  bool colored() const { return colored_; }
  const Palette& palette() const { return palette_; }
  // The one colour lookup the drawing code uses.
  StyleSpec Lookup(Style style) const;

 private:
  friend absl::StatusOr<Theme> ThemeByName(std::string_view name);
  std::string name_;
  bool colored_ = false;
  Palette palette_;
};

inline constexpr std::string_view kDefaultThemeName = "classic";

// The presets' names, in the order --help lists them.
const std::vector<std::string_view>& ThemeNames();
// A preset by name (case-insensitive). Error: one sentence naming them all.
absl::StatusOr<Theme> ThemeByName(std::string_view name);

// The colour number for `c` on a terminal with `colors` colours (ncurses'
// COLORS: 8, 16, 256, ...); -1 for the terminal's default.
int TerminalColor(const Color& c, int colors);
// The nearest of xterm's 256 colours (16-255: the 6x6x6 cube and the gray
// ramp) to an RGB colour.
int NearestXterm256(uint8_t r, uint8_t g, uint8_t b);
// The nearest of the 16 ANSI colours (xterm's default values).
int NearestAnsi16(uint8_t r, uint8_t g, uint8_t b);

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_THEME_H_
