// Themes: the presets, the monochrome look NO_COLOR gets, and how colours
// come down to what a terminal has.
#include "client/theme.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "client/options.h"

namespace rustnet::client {
namespace {

Theme Get(std::string_view name) {
  auto t = ThemeByName(name);
  INFO(name);
  REQUIRE(t.ok());
  return *t;
}

bool HasColor(const StyleSpec& s) {
  return s.fg.kind != Color::Kind::kDefault || s.bg.kind != Color::Kind::kDefault;
}

TEST_CASE("theme: the presets, the original's six among them", "[client][theme]") {
  const std::vector<std::string_view> expected = {
      "classic", "muted", "vivid", "catppuccin-mocha", "tokyo-night", "gruvbox", "nord",
      "light", "colorblind"};
  CHECK(ThemeNames() == expected);
  for (std::string_view name : ThemeNames()) {
    const Theme t = Get(name);
    CHECK(t.name() == name);
    CHECK(t.colored());
    // Every style is drawn; the states that carry meaning have a colour.
    for (Style s : {Style::kWarn, Style::kBad, Style::kError, Style::kSelected, Style::kTitle}) {
      INFO(name << " style " << static_cast<int>(s));
      CHECK(HasColor(t.Lookup(s)));
    }
  }
  CHECK(Get("NORD").name() == "nord");  // Case-insensitive.
}

TEST_CASE("theme: unknown names are one sentence naming them all", "[client][theme]") {
  auto t = ThemeByName("solarized");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message() ==
        "unknown theme \"solarized\" (use classic, muted, vivid, catppuccin-mocha, tokyo-night, "
        "gruvbox, nord, light, colorblind)");
}

TEST_CASE("theme: presets differ from one another", "[client][theme]") {
  // Any two presets draw at least one style differently.
  const auto& names = ThemeNames();
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) {
      const Theme a = Get(names[i]);
      const Theme b = Get(names[j]);
      bool differ = false;
      for (Style s : kAllStyles) differ = differ || !(a.Lookup(s) == b.Lookup(s));
      INFO(names[i] << " vs " << names[j]);
      CHECK(differ);
    }
  }
}

TEST_CASE("theme: classic is the look rustnet-tui always had", "[client][theme]") {
  const Theme t = Get(kDefaultThemeName);
  CHECK(t.Lookup(Style::kTitle) == StyleSpec{Color::Ansi(7), Color::Ansi(4), true});
  CHECK(t.Lookup(Style::kSelected) == StyleSpec{Color::Ansi(0), Color::Ansi(6)});
  CHECK(t.Lookup(Style::kGood) == StyleSpec{Color::Ansi(2), Color::Default()});
  CHECK(t.Lookup(Style::kWarn) == StyleSpec{Color::Ansi(3), Color::Default(), true});
  CHECK(t.Lookup(Style::kBad) == StyleSpec{Color::Ansi(1), Color::Default(), true});
  CHECK(t.Lookup(Style::kError) == StyleSpec{Color::Ansi(7), Color::Ansi(1), true});
  // Dim text without a colour of its own is the dim attribute.
  CHECK(t.Lookup(Style::kDim) == StyleSpec{Color::Default(), Color::Default(), false, true});
  CHECK(t.Lookup(Style::kNormal) == StyleSpec{});
}

TEST_CASE("theme: monochrome has attributes and no colour at all", "[client][theme]") {
  const Theme t = Theme::Monochrome();
  CHECK_FALSE(t.colored());
  for (Style s : kAllStyles) CHECK_FALSE(HasColor(t.Lookup(s)));
  // The selection and the title still stand out, by reverse video.
  CHECK(t.Lookup(Style::kSelected).reverse);
  CHECK(t.Lookup(Style::kTitle).reverse);
  CHECK(t.Lookup(Style::kHeading).bold);
  CHECK(t.Lookup(Style::kDim).dim);
}

