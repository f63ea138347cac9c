// The Interfaces tab's state: ListInterfaces' interfaces with the kernel's
// counters, and rates from the difference between two replies (the
// client's clock: the counters are live even when rustnetd replays a file).
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_INTERFACES_MODEL_H_
#define RUSTNET_CLIENT_TABS_INTERFACES_MODEL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

struct InterfaceRow {
  rustnet::v1::Interface iface;
  bool have_rates = false;  // Needs two replies with counters.
  double rx_bytes_rate = 0;
  double tx_bytes_rate = 0;
  double rx_packet_rate = 0;
  double tx_packet_rate = 0;
};

class InterfacesModel {
 public:
  void OnInterfaces(const rustnet::v1::ListInterfacesResponse& reply, absl::Time at);
  void OnStats(const rustnet::v1::Stats& stats) { stats_ = stats; }
  bool have_data() const { return have_data_; }
  const std::vector<InterfaceRow>& rows() const { return rows_; }
  const std::optional<rustnet::v1::Stats>& stats() const { return stats_; }

  size_t selected() const { return selected_; }
  void Move(int64_t delta);
  void Select(size_t index);

 private:
  struct Previous {
    rustnet::v1::InterfaceCounters counters;
    absl::Time at;
  };
  bool have_data_ = false;
  std::vector<InterfaceRow> rows_;
  absl::flat_hash_map<std::string, Previous> previous_;
  std::optional<rustnet::v1::Stats> stats_;
  size_t selected_ = 0;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_INTERFACES_MODEL_H_
