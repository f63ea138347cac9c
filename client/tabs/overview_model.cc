#include "client/tabs/overview_model.h"

#include "absl/container/flat_hash_map.h"
#include "client/format.h"

namespace rustnet::client {
namespace {
namespace v1 = rustnet::v1;
}  // namespace

Expiry ExpiryOf(const v1::Connection& c, int64_t snapshot_us) {
  if (c.closed() || !c.has_idle_timeout() || !c.has_last_seen() || snapshot_us <= 0) {
    return Expiry::kNone;
  }
  const int64_t timeout = ToMicros(c.idle_timeout());
  if (timeout <= 0) return Expiry::kNone;
  const int64_t idle = snapshot_us - ToMicros(c.last_seen());
  // idle / timeout > 0.9 and > 0.75, in integers.
  if (idle * 10 > timeout * 9) return Expiry::kCritical;
  if (idle * 4 > timeout * 3) return Expiry::kWarn;
  return Expiry::kNone;
}

std::string_view CloseReasonName(v1::CloseReason r) {
  switch (r) {
    case v1::CLOSE_REASON_FIN: return "fin";
    case v1::CLOSE_REASON_RESET: return "reset";
    case v1::CLOSE_REASON_TIMEOUT: return "timeout";
    case v1::CLOSE_REASON_EVICTED: return "evicted";
    case v1::CLOSE_REASON_REPLACED: return "replaced";
    case v1::CLOSE_REASON_SHUTDOWN: return "shutdown";
    default: return "closed";
  }
}

std::string ProcessGroupKey(const v1::Connection& c) {
  const v1::ProcessInfo* p = c.has_process()          ? &c.process()
                             : c.has_remote_process() ? &c.remote_process()
                                                      : nullptr;
  if (p == nullptr) return {};
  if (!p->name().empty()) return p->name();
  if (!p->user().empty()) return Cat("user ", p->user());
  return {};
}

void GroupTree::Build(const std::vector<v1::Connection>& rows) {
  groups_.clear();
  absl::flat_hash_map<std::string, size_t> index;
  Group none;  // Connections without a process: last.
  for (size_t i = 0; i < rows.size(); ++i) {
    const v1::Connection& c = rows[i];
    std::string key = ProcessGroupKey(c);
    Group* group = &none;
    if (!key.empty()) {
      auto [it, inserted] = index.try_emplace(key, groups_.size());
      if (inserted) {
        groups_.emplace_back();
        groups_.back().key = std::move(key);
      }
      group = &groups_[it->second];
    }
    ++group->connections;
    if (!c.closed()) ++group->open;
    group->rate_in += c.rate_in();
    group->rate_out += c.rate_out();
    group->bytes_in += c.received().bytes();
    group->bytes_out += c.sent().bytes();
    group->rows.push_back(i);
  }
  if (none.connections > 0) groups_.push_back(std::move(none));
  Flatten();
}

void GroupTree::SetExpanded(const std::string& key, bool expanded) {
  if (expanded) {
    expanded_.insert(key);
  } else {
    expanded_.erase(key);
  }
  Flatten();
}

void GroupTree::Flatten() {
  entries_.clear();
  for (size_t g = 0; g < groups_.size(); ++g) {
    entries_.push_back({g, true, 0});
    if (!expanded(groups_[g].key)) continue;
    for (size_t row : groups_[g].rows) entries_.push_back({g, false, row});
  }
}

}  // namespace rustnet::client
