#include "client/fetcher.h"

#include <utility>

#include "spdlog/spdlog.h"

namespace rustnet::client {

Fetcher::Fetcher(RpcClient* rpc, absl::Duration interval, absl::Duration timeout)
    : rpc_(rpc), interval_(interval), timeout_(timeout) {}

Fetcher::~Fetcher() { Stop(); }

void Fetcher::Start(const Query& query) {
  {
    absl::MutexLock lock(&mu_);
    query_ = query;
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void Fetcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  rpc_->Shutdown();  // The call in flight ends now, not at its deadline.
  if (thread_.joinable()) thread_.join();
}

void Fetcher::SetQuery(const Query& query) {
  absl::MutexLock lock(&mu_);
  if (query == query_) return;
  query_ = query;
  query_changed_ = true;
}

void Fetcher::SetApiRequest(const ApiRequest& request) {
  absl::MutexLock lock(&mu_);
  if (request == api_) {
    api_ = request;  // The same question; parts that follow the clock may differ.
    return;
  }
  api_ = request;
  query_changed_ = true;
}

std::optional<FetchResult> Fetcher::Take() {
  absl::MutexLock lock(&mu_);
  std::optional<FetchResult> out = std::move(result_);
  result_.reset();
  return out;
}

ApiReply Fetcher::Call(const ApiRequest& api, const std::optional<rustnet::v1::Stats>& stats) {
  ApiReply reply;
  reply.kind = api.kind;
  reply.identity = api.identity;
  reply.stats = stats;
  switch (api.kind) {
    case ApiRequest::Kind::kGroups: {
      auto r = rpc_->GroupConnections(api.groups, timeout_);
      reply.status = r.status();
      if (r.ok()) reply.groups = *std::move(r);
      break;
    }
    case ApiRequest::Kind::kTimeline: {
      auto r = rpc_->GetTimeline(api.timeline, timeout_);
      reply.status = r.status();
      if (r.ok()) reply.timeline = *std::move(r);
      break;
    }
    case ApiRequest::Kind::kInterfaces: {
      auto r = rpc_->ListInterfaces(rustnet::v1::ListInterfacesRequest(), timeout_);
      reply.status = r.status();
      if (r.ok()) reply.interfaces = *std::move(r);
      break;
    }
    case ApiRequest::Kind::kHistory: {
      auto r = rpc_->QueryHistory(api.history, timeout_);
      reply.status = r.status();
      if (r.ok()) reply.history = *std::move(r);
      break;
    }
    case ApiRequest::Kind::kNone: break;
  }
  if (!reply.status.ok()) {
    spdlog::debug("tab call failed: {}", std::string(reply.status.message()));
  }
  reply.received = absl::Now();
  return reply;
}

void Fetcher::Run() {
  absl::Time next_stats = absl::InfinitePast();
  bool was_up = false;
  bool first = true;
  for (;;) {
    Query query;
    ApiRequest api;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      query = query_;
      api = api_;
      query_changed_ = false;
    }

    FetchResult result;
    result.query = query;
    auto page = rpc_->ListConnections(query.ToRequest(), timeout_);
    bool up = false;
    if (page.ok()) {
      up = true;
      result.page = *std::move(page);
      const absl::Time now = absl::Now();
      if (now >= next_stats) {
        auto stats = rpc_->GetStats(timeout_);
        if (stats.ok()) {
          result.stats = *std::move(stats);
          next_stats = now + interval_;
        } else {
          spdlog::debug("GetStats failed: {}", std::string(stats.status().message()));
        }
      }
      if (api.kind != ApiRequest::Kind::kNone) result.api = Call(api, result.stats);
    } else {
      result.status = page.status();
      if (RpcClient::IsLinkFailure(result.status)) {
        result.problem = rpc_->DescribeFailure(result.status);
        next_stats = absl::InfinitePast();  // Fetch them as soon as it is back.
        rpc_->ResetChannel();               // The next try connects afresh, without backoff.
      } else {
        up = true;  // It answered, but refused this query.
        spdlog::warn("rustnetd refused the query (filter \"{}\"): {}", query.filter,
                     std::string(result.status.message()));
      }
    }
    if (up != was_up || first) {
      if (up) {
        spdlog::info("connected to rustnetd at {}", rpc_->target().Description());
      } else {
        spdlog::warn("cannot reach rustnetd at {}: {}", rpc_->target().Description(),
                     result.status.ToString());
      }
      was_up = up;
      first = false;
    }

    absl::MutexLock lock(&mu_);
    if (result_ && result_->stats && !result.stats) result.stats = std::move(result_->stats);
    result_ = std::move(result);
    mu_.AwaitWithTimeout(absl::Condition(this, &Fetcher::Woken), up ? interval_ : retry_interval());
  }
}

}  // namespace rustnet::client
