// Sparklines and block charts: scaling, downsampling, axis units.
#include "client/tabs/chart.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace rustnet::client {
namespace {

const Glyphs kUnicode{true};
const Glyphs kAscii{false};

// The code points of a UTF-8 string (the sparkline's cells).
std::vector<std::string> Cells(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) n = 4; else if (c >= 0xE0) n = 3; else if (c >= 0xC0) n = 2;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

TEST_CASE("chart: sparkline scales to its largest value", "[client][tabs][chart]") {
  const auto cells = Cells(Sparkline({0, 5, 10}, 3, kUnicode));
  REQUIRE(cells.size() == 3);
  CHECK(cells[0] == " ");
  CHECK(cells[1] == "\u2584");  // Half: four eighths.
  CHECK(cells[2] == "\u2588");  // The largest fills its cell.
  // The scale is relative: ten times the values draw the same.
  CHECK(Sparkline({0, 50, 100}, 3, kUnicode) == Sparkline({0, 5, 10}, 3, kUnicode));
  // A tiny value beside a huge one still shows.
  CHECK(Cells(Sparkline({1, 1e9}, 2, kUnicode))[0] == "\u2581");
  // All zero, negative or NaN: blank.
  CHECK(Sparkline({0, 0, 0}, 3, kUnicode) == "   ");
  CHECK(Sparkline({-5, std::nan(""), 0}, 3, kUnicode) == "   ");
  CHECK(Sparkline({}, 4, kUnicode) == "    ");
  // ASCII levels.
  CHECK(Sparkline({0, 10}, 2, kAscii) == " #");
}

TEST_CASE("chart: downsampling keeps the peak of each cell", "[client][tabs][chart]") {
  std::vector<double> v(60, 0.0);
  v[7] = 100;  // One burst in sixty seconds.
  const auto d = Downsample(v, 20);
  REQUIRE(d.size() == 20);
  CHECK(d[2] == 100);  // Samples 6..8.
  double sum = 0;
  for (double x : d) sum += x;
  CHECK(sum == 100);
  // Fewer samples than cells: each sample spreads over several cells.
  const auto up = Downsample({1, 2}, 4);
  CHECK(up == std::vector<double>{1, 1, 2, 2});
}

TEST_CASE("chart: axis tops are 1, 2 or 5 in the shown unit", "[client][tabs][chart]") {
  CHECK(NiceAxisTop(0) == 0);
  CHECK(NiceAxisTop(-1) == 0);
  CHECK(NiceAxisTop(7) == 10);
  CHECK(NiceAxisTop(10) == 10);
  CHECK(NiceAxisTop(11) == 20);
  CHECK(NiceAxisTop(300) == 500);
  CHECK(NiceAxisTop(1234) == 2 * 1024);  // 1.2 KB/s -> 2 KB/s.
  CHECK(NiceAxisTop(3.5 * 1024 * 1024) == 5 * 1024 * 1024);
  CHECK(FormatRate(NiceAxisTop(1234)) == "2.00 KB/s");
}

TEST_CASE("chart: block chart has an axis with units and bars", "[client][tabs][chart]") {
  std::vector<double> v(100, 0.0);
  for (size_t i = 50; i < 100; ++i) v[i] = 1000;  // 1000 B/s for the second half.
  const auto lines =
      BlockChart(v, 61, 4, [](double x) { return FormatRate(x); }, Style::kGood, kUnicode);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].Text().find("1000 B/s") != std::string::npos);  // The top: 1000 is nice.
  CHECK(lines[3].Text().find("0 B/s") != std::string::npos);
  for (const Line& l : lines) CHECK(DisplayWidth(l.Text()) == 61);
  // Full bars in the right half of every row, none in the left half.
  const std::string top = lines[0].segments.back().text;
  const auto cells = Cells(top);
  REQUIRE(cells.size() == 50);
  CHECK(cells[0] == " ");
  CHECK(cells[49] == "\u2588");
}

}  // namespace
}  // namespace rustnet::client
