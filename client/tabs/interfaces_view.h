// The Interfaces tab: every interface of the daemon's host with the
// kernel's rates and counters, which one is captured, and the capture's
// drops.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_INTERFACES_VIEW_H_
#define RUSTNET_CLIENT_TABS_INTERFACES_VIEW_H_

#include "client/tabs/interfaces_model.h"
#include "client/tabs/tab_view.h"

namespace rustnet::client {

class InterfacesView : public TabView {
 public:
  Tab id() const override { return Tab::kInterfaces; }
  ApiRequest Request(const TabContext& context) const override;
  void OnReply(const ApiReply& reply) override;
  bool OnKey(const Key& key, const TabContext& context, TabAction* action) override;
  bool OnClick(size_t row, size_t x, bool double_click, const TabContext& context,
               TabAction* action) override;
  void Render(const TabContext& context, size_t width, size_t rows,
              std::vector<Line>* out) const override;
  std::vector<KeyHelpItem> Keys(const Glyphs& glyphs) const override;

  const InterfacesModel& model() const { return model_; }

 private:
  InterfacesModel model_;
  std::string error_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_INTERFACES_VIEW_H_
