// The Overview's rendering: the table's header, a connection's row (its
// cells, their colours: state, rates, host names, closed rows dimmed, rows
// near their idle timeout yellow and red) and a process line of the grouped
// view. The Overview's state (the window of rows, the selection, the tree)
// is the view model's; this turns it into lines.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_OVERVIEW_VIEW_H_
#define RUSTNET_CLIENT_TABS_OVERVIEW_VIEW_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/columns.h"
#include "client/format.h"
#include "client/tabs/overview_model.h"
#include "client/ui_types.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

class OverviewView {
 public:
  OverviewView(Glyphs glyphs, bool show_names, rustnet::v1::SortField sort_field,
               rustnet::v1::SortOrder sort_order, int64_t snapshot_us)
      : glyphs_(glyphs),
        show_names_(show_names),
        sort_field_(sort_field),
        sort_order_(sort_order),
        snapshot_us_(snapshot_us) {}

  // The column titles, the sorted one with its arrow.
  Line Header(const std::vector<PlacedColumn>& layout) const;
  // One connection (null: not fetched yet, an ellipsis); `indent` goes
  // before the first cell (the grouped view's).
  Line Row(const std::vector<PlacedColumn>& layout, const rustnet::v1::Connection* c,
           bool selected, std::string_view indent) const;
  // A process of the grouped view with its totals.
  Line GroupLine(const GroupTree::Group& group, bool open, bool selected) const;
  std::string CellText(const rustnet::v1::Connection& c, Column column) const;

 private:
  std::string Clean(std::string_view text) const { return SanitizeText(text, glyphs_.unicode); }

  Glyphs glyphs_;
  bool show_names_;
  rustnet::v1::SortField sort_field_;
  rustnet::v1::SortOrder sort_order_;
  int64_t snapshot_us_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_OVERVIEW_VIEW_H_
