#include "daemon/export/json_log/json_log_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/snapshot/convert.h"
#include "daemon/snapshot/json_writer.h"
#include "google/protobuf/timestamp.pb.h"
#include "rustnet/v1/connection.pb.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {
namespace {

// Events taken from the hub per read; rounds write at most this many plus
// the closed queue's content.
constexpr size_t kHubReadMax = 4096;
// How long the thread sleeps when there is nothing to write: closed lines
// wait at most this long.
constexpr absl::Duration kIdleWait = absl::Milliseconds(100);
// Rows of the final table formatted per write.
constexpr size_t kFinalBlockRows = 2048;

absl::StatusOr<int> OpenLogFile(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open the JSON log ", path, ": ", std::strerror(errno),
                     "; check that its directory exists and is writable by rustnetd"));
  }
  return fd;
}

void AppendTimestamp(JsonObjectWriter& w, std::string_view name, int64_t us) {
  google::protobuf::Timestamp t;
  SetTimestampUs(us, &t);  // Clamped into Timestamp's range.
  w.Timestamp(name, t.seconds(), t.nanos());
}

}  // namespace

absl::StatusOr<std::unique_ptr<JsonLogSink>> JsonLogSink::Open(JsonLogOptions options) {
  absl::StatusOr<int> fd = OpenLogFile(options.path);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<JsonLogSink> sink(new JsonLogSink(std::move(options), *fd));
  const JsonLogOptions& o = sink->options_;
  if ((o.opened || o.classified) && o.events != nullptr) {
    sink->cursor_ = o.events->Subscribe();
    sink->hub_subscribed_ = true;
  }
  sink->thread_ = std::thread([s = sink.get()] { s->Run(); });
  return sink;
}

JsonLogSink::JsonLogSink(JsonLogOptions options, int fd)
    : options_(std::move(options)), fd_(fd) {
  absl::MutexLock lock(&mu_);
  interface_ = options_.interface;
}

JsonLogSink::~JsonLogSink() {
  StopThread();
  absl::MutexLock lock(&file_mu_);
  if (fd_ >= 0) close(fd_);
}

void JsonLogSink::OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) {
  if (!options_.closed || closed.empty()) return;
  absl::MutexLock lock(&mu_);
  if (!accepting_) return;
  if (interface != interface_) interface_ = std::string(interface);
  const size_t room = options_.queue_capacity - std::min(options_.queue_capacity, queue_.size());
  const size_t take = std::min(room, closed.size());
  for (size_t i = 0; i < take; ++i) {
    queue_.push_back(Pending{*closed[i].connection, closed[i].reason, closed[i].time_us});
  }
  if (take < closed.size()) {
    queue_dropped_ += closed.size() - take;
    dropped_.fetch_add(closed.size() - take, std::memory_order_relaxed);
  }
}

void JsonLogSink::AppendEventJson(uint64_t sequence, FlowEventType type, CloseReason reason,
                                  int64_t time_us, const Connection& c,
                                  std::string_view interface, uint64_t lost, std::string* out) {
  // The event's members around the connection's, which AppendJsonLine
  // writes as an object of its own: each part is written as an object and
  // the braces between them are taken out.
  bool ok = true;  // Always: times are clamped into range.
  {
    JsonObjectWriter w(out, &ok);
    w.Uint64("sequence", sequence);
    w.Enum("type", rustnet::v1::EventType_descriptor(), static_cast<int>(type));
    AppendTimestamp(w, "time", time_us);
  }
  out->back() = ',';  // "}" -> ","
  out->append("\"connection\":");
  AppendJsonLine(c, time_us, interface, out);
  const bool closed = type == FlowEventType::kClosed;
  if (closed) {
    // Connection.closed, closed_at, close_reason: its last fields.
    out->pop_back();
    const size_t open = out->size();
    {
      JsonObjectWriter w(out, &ok);
      w.Bool("closed", true);
      AppendTimestamp(w, "closedAt", time_us);
      w.Enum("closeReason", rustnet::v1::CloseReason_descriptor(), static_cast<int>(reason));
    }
    (*out)[open] = ',';  // "{" -> ","
  }
  const size_t tail = out->size();
  {
    JsonObjectWriter w(out, &ok);
    if (closed) {
      w.Enum("closeReason", rustnet::v1::CloseReason_descriptor(), static_cast<int>(reason));
    }
    w.Uint64("lost", lost);
  }
  if (out->size() - tail == 2) {
    out->resize(tail);  // "{}": nothing more; close the event.
    out->push_back('}');
  } else {
    (*out)[tail] = ',';  // Its "}" closes the event.
  }
}

void JsonLogSink::AddLine(FlowEventType type, CloseReason reason, int64_t time_us,
                          const Connection& c, std::string_view interface, std::string* out) {
  ++sequence_;
  AppendEventJson(sequence_, type, reason, time_us, c, interface, lost_, out);
  out->push_back('\n');
}

void JsonLogSink::NoteLost(uint64_t n) {
  sequence_ += n;
  lost_ += n;
}

