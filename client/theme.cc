#include "client/theme.h"

#include <array>
#include <climits>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace rustnet::client {
namespace {

constexpr Color A(uint8_t index) { return Color::Ansi(index); }
constexpr Color H(uint32_t hex) { return Color::Rgb(hex); }
constexpr Color D() { return Color::Default(); }

// ANSI indices.
constexpr uint8_t kBlack = 0, kRed = 1, kGreen = 2, kYellow = 3, kBlue = 4, kMagenta = 5,
                  kCyan = 6, kWhite = 7, kGray = 8, kBrightWhite = 15;

struct Preset {
  std::string_view name;
  Palette palette;
};

// Field order: text, muted, heading, accent, good, warn, bad, error fg/bg,
// title fg/bg, tab fg/bg, selection fg/bg.
const std::array<Preset, 9>& Presets() {
  static const std::array<Preset, 9> kPresets = {{
      // rustnet-tui's own look: ANSI-8, works everywhere.
      {"classic",
       {D(), D(), A(kCyan), A(kCyan), A(kGreen), A(kYellow), A(kRed), A(kWhite), A(kRed),
        A(kWhite), A(kBlue), A(kBlack), A(kCyan), A(kBlack), A(kCyan)}},
      // The original's default: colour only for signals (states, rates).
      {"muted",
       {D(), A(kGray), D(), A(kCyan), D(), A(kYellow), A(kRed), A(kBrightWhite), A(kRed),
        A(kBrightWhite), A(kGray), A(kBlack), A(kCyan), A(kBlack), A(kCyan)}},
      // The same ANSI palette, the chrome coloured too.
      {"vivid",
       {D(), A(kGray), A(kYellow), A(kMagenta), A(kGreen), A(kYellow), A(kRed), A(kBrightWhite),
        A(kRed), A(kBrightWhite), A(kMagenta), A(kBlack), A(kYellow), A(kBlack), A(kCyan)}},
      {"catppuccin-mocha",
       {D(), H(0x6c7086), H(0xcba6f7), H(0x89b4fa), H(0xa6e3a1), H(0xf9e2af), H(0xf38ba8),
        H(0x1e1e2e), H(0xf38ba8), H(0xcdd6f4), H(0x313244), H(0x1e1e2e), H(0x89b4fa),
        H(0x1e1e2e), H(0x89dceb)}},
      {"tokyo-night",
       {D(), H(0x565f89), H(0x7aa2f7), H(0x7dcfff), H(0x9ece6a), H(0xe0af68), H(0xf7768e),
        H(0x1a1b26), H(0xf7768e), H(0xc0caf5), H(0x292e42), H(0x1a1b26), H(0x7aa2f7),
        H(0x1a1b26), H(0xbb9af7)}},
      {"gruvbox",
       {D(), H(0x928374), H(0xfabd2f), H(0x83a598), H(0xb8bb26), H(0xfe8019), H(0xfb4934),
        H(0x282828), H(0xfb4934), H(0xebdbb2), H(0x3c3836), H(0x282828), H(0x8ec07c),
        H(0x282828), H(0x83a598)}},
      {"nord",
       {D(), H(0x4c566a), H(0x88c0d0), H(0x81a1c1), H(0xa3be8c), H(0xebcb8b), H(0xbf616a),
        H(0x2e3440), H(0xbf616a), H(0xd8dee9), H(0x3b4252), H(0x2e3440), H(0x88c0d0),
        H(0x2e3440), H(0x81a1c1)}},
      // Light backgrounds: dark, saturated text colours (no yellow or
      // cyan on white), pale bars.
      {"light",
       {D(), H(0x6e7781), H(0x0550ae), H(0x8250df), H(0x116329), H(0x9a6700), H(0xcf222e),
        H(0xffffff), H(0xcf222e), H(0x24292f), H(0xd0d7de), H(0xffffff), H(0x0550ae),
        H(0x24292f), H(0xb6e3ff)}},
      // Okabe-Ito, safe for deuteranopia, protanopia and tritanopia: good is
      // blue, warn orange, bad vermillion; no red/green contrast carries
      // meaning.
      {"colorblind",
       {D(), H(0x999999), H(0x56b4e9), H(0x56b4e9), H(0x0072b2), H(0xe69f00), H(0xd55e00),
        H(0xffffff), H(0xd55e00), H(0x000000), H(0x56b4e9), H(0x000000), H(0xf0e442),
        H(0x000000), H(0x56b4e9)}},
  }};
  return kPresets;
}

// xterm's default values of the 16 ANSI colours.
constexpr std::array<std::array<int, 3>, 16> kAnsi16 = {{
    {0, 0, 0}, {205, 0, 0}, {0, 205, 0}, {205, 205, 0},
    {0, 0, 238}, {205, 0, 205}, {0, 205, 205}, {229, 229, 229},
    {127, 127, 127}, {255, 0, 0}, {0, 255, 0}, {255, 255, 0},
    {92, 92, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
}};

int Distance(int r1, int g1, int b1, int r2, int g2, int b2) {
  return (r1 - r2) * (r1 - r2) + (g1 - g2) * (g1 - g2) + (b1 - b2) * (b1 - b2);
}

}  // namespace

Theme Theme::Monochrome() {
  Theme t;
  t.name_ = "none";
  t.colored_ = false;
  return t;
}

StyleSpec Theme::Lookup(Style style) const {
  if (!colored_) {
    // Attributes only: what NO_COLOR promises.
    switch (style) {
      case Style::kTitle: return {D(), D(), false, false, true};
      case Style::kTabActive: return {D(), D(), true, false, false};
      case Style::kHeading: return {D(), D(), true, false, false};
      case Style::kSelected: return {D(), D(), false, false, true};
      case Style::kDim: return {D(), D(), false, true, false};
      case Style::kWarn:
      case Style::kBad:
      case Style::kError: return {D(), D(), true, false, false};
      case Style::kNormal:
      case Style::kGood:
      case Style::kAccent: return {};
    }
    return {};
  }
  const Palette& p = palette_;
  switch (style) {
    case Style::kNormal: return {p.text, D()};
    case Style::kTitle: return {p.title_fg, p.title_bg, true};
    case Style::kTabActive: return {p.tab_fg, p.tab_bg, true};
    case Style::kHeading: return {p.heading, D(), true};
    case Style::kSelected: return {p.selection_fg, p.selection_bg};
    // Without a colour for it, dim text is the terminal's dim attribute.
    case Style::kDim: return {p.muted, D(), false, p.muted == D()};
    case Style::kGood: return {p.good, D()};
    case Style::kWarn: return {p.warn, D(), true};
    case Style::kBad: return {p.bad, D(), true};
    case Style::kAccent: return {p.accent, D()};
    case Style::kError: return {p.error_fg, p.error_bg, true};
  }
  return {};
}

const std::vector<std::string_view>& ThemeNames() {
  static const auto* const names = [] {
    auto* v = new std::vector<std::string_view>();
    for (const Preset& p : Presets()) v->push_back(p.name);
    return v;
  }();
  return *names;
}

absl::StatusOr<Theme> ThemeByName(std::string_view name) {
  const std::string lowered = absl::AsciiStrToLower(std::string(name));
  for (const Preset& p : Presets()) {
    if (p.name == lowered) {
      Theme t;
      t.name_ = std::string(p.name);
      t.colored_ = true;
      t.palette_ = p.palette;
      return t;
    }
  }
  std::string names;
  for (std::string_view n : ThemeNames()) {
    if (!names.empty()) names += ", ";
    names += n;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown theme \"", std::string(name), "\" (use ", names, ")"));
}

