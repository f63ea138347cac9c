#include "client/tabs/chart.h"

#include <algorithm>
#include <cmath>

namespace rustnet::client {
namespace {

// Eighths of a cell, from empty to full.
constexpr const char* kBlocks[] = {" ",        "\u2581", "\u2582", "\u2583", "\u2584",
                                   "\u2585",   "\u2586", "\u2587", "\u2588"};
constexpr const char* kAsciiLevels[] = {" ", ".", "-", "=", "#"};

bool Positive(double v) { return v > 0 && std::isfinite(v); }

}  // namespace

std::vector<double> Downsample(const std::vector<double>& values, size_t width) {
  std::vector<double> out(width, 0.0);
  if (values.empty() || width == 0) return out;
  const size_t n = values.size();
  for (size_t cell = 0; cell < width; ++cell) {
    // Cell `cell` covers samples [cell*n/width, (cell+1)*n/width); at least one.
    size_t begin = cell * n / width;
    size_t end = std::max((cell + 1) * n / width, begin + 1);
    end = std::min(end, n);
    begin = std::min(begin, n - 1);
    double m = 0;
    for (size_t i = begin; i < end; ++i) {
      if (Positive(values[i])) m = std::max(m, values[i]);
    }
    out[cell] = m;
  }
  return out;
}

std::string Sparkline(const std::vector<double>& values, size_t width, const Glyphs& glyphs) {
  const std::vector<double> cells = Downsample(values, width);
  double max = 0;
  for (double v : cells) max = std::max(max, v);
  const size_t levels = glyphs.unicode ? 8 : 4;
  std::string out;
  for (double v : cells) {
    size_t level = 0;
    if (max > 0 && Positive(v)) {
      level = static_cast<size_t>(std::lround(v / max * static_cast<double>(levels)));
      level = std::clamp<size_t>(level, 1, levels);
    }
    out += glyphs.unicode ? kBlocks[level] : kAsciiLevels[level];
  }
  return out;
}

double NiceAxisTop(double max) {
  if (!Positive(max)) return 0;
  double scale = 1;
  while (max / scale >= 1023.5) scale *= 1024;
  const double v = max / scale;
  double decade = std::pow(10.0, std::floor(std::log10(v)));
  for (;;) {
    for (double step : {1.0, 2.0, 5.0}) {
      if (step * decade >= v * (1 - 1e-12)) return step * decade * scale;
    }
    decade *= 10;
  }
}

std::vector<Line> BlockChart(const std::vector<double>& values, size_t width, size_t height,
                             const std::function<std::string(double)>& label, Style style,
                             const Glyphs& glyphs) {
  std::vector<Line> out;
  if (height == 0) return out;
  const size_t plot = width > kAxisWidth ? width - kAxisWidth : 0;
  const std::vector<double> cells = Downsample(values, plot);
  double max = 0;
  for (double v : cells) max = std::max(max, v);
  const double top = NiceAxisTop(max);
  const size_t eighths = height * 8;
  for (size_t row = 0; row < height; ++row) {
    Line line;
    std::string axis;
    if (row == 0) {
      axis = label(top);
    } else if (height >= 3 && row == (height - 1) / 2 && height > 3) {
      axis = label(top / 2);
    } else if (row + 1 == height) {
      axis = label(0);
    }
    axis = FitEnd(axis, kAxisWidth - 2, glyphs, /*right=*/true);
    line.segments.push_back({Cat(axis, glyphs.unicode ? " \u2502" : " |"), Style::kDim});
    // This row covers eighths [base, base + 8) from the bottom.
    const size_t base = (height - 1 - row) * 8;
    std::string bars;
    for (double v : cells) {
      size_t filled = 0;
      if (top > 0 && Positive(v)) {
        filled = static_cast<size_t>(std::lround(v / top * static_cast<double>(eighths)));
        filled = std::max<size_t>(filled, 1);
      }
      const size_t here = filled > base ? std::min<size_t>(filled - base, 8) : 0;
      if (glyphs.unicode) {
        bars += kBlocks[here];
      } else {
        bars += here >= 4 ? "#" : (here > 0 ? "." : " ");
      }
    }
    line.segments.push_back({std::move(bars), style});
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace rustnet::client
