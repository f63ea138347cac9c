// Small text charts for the tabs: sparklines (one row of block glyphs) and
// block charts (several rows, a left axis with units). Pure functions of
// their inputs, so the scaling is unit-tested.
//
// Threads: none of its own; pure functions.
#ifndef RUSTNET_CLIENT_TABS_CHART_H_
#define RUSTNET_CLIENT_TABS_CHART_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "client/format.h"
#include "client/ui_types.h"

namespace rustnet::client {

// `values` squeezed (or stretched) into `width` cells: each cell the
// largest value of the samples it covers, so a short burst is never
// averaged away. Empty input: `width` zeros.
std::vector<double> Downsample(const std::vector<double>& values, size_t width);

// One row of `width` block glyphs (" ▁▂▃▄▅▆▇█"; ASCII " .-=#" without
// UTF-8), scaled so the largest value fills its cell. Zero (and negative,
// NaN) is blank; any positive value shows at least the lowest glyph. All
// zero: all blank.
std::string Sparkline(const std::vector<double>& values, size_t width, const Glyphs& glyphs);

// The top of an axis for values up to `max`: a 1, 2 or 5 times a power of
// ten, in the unit (power of 1024) that FormatRate/FormatBytes would pick
// for `max`. 0 for max <= 0.
double NiceAxisTop(double max);

// A block chart: `height` rows of `width` columns; the first `kAxisWidth`
// columns hold the axis labels (the top value, half of it, 0) formatted by
// `label`, the rest the downsampled values as vertical bars (eighth blocks
// with UTF-8, '#' without). Style of the bars: `style`.
inline constexpr size_t kAxisWidth = 11;
std::vector<Line> BlockChart(const std::vector<double>& values, size_t width, size_t height,
                             const std::function<std::string(double)>& label, Style style,
                             const Glyphs& glyphs);

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_CHART_H_
