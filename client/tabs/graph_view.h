// The Graph tab: GraphModel's series as block charts with a unit axis,
// sparklines and the protocol mixes.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_GRAPH_VIEW_H_
#define RUSTNET_CLIENT_TABS_GRAPH_VIEW_H_

#include "client/tabs/graph_model.h"
#include "client/tabs/tab_view.h"

namespace rustnet::client {

class GraphView : public TabView {
 public:
  Tab id() const override { return Tab::kGraph; }
  ApiRequest Request(const TabContext& context) const override;
  void OnReply(const ApiReply& reply) override;
  bool OnKey(const Key& key, const TabContext& context, TabAction* action) override;
  void Render(const TabContext& context, size_t width, size_t rows,
              std::vector<Line>* out) const override;
  std::vector<KeyHelpItem> Keys(const Glyphs& glyphs) const override;

  const GraphModel& model() const { return model_; }

 private:
  GraphModel model_;
  std::string error_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_GRAPH_VIEW_H_
