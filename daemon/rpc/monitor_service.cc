#include "daemon/rpc/monitor_service.h"

#include <malloc.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/capture/interfaces.h"
#include "daemon/rpc/group_query.h"
#include "daemon/rpc/query.h"
#include "daemon/snapshot/convert.h"
#include "daemon/snapshot/timeline.h"

namespace rustnet {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  const auto code = s.code() == absl::StatusCode::kInvalidArgument
                        ? grpc::StatusCode::INVALID_ARGUMENT
                        : grpc::StatusCode::INTERNAL;
  return grpc::Status(code, std::string(s.message()));
}

std::string_view LinkTypeName(LinkType t) {
  switch (t) {
    case LinkType::kEthernet: return "ethernet";
    case LinkType::kLinuxSll: return "linux-sll";
    case LinkType::kLinuxSll2: return "linux-sll2";
    case LinkType::kRaw: return "raw";
    case LinkType::kIpv4: return "ipv4";
    case LinkType::kIpv6: return "ipv6";
    case LinkType::kNull: return "null";
    case LinkType::kLoop: return "loop";
  }
  return "unknown";
}

template <typename Request>
absl::StatusOr<ConnectionQuery> QueryFrom(const Request& r, const Enrichment& enrich) {
  auto q = MakeQuery(r.filter(), r.sort(), r.order(), r.offset(), r.limit(), r.hide_loopback(),
                     r.include_closed());
  if (q.ok()) q->enrich = enrich;
  return q;
}

}  // namespace

class MonitorService::StreamSlot {
 public:
  explicit StreamSlot(MonitorService* s) : service_(s) {
    const int now = s->active_streams_.fetch_add(1) + 1;
    ok_ = now <= s->options_.max_streams && !s->shutdown_.HasBeenNotified();
    if (!ok_) s->streams_refused_.fetch_add(1);
  }
  ~StreamSlot() {
    service_->active_streams_.fetch_sub(1);
    service_->ReleaseMemorySoon();
  }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;
  bool ok() const { return ok_; }

 private:
  MonitorService* service_;
  bool ok_ = false;
};

MonitorService::MonitorService(MonitorServiceOptions options, const Pipeline* pipeline,
                               EventHub* events)
    : options_(std::move(options)), pipeline_(pipeline), events_(events) {}

void MonitorService::ReleaseMemorySoon() {
  // Streams build large replies; glibc keeps the freed pages in its arenas.
  // Give them back when a stream ends, at most once a second; a stream that
  // ends sooner after the last trim leaves it pending (TrimIfPending).
  trim_pending_.store(true, std::memory_order_relaxed);
  TrimIfPending();
}

void MonitorService::TrimIfPending() {
  if (!trim_pending_.load(std::memory_order_relaxed)) return;
  const int64_t now = absl::ToUnixMillis(absl::Now());
  int64_t last = last_trim_ms_.load(std::memory_order_relaxed);
  if (now - last < 1000 || !last_trim_ms_.compare_exchange_strong(last, now)) return;
  trim_pending_.store(false, std::memory_order_relaxed);
  malloc_trim(0);
}

void MonitorService::BeginShutdown() {
  if (!shutdown_.HasBeenNotified()) shutdown_.Notify();
  events_->Shutdown();
}

bool MonitorService::WaitUntil(grpc::ServerContext* context, absl::Time deadline) {
  // Cancellation has no wake-up in the sync API: poll it every 100 ms.
  for (;;) {
    if (context->IsCancelled()) return false;
    const absl::Time now = absl::Now();
    if (now >= deadline) return true;
    if (shutdown_.WaitForNotificationWithTimeout(std::min(deadline - now, absl::Milliseconds(100)))) {
      return false;
    }
  }
}

