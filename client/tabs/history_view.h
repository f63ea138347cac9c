// The History tab: closed connections from rustnetd's history store
// (QueryHistory, --history-db), newest first, for a time range typed at a
// prompt (`e`; see time_range.h) and the Overview's filter.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_HISTORY_VIEW_H_
#define RUSTNET_CLIENT_TABS_HISTORY_VIEW_H_

#include <string>
#include <vector>

#include "client/tabs/tab_view.h"
#include "client/tabs/time_range.h"

namespace rustnet::client {

class HistoryView : public TabView {
 public:
  static constexpr uint32_t kPageLimit = 1000;

  explicit HistoryView(absl::TimeZone tz = absl::LocalTimeZone()) : tz_(tz) {}

  Tab id() const override { return Tab::kHistory; }
  ApiRequest Request(const TabContext& context) const override;
  void OnReply(const ApiReply& reply) override;
  bool OnKey(const Key& key, const TabContext& context, TabAction* action) override;
  bool OnClick(size_t row, size_t x, bool double_click, const TabContext& context,
               TabAction* action) override;
  std::optional<std::string> OnPrompt(const std::string& text, const TabContext& context) override;
  void Render(const TabContext& context, size_t width, size_t rows,
              std::vector<Line>* out) const override;
  std::vector<KeyHelpItem> Keys(const Glyphs& glyphs) const override;

  const TimeRange& range() const { return range_; }
  const std::vector<rustnet::v1::Connection>& rows() const { return rows_; }
  size_t selected() const { return selected_; }

 private:
  void Open(TabAction* action) const;
  void Select(size_t index);

  absl::TimeZone tz_;
  std::string range_text_;
  TimeRange range_;
  bool have_data_ = false;
  std::string error_;
  std::vector<rustnet::v1::Connection> rows_;
  uint64_t total_ = 0;
  size_t selected_ = 0;
  mutable size_t top_ = 0;
  mutable size_t page_rows_ = 10;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_HISTORY_VIEW_H_
