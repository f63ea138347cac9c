#include "client/columns.h"

#include <algorithm>

namespace rustnet::client {
namespace {
namespace v1 = rustnet::v1;
}  // namespace

const std::vector<ColumnSpec>& AllColumns() {
  // Minimum widths: an IPv4 "a.b.c.d:port" of typical length fits 20;
  // longer addresses and names are cut at the start so the port stays.
  // Rates are at most 9 ("1023 KB/s"), states at most 11 ("ESTABLISHED").
  // Every title fits with the sort arrow after it ("Proto\u2191").
  static const std::vector<ColumnSpec> kColumns = {
      {Column::kProtocol, "Proto", 6, 6, 6, 1, 0, false, v1::SORT_FIELD_PROTOCOL},
      {Column::kLocal, "Local address", 20, 23, 41, 2, 2, false, v1::SORT_FIELD_LOCAL_ADDRESS},
      {Column::kRemote, "Remote address", 20, 30, 50, 3, 1, false, v1::SORT_FIELD_REMOTE_ADDRESS},
      {Column::kState, "State", 11, 11, 11, 4, 0, false, v1::SORT_FIELD_STATE},
      {Column::kService, "Service", 8, 10, 12, 7, 5, false, v1::SORT_FIELD_SERVICE},
      {Column::kApplication, "Application", 16, 28, 40, 8, 3, false, v1::SORT_FIELD_APPLICATION},
      {Column::kRateIn, "Rate in", 9, 9, 9, 5, 0, true, v1::SORT_FIELD_RATE_IN},
      {Column::kRateOut, "Rate out", 9, 9, 9, 6, 0, true, v1::SORT_FIELD_RATE_OUT},
      {Column::kProcess, "Process", 16, 20, 30, 9, 4, false, v1::SORT_FIELD_PROCESS},
      // Last: table rows keep their shape (scripts and tests read them).
      {Column::kLocation, "Location", 14, 24, 36, 10, 6, false, v1::SORT_FIELD_LOCATION},
      // The handshake RTT ("12.3 ms"); after Location so rows keep their shape.
      {Column::kRtt, "RTT", 8, 8, 8, 11, 0, true, v1::SORT_FIELD_RTT},
  };
  return kColumns;
}

const ColumnSpec& SpecOf(Column column) {
  for (const ColumnSpec& spec : AllColumns()) {
    if (spec.column == column) return spec;
  }
  return AllColumns().front();  // Unreachable: every Column has a spec.
}

std::vector<PlacedColumn> LayoutColumns(size_t width, const std::vector<Column>& only) {
  const std::vector<ColumnSpec>& all = AllColumns();
  std::vector<const ColumnSpec*> by_priority;
  for (const ColumnSpec& spec : all) {
    if (only.empty() || std::find(only.begin(), only.end(), spec.column) != only.end()) {
      by_priority.push_back(&spec);
    }
  }
  std::sort(by_priority.begin(), by_priority.end(),
            [](const ColumnSpec* a, const ColumnSpec* b) { return a->priority < b->priority; });

  // Which columns: by priority while their minimum widths fit.
  std::vector<bool> shown(all.size(), false);
  std::vector<size_t> widths(all.size(), 0);
  size_t used = 0;
  for (const ColumnSpec* spec : by_priority) {
    const size_t need = spec->min_width + (used == 0 ? 0 : 1);
    if (used + need > width) break;
    used += need;
    const auto index = static_cast<size_t>(spec - all.data());
    shown[index] = true;
    widths[index] = spec->min_width;
  }

  // Grow: first every growing column to its preferred width, then to its
  // maximum, in grow order.
  std::vector<size_t> growers;
  for (size_t i = 0; i < all.size(); ++i) {
    if (shown[i] && all[i].grow_order > 0) growers.push_back(i);
  }
  std::sort(growers.begin(), growers.end(),
            [&all](size_t a, size_t b) { return all[a].grow_order < all[b].grow_order; });
  size_t spare = width - used;
  for (int pass = 0; pass < 2 && spare > 0; ++pass) {
    for (size_t i : growers) {
      const size_t target = pass == 0 ? all[i].preferred_width : all[i].max_width;
      const size_t add = std::min(spare, target > widths[i] ? target - widths[i] : 0);
      widths[i] += add;
      spare -= add;
    }
  }

  std::vector<PlacedColumn> placed;
  size_t x = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!shown[i]) continue;
    if (!placed.empty()) ++x;
    placed.push_back({all[i].column, x, widths[i]});
    x += widths[i];
  }
  return placed;
}

}  // namespace rustnet::client
