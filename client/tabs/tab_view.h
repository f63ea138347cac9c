// The tabs of rustnet-tui and the small interface each data tab implements.
//
// The view model (client/view_model.h) owns what every tab shares: the
// title bar, the filter, the status line, the connection list with its
// selection (Overview and Details), and the key handling common to all
// tabs. A tab that shows other data (Activity, Graph, Interfaces, History)
// is a TabView: it says which API call it needs (Request), takes the reply
// (OnReply), handles the keys and clicks the common handler leaves to it,
// renders its body, and lists its keys for Help. Adding a tab touches this
// folder and one line of the view model's tab table.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_TAB_VIEW_H_
#define RUSTNET_CLIENT_TABS_TAB_VIEW_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/format.h"
#include "client/ui_types.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

// In the order of the title bar; `1`..`7` jump to them.
enum class Tab { kOverview, kDetails, kActivity, kGraph, kInterfaces, kHistory, kHelp };
inline constexpr int kTabCount = 7;
std::string_view TabName(Tab tab);
Tab TabAt(int index);  // 0-based, wraps.
int TabIndex(Tab tab);

struct KeyHelpItem {
  std::string keys;
  std::string what;
};

// An API call a tab needs answered each refresh, besides ListConnections.
struct ApiRequest {
  enum class Kind { kNone, kGroups, kTimeline, kInterfaces, kHistory };
  Kind kind = Kind::kNone;
  rustnet::v1::GroupConnectionsRequest groups;
  rustnet::v1::GetTimelineRequest timeline;
  rustnet::v1::QueryHistoryRequest history;
  // What makes two requests the same question: when it changes, the fetcher
  // asks at once instead of at the next refresh. Leaves out parts that move
  // every refresh (a `since` that follows the clock).
  std::string identity;
  bool operator==(const ApiRequest& other) const {
    return kind == other.kind && identity == other.identity;
  }
};

struct ApiReply {
  ApiRequest::Kind kind = ApiRequest::Kind::kNone;
  std::string identity;  // The request's.
  absl::Status status;
  rustnet::v1::GroupConnectionsResponse groups;
  rustnet::v1::GetTimelineResponse timeline;
  rustnet::v1::ListInterfacesResponse interfaces;
  rustnet::v1::QueryHistoryResponse history;
  // The daemon's statistics of the same refresh, if they came (Interfaces
  // shows the capture's drops).
  std::optional<rustnet::v1::Stats> stats;
  absl::Time received;  // When the reply came (the client's clock).
};

// What a tab reads of the shared state.
struct TabContext {
  const Glyphs& glyphs;
  const std::string& filter;  // The applied filter (Overview's).
  bool hide_loopback = false;
  absl::Time now;
};

// What a tab asks of the view model after a key or a click.
struct TabAction {
  std::optional<std::string> apply_filter;  // Set this filter and show Overview.
  std::string message;                      // For the status line.
  Style message_style = Style::kNormal;
  bool open_details = false;  // History: show `details` in Details.
  std::optional<rustnet::v1::Connection> details;
  bool prompt = false;  // Open the line editor with `prompt_label` and `prompt_text`.
  std::string prompt_label;
  std::string prompt_text;
};

class TabView {
 public:
  virtual ~TabView() = default;
  virtual Tab id() const = 0;

  virtual ApiRequest Request(const TabContext& /*context*/) const { return {}; }
  virtual void OnReply(const ApiReply& /*reply*/) {}

  // Keys the common handler left (after q, Tab, digits, /, h, ...); true
  // when the key was used.
  virtual bool OnKey(const Key& key, const TabContext& context, TabAction* action) = 0;
  // A click on body row `row` (0: the first row under the title bar, the
  // stats and query lines), column `x`.
  virtual bool OnClick(size_t /*row*/, size_t /*x*/, bool /*double_click*/,
                       const TabContext& /*context*/, TabAction* /*action*/) {
    return false;
  }
  // The prompt this tab opened was submitted: nullopt to accept it, or why
  // not (the editor stays open with the message).
  virtual std::optional<std::string> OnPrompt(const std::string& /*text*/,
                                              const TabContext& /*context*/) {
    return std::nullopt;
  }

  // Exactly `rows` lines (fewer are padded), none wider than `width`.
  virtual void Render(const TabContext& context, size_t width, size_t rows,
                      std::vector<Line>* out) const = 0;
  // Its own keys, for Help.
  virtual std::vector<KeyHelpItem> Keys(const Glyphs& glyphs) const = 0;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_TAB_VIEW_H_
