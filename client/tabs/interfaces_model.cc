#include "client/tabs/interfaces_model.h"

#include <algorithm>

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

// A counter's rate; 0 when it went backwards (the interface was re-created).
double Rate(uint64_t now, uint64_t before, double seconds) {
  return now >= before ? static_cast<double>(now - before) / seconds : 0;
}

}  // namespace

void InterfacesModel::OnInterfaces(const v1::ListInterfacesResponse& reply, absl::Time at) {
  have_data_ = true;
  rows_.clear();
  absl::flat_hash_map<std::string, Previous> next;
  for (const v1::Interface& i : reply.interfaces()) {
    InterfaceRow row;
    row.iface = i;
    if (i.has_counters()) {
      auto it = previous_.find(i.name());
      if (it != previous_.end()) {
        const double s = absl::ToDoubleSeconds(at - it->second.at);
        if (s > 0) {
          const v1::InterfaceCounters& a = it->second.counters;
          const v1::InterfaceCounters& b = i.counters();
          row.have_rates = true;
          row.rx_bytes_rate = Rate(b.rx_bytes(), a.rx_bytes(), s);
          row.tx_bytes_rate = Rate(b.tx_bytes(), a.tx_bytes(), s);
          row.rx_packet_rate = Rate(b.rx_packets(), a.rx_packets(), s);
          row.tx_packet_rate = Rate(b.tx_packets(), a.tx_packets(), s);
        } else {
          // Same instant: keep the old sample so the next reply has a span.
          next[i.name()] = it->second;
          rows_.push_back(std::move(row));
          continue;
        }
      }
      next[i.name()] = {i.counters(), at};
    }
    rows_.push_back(std::move(row));
  }
  previous_ = std::move(next);
  Select(selected_);
}

void InterfacesModel::Move(int64_t delta) {
  if (rows_.empty()) return;
  const auto n = static_cast<int64_t>(rows_.size());
  Select(static_cast<size_t>(std::clamp<int64_t>(static_cast<int64_t>(selected_) + delta, 0, n - 1)));
}

void InterfacesModel::Select(size_t index) {
  selected_ = rows_.empty() ? 0 : std::min(index, rows_.size() - 1);
}

}  // namespace rustnet::client
