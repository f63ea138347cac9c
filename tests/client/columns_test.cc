// The Overview table's columns drop by priority on narrow terminals.
#include "client/columns.h"

#include <catch2/catch.hpp>
#include <set>

namespace rustnet::client {
namespace {

std::set<Column> Shown(const std::vector<PlacedColumn>& layout) {
  std::set<Column> out;
  for (const PlacedColumn& p : layout) out.insert(p.column);
  return out;
}

// Columns do not overlap, keep display order, stay inside the width and are
// at least as wide as their minimum.
void CheckGeometry(const std::vector<PlacedColumn>& layout, size_t width) {
  size_t next_x = 0;
  int last_order = -1;
  for (const PlacedColumn& p : layout) {
    const ColumnSpec& spec = SpecOf(p.column);
    CHECK(p.x >= next_x);
    CHECK(p.width >= spec.min_width);
    CHECK(p.width <= spec.max_width);
    CHECK(p.x + p.width <= width);
    const int order = static_cast<int>(p.column);
    CHECK(order > last_order);
    last_order = order;
    next_x = p.x + p.width + 1;
  }
}

TEST_CASE("columns: 80 keeps protocol, addresses, state and rates", "[client][columns]") {
  const auto layout = LayoutColumns(80);
  CheckGeometry(layout, 80);
  CHECK(Shown(layout) == std::set<Column>{Column::kProtocol, Column::kLocal, Column::kRemote,
                                          Column::kState, Column::kRateIn, Column::kRateOut});
}

TEST_CASE("columns: 120 adds service and application", "[client][columns]") {
  const auto layout = LayoutColumns(120);
  CheckGeometry(layout, 120);
  const auto shown = Shown(layout);
  CHECK(shown.size() == 8);
  CHECK(shown.count(Column::kService) == 1);
  CHECK(shown.count(Column::kApplication) == 1);
  CHECK(shown.count(Column::kProcess) == 0);  // Lowest priority.
  // Leftover width went to the remote address first.
  for (const PlacedColumn& p : layout) {
    if (p.column == Column::kRemote) CHECK(p.width > SpecOf(Column::kRemote).min_width);
  }
}

TEST_CASE("columns: 250 shows all ten, grown", "[client][columns]") {
  const auto layout = LayoutColumns(250);
  CheckGeometry(layout, 250);
  CHECK(layout.size() == AllColumns().size());
  for (const PlacedColumn& p : layout) {
    CHECK(p.width >= SpecOf(p.column).preferred_width);
  }
}

TEST_CASE("columns: every width from 0 to 300 is consistent", "[client][columns]") {
  size_t previous = 0;
  for (size_t w = 0; w <= 300; ++w) {
    const auto layout = LayoutColumns(w);
    CheckGeometry(layout, w);
    // Widening never hides a column.
    CHECK(layout.size() >= previous);
    previous = layout.size();
    // The drop is strict by priority: whatever is shown has higher priority
    // than whatever is not.
    int worst_shown = 0;
    for (const PlacedColumn& p : layout)
      worst_shown = std::max(worst_shown, SpecOf(p.column).priority);
    for (const ColumnSpec& spec : AllColumns()) {
      if (Shown(layout).count(spec.column) == 0) CHECK(spec.priority > worst_shown);
    }
  }
  CHECK(LayoutColumns(4).empty());
  CHECK(LayoutColumns(40).size() >= 2);
}

}  // namespace
}  // namespace rustnet::client
