// The Activity tab: ActivityModel's rows as a table (name, connections
// open/total, bytes in/out, rates, a 60-second sparkline, top peer).
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_ACTIVITY_VIEW_H_
#define RUSTNET_CLIENT_TABS_ACTIVITY_VIEW_H_

#include "client/tabs/activity_model.h"
#include "client/tabs/tab_view.h"

namespace rustnet::client {

class ActivityView : public TabView {
 public:
  Tab id() const override { return Tab::kActivity; }
  ApiRequest Request(const TabContext& context) const override;
  void OnReply(const ApiReply& reply) override;
  bool OnKey(const Key& key, const TabContext& context, TabAction* action) override;
  bool OnClick(size_t row, size_t x, bool double_click, const TabContext& context,
               TabAction* action) override;
  void Render(const TabContext& context, size_t width, size_t rows,
              std::vector<Line>* out) const override;
  std::vector<KeyHelpItem> Keys(const Glyphs& glyphs) const override;

  const ActivityModel& model() const { return model_; }
  ActivityModel& model() { return model_; }

 private:
  void Enter(TabAction* action) const;
  void EnsureVisible(size_t rows) const;

  ActivityModel model_;
  std::string error_;
  mutable size_t top_ = 0;        // First row shown (follows the selection).
  mutable size_t page_rows_ = 10; // Rows on screen at the last render.
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_ACTIVITY_VIEW_H_