grpc::Status MonitorService::ListConnections(grpc::ServerContext* /*context*/,
                                             const rustnet::v1::ListConnectionsRequest* request,
                                             rustnet::v1::ListConnectionsResponse* response) {
  auto query = QueryFrom(*request, options_.enrich);
  if (!query.ok()) return ToGrpc(query.status());
  Query(*query, response);
  return grpc::Status::OK;
}

void MonitorService::Query(const ConnectionQuery& query,
                           rustnet::v1::ListConnectionsResponse* out) const {
  // The live snapshots first: a worker hands removals to the history before
  // it publishes a snapshot without them, so a connection removed between
  // the two reads is in both (returned once, live), never in neither.
  const auto live = pipeline_->snapshots().Current();
  std::optional<ClosedHistory::Snapshot> closed;
  if (query.include_closed && options_.history != nullptr) closed = options_.history->Take();
  RunQuery(query, live, pipeline_->source().name(), out, closed ? &*closed : nullptr);
}

grpc::Status MonitorService::WatchConnections(
    grpc::ServerContext* context, const rustnet::v1::WatchConnectionsRequest* request,
    grpc::ServerWriter<rustnet::v1::ConnectionsUpdate>* writer) {
  StreamSlot slot(this);
  if (!slot.ok()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("too many streams (limit ", options_.max_streams,
                                     "); close one or raise --max-streams"));
  }
  auto query = QueryFrom(*request, options_.enrich);
  if (!query.ok()) return ToGrpc(query.status());
  const int interval_ms =
      request->interval_ms() == 0
          ? options_.default_interval_ms
          : std::max<int>(options_.min_interval_ms,
                          static_cast<int>(std::min<uint32_t>(request->interval_ms(), 3'600'000)));
  const absl::Duration interval = absl::Milliseconds(interval_ms);
  rustnet::v1::ConnectionsUpdate update;
  uint64_t sequence = 0;
  uint64_t skipped = 0;
  absl::Time next = absl::Now();
  while (WaitUntil(context, next)) {
    update.set_sequence(++sequence);
    update.set_skipped(skipped);
    Query(*query, update.mutable_page());
    if (!writer->Write(update)) break;  // Client gone.
    // A slow reader: the ticks that passed while Write blocked are skipped,
    // and the next update carries the newest snapshot.
    next += interval;
    const absl::Time now = absl::Now();
    if (now > next) {
      const auto missed = static_cast<uint64_t>((now - next) / interval);
      skipped += missed;
      updates_skipped_.fetch_add(missed, std::memory_order_relaxed);
      next += interval * static_cast<double>(missed);
    }
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::WatchEvents(grpc::ServerContext* context,
                                         const rustnet::v1::WatchEventsRequest* request,
                                         grpc::ServerWriter<rustnet::v1::ConnectionEvent>* writer) {
  StreamSlot slot(this);
  if (!slot.ok()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("too many streams (limit ", options_.max_streams,
                                     "); close one or raise --max-streams"));
  }
  auto query = MakeQuery(request->filter(), 0, 0, 0, 0, false);
  if (!query.ok()) return ToGrpc(query.status());
  query->enrich = options_.enrich;
  uint32_t type_mask = 0;
  for (int t : request->types()) {
    if (!rustnet::v1::EventType_IsValid(t) || t == rustnet::v1::EVENT_TYPE_UNSPECIFIED) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("unknown event type ", t));
    }
    type_mask |= 1u << t;
  }
  EventHub::Cursor cursor = events_->Subscribe();
  struct Unsubscribe {
    EventHub* hub;
    ~Unsubscribe() { hub->Unsubscribe(); }
  } unsubscribe{events_};
  const std::string interface = pipeline_->source().name();
  std::vector<FlowEvent> batch;
  rustnet::v1::ConnectionEvent message;
  uint64_t lost_reported = 0;
  while (!context->IsCancelled() && !shutdown_.HasBeenNotified()) {
    if (!events_->Read(&cursor, &batch, 256, absl::Milliseconds(100))) break;
    if (cursor.lost != lost_reported) {
      events_lost_.fetch_add(cursor.lost - lost_reported, std::memory_order_relaxed);
      lost_reported = cursor.lost;
    }
    for (const FlowEvent& e : batch) {
      const auto type = static_cast<uint32_t>(e.type);
      if (type_mask != 0 && (type_mask & (1u << type)) == 0) continue;
      if (!QueryMatches(*query, e.connection, interface)) continue;
      message.Clear();
      message.set_sequence(e.sequence);
      message.set_type(static_cast<rustnet::v1::EventType>(type));
      SetTimestampUs(e.time_us, message.mutable_time());
      ToProto(e.connection, e.time_us, interface, message.mutable_connection());
      AddEnrichment(options_.enrich, e.connection, message.mutable_connection());
      message.set_close_reason(static_cast<rustnet::v1::CloseReason>(e.reason));
      message.set_lost(cursor.lost);
      if (!writer->Write(message)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

void MonitorService::FillStats(rustnet::v1::Stats* out) const {
  const PipelineStats s = pipeline_->Stats();
  out->set_version(options_.version);
  SetTimestampUs(absl::ToUnixMicros(started_), out->mutable_started());
  SetDurationUs(absl::ToInt64Microseconds(absl::Now() - started_), out->mutable_uptime());

  auto* cap = out->add_captures();
  const PacketSource& source = pipeline_->source();
  cap->set_name(source.name());
  cap->set_live(source.live());
  cap->set_link_type(std::string(LinkTypeName(source.link_type())));
  cap->set_received(s.capture.received);
  cap->set_dropped_kernel(s.capture.dropped_kernel);
  cap->set_dropped_interface(s.capture.dropped_interface);
  cap->set_filtered(s.capture.filtered);
  const bool done = pipeline_->capture_done();
  cap->set_finished(done);
  std::string error = pipeline_->source_error();
  if (error.empty() && !done) error = s.capture.waiting_for;  // Empty unless waiting.
  cap->set_error(error);
  rustnet::v1::CaptureState state = rustnet::v1::CAPTURE_STATE_ENDED;
  if (!done && s.capture.state == CaptureState::kCapturing) {
    state = rustnet::v1::CAPTURE_STATE_CAPTURING;
  } else if (!done && s.capture.state == CaptureState::kWaiting) {
    state = rustnet::v1::CAPTURE_STATE_WAITING;
  }
  cap->set_state(state);
  cap->set_interruptions(s.capture.interruptions);
  if (s.capture.last_packet_us > 0) {
    SetTimestampUs(s.capture.last_packet_us, cap->mutable_last_packet());
  }
  if (state == rustnet::v1::CAPTURE_STATE_WAITING) {
    SetTimestampUs(s.capture.waiting_since_us, cap->mutable_waiting_since());
  }
  cap->set_renamed_to(s.capture.renamed_to);

  auto* p = out->mutable_pipeline();
  p->set_packets(s.packets);
  p->set_bytes(s.bytes);
  p->set_tracked(s.tracked);
  p->set_not_ip(s.not_ip);
  p->set_malformed(s.malformed);
  p->set_untracked_fragments(s.untracked);
  p->set_dropped_queues(s.queue_dropped);
  p->set_worker_threads(static_cast<uint32_t>(options_.workers));
  out->set_capture_threads(static_cast<uint32_t>(s.capture_threads.size()));
  for (const CaptureThreadStats& t : s.capture_threads) {
    auto* ct = out->add_capture_thread_stats();
    ct->set_received(t.capture.received);
    ct->set_dropped_kernel(t.capture.dropped_kernel);
    ct->set_dropped_interface(t.capture.dropped_interface);
    ct->set_packets(t.packets);
    ct->set_tracked(t.tracked);
    ct->set_dropped_queues(t.queue_dropped);
  }

  auto* c = out->mutable_connections();
  c->set_current(s.connections);
  c->set_capacity(options_.max_connections);
  c->set_created(s.flows.created);
  c->set_expired(s.flows.expired);
  c->set_evicted(s.flows.evicted);
  c->set_evicted_established(s.flows.evicted_established);
  c->set_replaced(s.flows.replaced);
  c->set_localhost_skipped(s.flows.localhost_skipped);
  c->set_refused(s.flows.refused);
  if (options_.history != nullptr) {
    const ClosedHistory::Stats h = options_.history->stats();
    c->set_history_size(h.size);
    c->set_history_capacity(h.capacity);
    c->set_history_dropped(h.dropped);
  }
  if (options_.export_stats) options_.export_stats(out);
  FillEnrichStats(options_.enrich, out->mutable_enrich());
  // Counted by protocol number, named once (not a map lookup per row).
  uint64_t per_protocol[256] = {};
  for (const auto& snap : pipeline_->snapshots().Current()) {
    if (!snap) continue;
    snap->ForEach([&per_protocol](const Connection& conn) { ++per_protocol[conn.key.protocol]; });
  }
  auto* by_protocol = c->mutable_by_protocol();
  for (int proto = 0; proto < 256; ++proto) {
    if (per_protocol[proto] != 0) {
      (*by_protocol)[std::string(ProtocolName(static_cast<uint8_t>(proto)))] += per_protocol[proto];
    }
  }

  for (size_t i = 0; i < kAnomalyCount; ++i) {
    if (s.anomalies.counts[i] == 0) continue;
    (*out->mutable_anomalies())[std::string(AnomalyName(static_cast<Anomaly>(i)))] =
        s.anomalies.counts[i];
  }

  for (const auto& [name, count] : s.dpi_anomalies) (*out->mutable_anomalies())[name] += count;
  auto* dpi = out->mutable_dpi();
  dpi->set_classified(s.dpi.classified);
  dpi->set_gave_up(s.dpi.gave_up);
  dpi->set_skipped_state_cap(s.dpi.skipped_state_cap);
  dpi->set_active(s.dpi.active);
  dpi->set_state_bytes(s.dpi.state_bytes);
  const DnsCache& dns_cache = pipeline_->dns_cache();
  dpi->set_dns_cache_entries(dns_cache.size());
  dpi->set_dns_cache_capacity(dns_cache.capacity());
  dpi->set_dns_cache_evicted(dns_cache.evicted());

  auto* attr = out->mutable_attribution();
  if (!s.attribution_on) {
    attr->set_socket_source("off");
  } else {
    const AttributorStats& a = s.attribution;
    attr->set_socket_source(a.socket_source);
    attr->set_requests(a.requests);
    attr->set_attributed(a.attributed);
    attr->set_user_only(a.user_only);
    attr->set_misses(a.misses);
    attr->set_socket_dumps(a.socket_dumps);
    attr->set_socket_lookup_batches(a.socket_lookup_batches);
    attr->set_processes_scanned(a.processes_scanned);
    attr->set_fd_links_read(a.fd_links_read);
    attr->set_processes_known(a.processes_known);
    attr->set_latency_us_avg(a.latency_us_avg);
    attr->set_latency_us_max(a.latency_us_max);
    attr->set_dropped(a.dropped);
    attr->set_thread_cpu_seconds(a.thread_cpu_seconds);
    attr->set_source(a.source);
    attr->set_ebpf_status(a.ebpf_status);
    for (const std::string& prog : a.ebpf_programs) attr->add_ebpf_programs(prog);
    for (const std::string& prog : a.ebpf_programs_failed) attr->add_ebpf_programs_failed(prog);
    attr->set_ebpf_cgroup(a.ebpf_cgroup);
    attr->set_ebpf_events(a.ebpf_events);
    attr->set_ebpf_lost(a.ebpf_lost);
    attr->set_ebpf_records(a.ebpf_records);
    attr->set_ebpf_matched(a.ebpf_matched);
    attr->set_ebpf_expired(a.ebpf_expired);
    attr->set_ebpf_evicted(a.ebpf_evicted);
    attr->set_ebpf_attributed(a.ebpf_attributed);
    attr->set_ebpf_late(a.ebpf_late);
    attr->set_ebpf_run_ns(a.ebpf_run_ns);
    attr->set_ebpf_run_count(a.ebpf_run_count);
    attr->set_kubernetes_found(a.kubernetes_found);
    attr->set_kubernetes_not_found(a.kubernetes_not_found);
    attr->set_kubernetes_bad_files(a.kubernetes_bad_files);
    attr->set_cgroup_ids_resolved(a.cgroup_ids_resolved);
    attr->set_cgroup_ids_missed(a.cgroup_ids_missed);
    attr->set_cgroup_walks(a.cgroup_walks);
    attr->set_cgroup_walks_truncated(a.cgroup_walks_truncated);
    attr->set_cgroup_ids_cached(a.cgroup_ids_cached);
  }

  auto* api = out->mutable_api();
  api->set_active_streams(static_cast<uint32_t>(std::max(0, active_streams_.load())));
  api->set_max_streams(static_cast<uint32_t>(options_.max_streams));
  api->set_updates_skipped(updates_skipped_.load(std::memory_order_relaxed));
  api->set_events_lost(events_lost_.load(std::memory_order_relaxed));
  api->set_streams_refused(streams_refused_.load(std::memory_order_relaxed));
}

grpc::Status MonitorService::GetStats(grpc::ServerContext* /*context*/,
                                      const rustnet::v1::GetStatsRequest* /*request*/,
                                      rustnet::v1::Stats* response) {
  FillStats(response);
  return grpc::Status::OK;
}

grpc::Status MonitorService::QueryHistory(grpc::ServerContext* /*context*/,
                                          const rustnet::v1::QueryHistoryRequest* request,
                                          rustnet::v1::QueryHistoryResponse* response) {
  if (!options_.query_history) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no history store: start rustnetd with --history-db PATH");
  }
  if (!rustnet::v1::SortField_IsValid(request->sort())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("unknown sort field ", request->sort()));
  }
  if (!rustnet::v1::SortOrder_IsValid(request->order())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("unknown sort order ", request->order()));
  }
  if (request->limit() > kMaxHistoryLimit) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("limit ", request->limit(), " is over ", kMaxHistoryLimit,
                                     "; page with offset"));
  }
  rustnet::v1::QueryHistoryRequest checked = *request;
  if (checked.limit() == 0) checked.set_limit(kMaxHistoryLimit);
  absl::StatusOr<rustnet::v1::QueryHistoryResponse> answer = options_.query_history(checked);
  if (!answer.ok()) {
    const auto code = answer.status().code() == absl::StatusCode::kInvalidArgument
                          ? grpc::StatusCode::INVALID_ARGUMENT
                          : grpc::StatusCode::UNAVAILABLE;
    return grpc::Status(code, std::string(answer.status().message()));
  }
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::Status MonitorService::GroupConnections(
    grpc::ServerContext* /*context*/, const rustnet::v1::GroupConnectionsRequest* request,
    rustnet::v1::GroupConnectionsResponse* response) {
  // The live snapshots first, then the history (see group_query.h).
  const auto live = pipeline_->snapshots().Current();
  auto answer = RunGroupQuery(*request, live, pipeline_->source().name(), options_.history,
                              options_.enrich);
  if (!answer.ok()) return ToGrpc(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::Status MonitorService::GetTimeline(grpc::ServerContext* /*context*/,
                                         const rustnet::v1::GetTimelineRequest* request,
                                         rustnet::v1::GetTimelineResponse* response) {
  if (!rustnet::v1::TimelineResolution_IsValid(request->resolution())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("unknown resolution ", request->resolution()));
  }
  const bool minutes = request->resolution() == rustnet::v1::TIMELINE_RESOLUTION_MINUTE;
  // Live, the wall clock: the graph moves on while no packet comes. A file
  // is on its packets' clock.
  int64_t now_us = pipeline_->clock_us();
  if (pipeline_->source().live()) now_us = std::max(now_us, absl::ToUnixMicros(absl::Now()));
  const std::vector<const TimelineRecorder*> recorders = pipeline_->timelines();
  const std::vector<TimelinePoint> points = ReadTimeline(
      recorders, minutes ? TimelineResolution::kMinute : TimelineResolution::kSecond, now_us,
      request->has_since() ? TimestampToUs(request->since()) : 0);
  response->set_resolution(minutes ? rustnet::v1::TIMELINE_RESOLUTION_MINUTE
                                   : rustnet::v1::TIMELINE_RESOLUTION_SECOND);
  SetTimestampUs(now_us, response->mutable_now());
  response->mutable_points()->Reserve(static_cast<int>(points.size()));
  for (const TimelinePoint& p : points) {
    rustnet::v1::TimelinePoint* out = response->add_points();
    SetTimestampUs(p.start_us, out->mutable_time());
    out->set_bytes_in(p.bytes_in);
    out->set_bytes_out(p.bytes_out);
    out->set_packets_in(p.packets_in);
    out->set_packets_out(p.packets_out);
    out->set_connections_opened(p.opened);
    out->set_connections_closed(p.closed);
    out->set_tcp_retransmissions(p.retransmissions);
    static constexpr uint8_t kProtocols[kTimelineProtocols] = {
        kIpProtoTcp, kIpProtoUdp, kIpProtoIcmp, kIpProtoIcmpv6, kPseudoProtoArp};
    for (size_t i = 0; i < kTimelineProtocols; ++i) {
      if (p.active[i] > 0) {
        (*out->mutable_active_by_protocol())[std::string(ProtocolName(kProtocols[i]))] =
            p.active[i];
      }
    }
    for (size_t a = 0; a < kTimelineApps; ++a) {
      if (p.app_bytes[a] == 0) continue;
      const std::string name =
          a == 0 ? std::string("unknown")
          : a == kTimelineApps - 1
              ? std::string("other")
              : std::string(AppProtocolName(static_cast<AppProtocol>(a)));
      (*out->mutable_bytes_by_application())[name] += p.app_bytes[a];
    }
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::ListInterfaces(grpc::ServerContext* /*context*/,
                                            const rustnet::v1::ListInterfacesRequest* /*request*/,
                                            rustnet::v1::ListInterfacesResponse* response) {
  auto list = ListCaptureInterfaces();
  if (!list.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(list.status().message()));
  }
  // A renamed interface is still the one captured (the socket follows it).
  std::string capturing;
  if (pipeline_->source().live()) {
    capturing = pipeline_->Stats().capture.renamed_to;
    if (capturing.empty()) capturing = pipeline_->source().name();
  }
  for (const InterfaceInfo& i : *list) {
    if (!IsNetworkInterface(i.name)) continue;
    auto* out = response->add_interfaces();
    out->set_name(i.name);
    out->set_up(i.up);
    out->set_running(i.running);
    out->set_loopback(i.loopback);
    for (const std::string& a : i.addresses) out->add_addresses(a);
    out->set_capturing(i.name == capturing);
    if (const std::optional<InterfaceCounters> k = ReadInterfaceCounters(i.name)) {
      auto* c = out->mutable_counters();
      c->set_rx_bytes(k->rx_bytes);
      c->set_tx_bytes(k->tx_bytes);
      c->set_rx_packets(k->rx_packets);
      c->set_tx_packets(k->tx_packets);
      c->set_rx_errors(k->rx_errors);
      c->set_tx_errors(k->tx_errors);
      c->set_rx_dropped(k->rx_dropped);
      c->set_tx_dropped(k->tx_dropped);
    }
  }
  return grpc::Status::OK;
}

}  // namespace rustnet