int NearestAnsi16(uint8_t r, uint8_t g, uint8_t b) {
  int best = 0;
  int best_distance = INT_MAX;
  for (int i = 0; i < 16; ++i) {
    const auto& c = kAnsi16[static_cast<size_t>(i)];
    const int d = Distance(r, g, b, c[0], c[1], c[2]);
    if (d < best_distance) {
      best_distance = d;
      best = i;
    }
  }
  return best;
}

int NearestXterm256(uint8_t r, uint8_t g, uint8_t b) {
  // The 6x6x6 cube: levels 0, 95, 135, 175, 215, 255.
  static constexpr int kLevels[6] = {0, 95, 135, 175, 215, 255};
  const auto nearest_level = [](int v) {
    int best = 0;
    for (int i = 1; i < 6; ++i) {
      if (std::abs(v - kLevels[i]) < std::abs(v - kLevels[best])) best = i;
    }
    return best;
  };
  const int ri = nearest_level(r), gi = nearest_level(g), bi = nearest_level(b);
  const int cube = 16 + 36 * ri + 6 * gi + bi;
  const int cube_distance = Distance(r, g, b, kLevels[ri], kLevels[gi], kLevels[bi]);
  // The gray ramp 232-255: 8, 18, ..., 238.
  const int average = (r + g + b) / 3;
  int gray_index = (average - 8 + 5) / 10;
  if (gray_index < 0) gray_index = 0;
  if (gray_index > 23) gray_index = 23;
  const int gray = 8 + 10 * gray_index;
  const int gray_distance = Distance(r, g, b, gray, gray, gray);
  return gray_distance < cube_distance ? 232 + gray_index : cube;
}

int TerminalColor(const Color& c, int colors) {
  switch (c.kind) {
    case Color::Kind::kDefault: return -1;
    case Color::Kind::kAnsi:
      if (colors >= 16) return c.ansi;
      // Gray on 8 colours: white (black would vanish on a dark screen).
      return c.ansi == kGray ? kWhite : c.ansi & 7;
    case Color::Kind::kRgb: {
      if (colors >= 256) return NearestXterm256(c.r, c.g, c.b);
      const int ansi = NearestAnsi16(c.r, c.g, c.b);
      if (colors >= 16) return ansi;
      return ansi == kGray ? kWhite : ansi & 7;
    }
  }
  return -1;
}

}  // namespace rustnet::client