TEST_CASE("theme: light is for light backgrounds", "[client][theme]") {
  const Theme t = Get("light");
  // Text colours dark enough to read on white: relative luminance well
  // under the background's (WCAG's 3:1 for large text, roughly).
  for (Style s : {Style::kHeading, Style::kAccent, Style::kGood, Style::kWarn, Style::kBad}) {
    const Color c = t.Lookup(s).fg;
    REQUIRE(c.kind == Color::Kind::kRgb);
    const double luminance = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
    INFO("style " << static_cast<int>(s) << " luminance " << luminance);
    CHECK(luminance < 140);
  }
  // Unlike the dark themes, which use light text colours.
  CHECK(Get("nord").Lookup(Style::kAccent).fg.r > 100);
}

TEST_CASE("theme: colorblind never sets red against green", "[client][theme]") {
  const Theme t = Get("colorblind");
  const Color good = t.Lookup(Style::kGood).fg;
  const Color bad = t.Lookup(Style::kBad).fg;
  const Color warn = t.Lookup(Style::kWarn).fg;
  // Okabe-Ito: good is blue, bad vermillion, warn orange.
  CHECK(good == Color::Rgb(0x0072b2));
  CHECK(bad == Color::Rgb(0xd55e00));
  CHECK(warn == Color::Rgb(0xe69f00));
  // Good and bad differ in the blue-yellow axis, which all three common
  // colour-vision deficiencies keep: blue minus red has opposite signs.
  CHECK(int{good.b} - int{good.r} > 100);
  CHECK(int{bad.r} - int{bad.b} > 100);
}

TEST_CASE("theme: colours on 256, 16 and 8 colour terminals", "[client][theme]") {
  CHECK(TerminalColor(Color::Default(), 256) == -1);
  CHECK(TerminalColor(Color::Ansi(4), 8) == 4);
  CHECK(TerminalColor(Color::Ansi(12), 16) == 12);
  CHECK(TerminalColor(Color::Ansi(12), 8) == 4);  // Bright blue -> blue.
  CHECK(TerminalColor(Color::Ansi(8), 8) == 7);   // Gray -> white, not black.
  // RGB: the cube and the gray ramp.
  CHECK(NearestXterm256(0, 0, 0) == 16);
  CHECK(NearestXterm256(255, 255, 255) == 231);
  CHECK(NearestXterm256(255, 0, 0) == 196);
  CHECK(NearestXterm256(0x80, 0x80, 0x80) == 244);  // Gray 128: the ramp's 8 + 10*12.
  CHECK(NearestXterm256(0x5f, 0x87, 0xaf) == 16 + 36 * 1 + 6 * 2 + 3);
  CHECK(TerminalColor(Color::Rgb(0xff0000), 256) == 196);
  CHECK(TerminalColor(Color::Rgb(0xff0000), 16) == 9);
  CHECK(TerminalColor(Color::Rgb(0xff0000), 8) == 1);
  CHECK(NearestAnsi16(0, 0, 230) == 4);
  CHECK(NearestAnsi16(250, 250, 250) == 15);
  // Every colour of every preset lands in range.
  for (std::string_view name : ThemeNames()) {
    const Theme t = Get(name);
    for (Style s : kAllStyles) {
      for (int colors : {8, 16, 256}) {
        for (const Color& c : {t.Lookup(s).fg, t.Lookup(s).bg}) {
          const int n = TerminalColor(c, colors);
          CHECK(n >= -1);
          CHECK(n < colors);
        }
      }
    }
  }
}

TEST_CASE("theme: --theme and --no-color on the command line", "[client][theme][options]") {
  auto o = ParseClientOptions({"--theme", "Tokyo-Night", "--no-color"});
  REQUIRE(o.ok());
  CHECK(o->theme == "tokyo-night");
  CHECK(o->no_color);
  auto d = ParseClientOptions({});
  REQUIRE(d.ok());
  CHECK(d->theme.empty());
  CHECK_FALSE(d->no_color);
  auto bad = ParseClientOptions({"--theme=dark"});
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message())
            .starts_with("--theme: unknown theme \"dark\" (use classic, muted"));
  // --help names every preset.
  for (std::string_view name : ThemeNames()) {
    INFO(name);
    CHECK(ClientUsage().find(std::string(name)) != std::string::npos);
  }
}

}  // namespace
}  // namespace rustnet::client
