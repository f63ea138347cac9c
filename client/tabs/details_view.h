// The Details tab: every field of one connection, section by section,
// flowed into as many columns as the terminal holds (long values wrap), and
// scrolled when they do not fit. The connection is the Overview's selected
// one (or a History row): the view model owns that choice; this file pair
// turns a Connection into lines.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_DETAILS_VIEW_H_
#define RUSTNET_CLIENT_TABS_DETAILS_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client/format.h"
#include "client/ui_types.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

// One "label  value" row of the Details tab, or a section title.
struct DetailItem {
  std::string label;  // Empty label with heading set: a section title.
  std::string value;
  bool heading = false;
  Style style = Style::kNormal;
  // Long values (command lines, paths) wrap onto up to this many rows; the
  // rows after the first have an empty label.
  size_t max_rows = 1;
};

// How a connection's state is coloured (Overview and Details).
Style StateStyle(rustnet::v1::ConnectionState s);

class DetailsView {
 public:
  explicit DetailsView(Glyphs glyphs) : glyphs_(glyphs) {}

  // Every item of `c`; `snapshot_us` (0: none) dates its age and idle time.
  std::vector<DetailItem> Items(const rustnet::v1::Connection& c, int64_t snapshot_us) const;
  // The items one per screen row: wrapping values split at `value_width`.
  std::vector<DetailItem> Rows(const rustnet::v1::Connection& c, int64_t snapshot_us,
                               size_t value_width) const;

  // How the details flow into columns in `width` x `rows` (the title line
  // included).
  struct Geometry {
    size_t columns;
    size_t column_width;
    size_t value_width;  // Columns for a value, right of its label.
    size_t rows;         // Screen rows for the items (below the title line).
    size_t total_rows;   // Rows the items need per column.
  };
  Geometry Layout(const rustnet::v1::Connection* c, int64_t snapshot_us, size_t width,
                  size_t rows) const;
  size_t MaxScroll(const rustnet::v1::Connection* c, int64_t snapshot_us, size_t width,
                   size_t rows) const;

  // Appends exactly `rows` lines: the title (and "gone" when the connection
  // left the view), then the items from `scroll`. Null `c`: a hint.
  void Render(const rustnet::v1::Connection* c, bool gone, int64_t snapshot_us, size_t width,
              size_t rows, size_t scroll, std::vector<Line>* out) const;

 private:
  std::string Clean(std::string_view text) const { return SanitizeText(text, glyphs_.unicode); }
  Glyphs glyphs_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_DETAILS_VIEW_H_