void JsonLogSink::Write(const std::string& text, uint64_t lines) {
  if (lines == 0) return;
  absl::MutexLock lock(&file_mu_);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (write_errno_ == 0) write_errno_ = n < 0 ? errno : EIO;
      // Lines not (wholly) written count as dropped.
      const uint64_t complete =
          static_cast<uint64_t>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(done), '\n'));
      written_.fetch_add(complete, std::memory_order_relaxed);
      dropped_.fetch_add(lines - complete, std::memory_order_relaxed);
      return;
    }
    done += static_cast<size_t>(n);
  }
  written_.fetch_add(lines, std::memory_order_relaxed);
}

void JsonLogSink::Run() {
  std::vector<Pending> batch;
  std::vector<FlowEvent> events;
  std::vector<FlowEvent> more;
  std::string interface;
  std::string text;
  bool hub_open = hub_subscribed_;
  while (true) {
    // Wait for work: hub events (which wake us), or closed connections.
    if (hub_open) {
      hub_open = options_.events->Read(&cursor_, &events, kHubReadMax, kIdleWait);
    } else {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), kIdleWait);
    }
    bool stop = false;
    uint64_t queue_dropped = 0;
    {
      absl::MutexLock lock(&mu_);
      batch.swap(queue_);
      interface = interface_;
      queue_dropped = queue_dropped_;
      stop = stop_;
    }
    // Then the hub up to its end (see the header: opened before closed).
    while (hub_open) {
      hub_open = options_.events->Read(&cursor_, &more, kHubReadMax, absl::ZeroDuration());
      if (more.empty()) break;
      events.insert(events.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
    }
    text.clear();
    uint64_t lines = 0;
    if (cursor_.lost > hub_lost_seen_) {
      const uint64_t n = cursor_.lost - hub_lost_seen_;
      hub_lost_seen_ = cursor_.lost;
      dropped_.fetch_add(n, std::memory_order_relaxed);
      NoteLost(n);
    }
    for (const FlowEvent& e : events) {
      const bool want = (e.type == FlowEventType::kOpened && options_.opened) ||
                        (e.type == FlowEventType::kClassified && options_.classified);
      if (!want) continue;
      AddLine(e.type, e.reason, e.time_us, e.connection, interface, &text);
      ++lines;
    }
    events.clear();
    if (queue_dropped > queue_dropped_seen_) {
      NoteLost(queue_dropped - queue_dropped_seen_);
      queue_dropped_seen_ = queue_dropped;
    }
    for (const Pending& p : batch) {
      AddLine(FlowEventType::kClosed, p.reason, p.time_us, p.connection, interface, &text);
      if (options_.final_table_repeats_closed) closed_ids_.insert(p.connection.id);
      ++lines;
    }
    batch.clear();
    Write(text, lines);
    if (stop) {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) break;
    }
  }
  if (hub_subscribed_) options_.events->Unsubscribe();
}

void JsonLogSink::StopThread() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    accepting_ = false;
  }
  if (thread_.joinable()) thread_.join();
}

void JsonLogSink::OnFinalTable(const FinalTable& table) {
  StopThread();
  if (!options_.closed) return;
  std::string text;
  uint64_t lines = 0;
  {
    absl::MutexLock lock(&mu_);  // Uncontended: for the annotations.
    if (queue_dropped_ > queue_dropped_seen_) {
      NoteLost(queue_dropped_ - queue_dropped_seen_);
      queue_dropped_seen_ = queue_dropped_;
    }
  }
  for (const Connection* c : table.rows) {
    if (options_.final_table_repeats_closed && closed_ids_.contains(c->id)) continue;
    AddLine(FlowEventType::kClosed, CloseReason::kShutdown, table.now_us, *c, table.interface,
            &text);
    if (++lines == kFinalBlockRows) {
      Write(text, lines);
      text.clear();
      lines = 0;
    }
  }
  Write(text, lines);
}

absl::Status JsonLogSink::Flush() {
  absl::MutexLock lock(&file_mu_);
  if (fd_ >= 0 && fdatasync(fd_) != 0 && errno != EINVAL && write_errno_ == 0) {
    write_errno_ = errno;
  }
  if (write_errno_ == 0) return absl::OkStatus();
  const int e = std::exchange(write_errno_, 0);
  return absl::UnavailableError(absl::StrCat("cannot write the JSON log ", options_.path, ": ",
                                             std::strerror(e),
                                             "; check that there is room on its file system"));
}

absl::Status JsonLogSink::Reopen() {
  absl::StatusOr<int> fd = OpenLogFile(options_.path);
  if (!fd.ok()) return fd.status();
  int old = -1;
  {
    absl::MutexLock lock(&file_mu_);
    old = std::exchange(fd_, *fd);
  }
  if (old >= 0) close(old);
  return absl::OkStatus();
}

JsonLogSink::Stats JsonLogSink::stats() const {
  Stats s;
  s.written = written_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace rustnet
