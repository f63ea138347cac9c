// The Help tab: keys by section (the view model puts the current tab's
// first), then the filter language and what the Process column's forms mean.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_HELP_VIEW_H_
#define RUSTNET_CLIENT_TABS_HELP_VIEW_H_

#include <string>
#include <vector>

#include "client/format.h"
#include "client/tabs/tab_view.h"
#include "client/ui_types.h"

namespace rustnet::client {

struct HelpSection {
  std::string title;
  std::vector<KeyHelpItem> keys;
};

class HelpView {
 public:
  explicit HelpView(Glyphs glyphs) : glyphs_(glyphs) {}
  // Every line of Help, unscrolled.
  std::vector<Line> Lines(const std::vector<HelpSection>& sections) const;

 private:
  Glyphs glyphs_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_HELP_VIEW_H_
