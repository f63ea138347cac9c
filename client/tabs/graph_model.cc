#include "client/tabs/graph_model.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "client/format.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

std::vector<std::pair<std::string, uint64_t>> Largest(
    const absl::flat_hash_map<std::string, uint64_t>& m) {
  std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return v;
}

}  // namespace

std::string_view WindowName(GraphWindow w) {
  switch (w) {
    case GraphWindow::kMinute: return "1m";
    case GraphWindow::kTenMinutes: return "10m";
    case GraphWindow::kHour: return "1h";
    case GraphWindow::kDay: return "24h";
  }
  return "?";
}

int64_t WindowSeconds(GraphWindow w) {
  switch (w) {
    case GraphWindow::kMinute: return 60;
    case GraphWindow::kTenMinutes: return 600;
    case GraphWindow::kHour: return 3600;
    case GraphWindow::kDay: return 86400;
  }
  return 60;
}

void GraphModel::NextWindow() {
  SetWindow(static_cast<GraphWindow>((static_cast<int>(window_) + 1) % 4));
}

void GraphModel::SetWindow(GraphWindow w) {
  if (w == window_) return;
  const bool same_resolution = (w == GraphWindow::kDay) == (window_ == GraphWindow::kDay);
  window_ = w;
  if (!same_resolution) {
    have_data_ = false;
    last_.Clear();
  }
  Rebuild();
}

v1::TimelineResolution GraphModel::resolution() const {
  return window_ == GraphWindow::kDay ? v1::TIMELINE_RESOLUTION_MINUTE
                                      : v1::TIMELINE_RESOLUTION_SECOND;
}

int64_t GraphModel::step_seconds() const { return window_ == GraphWindow::kDay ? 60 : 1; }

void GraphModel::OnTimeline(const v1::GetTimelineResponse& reply) {
  const v1::TimelineResolution r = reply.resolution() == v1::TIMELINE_RESOLUTION_UNSPECIFIED
                                       ? v1::TIMELINE_RESOLUTION_SECOND
                                       : reply.resolution();
  if (r != resolution()) return;  // An answer for the other window.
  have_data_ = true;
  last_ = reply;
  now_us_ = reply.has_now() ? ToMicros(reply.now()) : 0;
  Rebuild();
}

void GraphModel::Rebuild() {
  rate_in_.clear();
  rate_out_.clear();
  opened_.clear();
  closed_.clear();
  retransmissions_.clear();
  total_opened_ = total_closed_ = total_retransmissions_ = total_in_ = total_out_ = 0;
  app_mix_.clear();
  active_.clear();
  if (!have_data_) return;
  const int64_t step = step_seconds();
  const auto want = static_cast<size_t>(WindowSeconds(window_) / step);
  const auto& points = last_.points();
  const size_t n = static_cast<size_t>(points.size());
  const size_t first = n > want ? n - want : 0;
  // Pad the front with zeros so the chart's right edge is always "now".
  const size_t pad = want > n - first ? want - (n - first) : 0;
  rate_in_.assign(pad, 0);
  rate_out_.assign(pad, 0);
  opened_.assign(pad, 0);
  closed_.assign(pad, 0);
  retransmissions_.assign(pad, 0);
  absl::flat_hash_map<std::string, uint64_t> apps;
  for (size_t i = first; i < n; ++i) {
    const v1::TimelinePoint& p = points[static_cast<int>(i)];
    rate_in_.push_back(static_cast<double>(p.bytes_in()) / static_cast<double>(step));
    rate_out_.push_back(static_cast<double>(p.bytes_out()) / static_cast<double>(step));
    opened_.push_back(static_cast<double>(p.connections_opened()));
    closed_.push_back(static_cast<double>(p.connections_closed()));
    retransmissions_.push_back(static_cast<double>(p.tcp_retransmissions()));
    total_opened_ += p.connections_opened();
    total_closed_ += p.connections_closed();
    total_retransmissions_ += p.tcp_retransmissions();
    total_in_ += p.bytes_in();
    total_out_ += p.bytes_out();
    for (const auto& [app, bytes] : p.bytes_by_application()) apps[app] += bytes;
  }
  app_mix_ = Largest(apps);
  if (n > 0) {
    absl::flat_hash_map<std::string, uint64_t> active;
    for (const auto& [proto, count] : points[static_cast<int>(n - 1)].active_by_protocol()) {
      active[proto] = count;
    }
    active_ = Largest(active);
  }
}

}  // namespace rustnet::client
