// The Overview table's columns and how they share the terminal's width.
//
// Columns are shown in a fixed order; when the terminal is too narrow for
// all of them at their minimum widths, the ones with the lowest priority are
// dropped first (a strict cut: nothing of lower priority is shown once one
// column did not fit). Leftover width then grows the columns whose content
// benefits (addresses and host names first) up to a preferred and then a
// maximum width; what remains is blank at the right.
//
// At 80 columns: protocol, local, remote, state, rate in, rate out.
// At 120: all but process and location. From 123: all but location; from
// 138 all but RTT (location is dropped before the others: it needs GeoIP
// databases); from 147 all eleven.
#ifndef RUSTNET_CLIENT_COLUMNS_H_
#define RUSTNET_CLIENT_COLUMNS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

enum class Column : uint8_t {
  kProtocol,
  kLocal,
  kRemote,
  kState,
  kService,
  kApplication,
  kRateIn,
  kRateOut,
  kProcess,
  kLocation,  // The remote end's country and network (GeoIP, from the daemon).
  kRtt,       // TCP: the smoothed round-trip time, else the handshake's.
};

struct ColumnSpec {
  Column column;
  std::string_view title;
  size_t min_width;
  size_t preferred_width;
  size_t max_width;
  int priority;                 // 1 is kept longest.
  int grow_order;               // Who gets leftover width first (lower first); 0: fixed.
  bool right_align;             // Numbers.
  rustnet::v1::SortField sort;  // The sort field this column shows.
};

// Every column, in display order.
const std::vector<ColumnSpec>& AllColumns();
const ColumnSpec& SpecOf(Column column);

struct PlacedColumn {
  Column column;
  size_t x;      // First terminal column.
  size_t width;  // Cells; one blank separates neighbours.
};

// The columns to show in `width` terminal columns, in display order; with
// `only` non-empty, only those (tui.conf's `columns`), still in display order.
std::vector<PlacedColumn> LayoutColumns(size_t width, const std::vector<Column>& only = {});

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_COLUMNS_H_
