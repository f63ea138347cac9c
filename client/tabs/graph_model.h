// The Graph tab's state: GetTimeline's points for the chosen window (1 min,
// 10 min, 1 h from per-second points; 24 h from per-minute points) turned
// into series: traffic in / out (bytes per second), connections opened and
// closed, TCP retransmissions, bytes per application protocol, and the
// connections in the table by protocol at the newest point.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_GRAPH_MODEL_H_
#define RUSTNET_CLIENT_TABS_GRAPH_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

enum class GraphWindow { kMinute, kTenMinutes, kHour, kDay };
std::string_view WindowName(GraphWindow w);  // "1m", "10m", "1h", "24h"
int64_t WindowSeconds(GraphWindow w);

class GraphModel {
 public:
  GraphWindow window() const { return window_; }
  void NextWindow();
  void SetWindow(GraphWindow w);
  rustnet::v1::TimelineResolution resolution() const;
  // Seconds per point of the current resolution.
  int64_t step_seconds() const;

  void OnTimeline(const rustnet::v1::GetTimelineResponse& reply);
  bool have_data() const { return have_data_; }
  // The daemon's clock at the last reply (0 before one).
  int64_t now_us() const { return now_us_; }

  // One value per point of the window, oldest first (bytes per second for
  // the traffic series, counts per point for the others).
  const std::vector<double>& rate_in() const { return rate_in_; }
  const std::vector<double>& rate_out() const { return rate_out_; }
  const std::vector<double>& opened() const { return opened_; }
  const std::vector<double>& closed() const { return closed_; }
  const std::vector<double>& retransmissions() const { return retransmissions_; }
  uint64_t total_opened() const { return total_opened_; }
  uint64_t total_closed() const { return total_closed_; }
  uint64_t total_retransmissions() const { return total_retransmissions_; }
  uint64_t total_bytes_in() const { return total_in_; }
  uint64_t total_bytes_out() const { return total_out_; }
  // Bytes per application protocol over the window, largest first.
  const std::vector<std::pair<std::string, uint64_t>>& app_mix() const { return app_mix_; }
  // Connections in the table by protocol at the newest point, largest first.
  const std::vector<std::pair<std::string, uint64_t>>& active() const { return active_; }

 private:
  void Rebuild();

  GraphWindow window_ = GraphWindow::kMinute;
  bool have_data_ = false;
  int64_t now_us_ = 0;
  rustnet::v1::GetTimelineResponse last_;
  std::vector<double> rate_in_, rate_out_, opened_, closed_, retransmissions_;
  uint64_t total_opened_ = 0, total_closed_ = 0, total_retransmissions_ = 0;
  uint64_t total_in_ = 0, total_out_ = 0;
  std::vector<std::pair<std::string, uint64_t>> app_mix_;
  std::vector<std::pair<std::string, uint64_t>> active_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_GRAPH_MODEL_H_
