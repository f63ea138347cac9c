#include "daemon/export/ipfix/collector.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rustnet::ipfix {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr int kConnectTimeoutMs = 2000;
constexpr int kSendTimeoutS = 5;
// UDP: templates also go out again after this many messages (RFC 7011
// §8.4 allows refreshing by time, by messages, or both): a collector that
// restarts under a steady stream decodes again without waiting a period.
constexpr uint64_t kTemplateRefreshMessages = 4096;

absl::Status BadUrl(std::string_view url) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--ipfix: expected udp://HOST:PORT or tcp://HOST:PORT (IPv6 as [::1]:4739), got \"", std::string(url),
      "\""));
}

}  // namespace

absl::StatusOr<CollectorAddress> ParseCollectorUrl(std::string_view url) {
  CollectorAddress a;
  a.url = std::string(url);
  std::string_view rest = url;
  if (rest.starts_with("udp://")) {
    rest.remove_prefix(6);
  } else if (rest.starts_with("tcp://")) {
    a.tcp = true;
    rest.remove_prefix(6);
  } else {
    return BadUrl(url);
  }
  std::string_view host, port;
  if (rest.starts_with("[")) {
    const size_t close = rest.find("]:");
    if (close == std::string_view::npos) return BadUrl(url);
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return BadUrl(url);
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return BadUrl(url);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return BadUrl(url);
  }
  a.host = std::string(host);
  a.port = static_cast<uint16_t>(value);
  return a;
}

absl::StatusOr<std::unique_ptr<Collector>> Collector::Open(const CollectorAddress& address,
                                                           CollectorOptions options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = address.tcp ? SOCK_STREAM : SOCK_DGRAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
      rc != 0 || found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ipfix: cannot resolve the collector ", address.url, ": ",
                     gai_strerror(rc), "; check the host name"));
  }
  std::unique_ptr<Collector> c(new Collector(address, std::move(options)));
  std::memcpy(&c->addr_, found->ai_addr, std::min<size_t>(found->ai_addrlen, sizeof(c->addr_)));
  c->addr_len_ = static_cast<socklen_t>(std::min<size_t>(found->ai_addrlen, sizeof(c->addr_)));
  const int family = found->ai_family;
  freeaddrinfo(found);
  if (!address.tcp) {
    c->udp_fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->udp_fd_ < 0 ||
        connect(c->udp_fd_, reinterpret_cast<const sockaddr*>(&c->addr_), c->addr_len_) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("--ipfix: cannot open a UDP socket to ",
                                                     address.url, ": ", std::strerror(errno)));
    }
    c->connected_ = true;
  } else {
    c->tcp_thread_ = std::thread([p = c.get()] { p->RunTcp(); });
  }
  return c;
}

Collector::Collector(CollectorAddress address, CollectorOptions options)
    : address_(std::move(address)), options_(std::move(options)), encoder_(options_.encoder) {}

Collector::~Collector() {
  Close();
  if (udp_fd_ >= 0) close(udp_fd_);
}

void Collector::SendUdp(std::string_view bytes, uint32_t records) {
  const ssize_t n = send(udp_fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(bytes.size())) {
    dropped_.fetch_add(records, std::memory_order_relaxed);
    return;
  }
  packets_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(bytes.size(), std::memory_order_relaxed);
  records_.fetch_add(records, std::memory_order_relaxed);
}

void Collector::Export(std::span<const FlowRecord> records, int64_t export_ms) {
  std::vector<FlowEncoder::Message> messages;
  if (!address_.tcp) {
    const absl::Time now = absl::Now();
    const bool templates = now - last_templates_ >= options_.template_refresh ||
                           messages_since_templates_ >= kTemplateRefreshMessages;
    if (records.empty() && !templates) return;
    if (templates) {
      last_templates_ = now;
      messages_since_templates_ = 0;
    }
    encoder_.Encode(records, templates, export_ms, &messages);
    messages_since_templates_ += messages.size();
    for (const FlowEncoder::Message& m : messages) SendUdp(m.bytes, m.records);
    return;
  }
  if (records.empty()) return;
  encoder_.Encode(records, false, export_ms, &messages);
  absl::MutexLock lock(&mu_);
  last_export_ms_ = export_ms;
  next_sequence_ = encoder_.sequence();
  for (FlowEncoder::Message& m : messages) {
    if (queue_.size() >= options_.queue_messages || stop_) {
      dropped_.fetch_add(m.records, std::memory_order_relaxed);
      continue;
    }
    queue_.push_back(std::move(m));
  }
}

bool Collector::WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  packets_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(bytes.size(), std::memory_order_relaxed);
  return true;
}

bool Collector::ConnectTcp() {
  const auto* addr = reinterpret_cast<const sockaddr*>(&addr_);
  const int fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int rc = connect(fd, addr, addr_len_);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    rc = (poll(&p, 1, kConnectTimeoutMs) == 1 &&
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
             ? 0
             : -1;
  }
  if (rc != 0) {
    close(fd);
    return false;
  }
  // Blocking from now on, with a send timeout: a collector that stops
  // reading costs a reconnect, never a thread stuck for good.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{kSendTimeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  tcp_fd_ = fd;
  return true;
}

void Collector::RunTcp() {
  absl::Duration backoff = kFirstBackoff;
  bool ever_connected = false;
  while (true) {
    if (tcp_fd_ < 0) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_ && (queue_.empty() || absl::Now() >= stop_deadline_)) break;
      }
      if (!ConnectTcp()) {
        absl::MutexLock lock(&mu_);
        auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
        // While stopping, keep trying until the deadline.
        const absl::Duration wait =
            stop_ ? std::min(backoff, stop_deadline_ - absl::Now()) : backoff;
        mu_.AwaitWithTimeout(absl::Condition(&stopping), std::max(wait, absl::ZeroDuration()));
        if (stop_ && absl::Now() >= stop_deadline_) break;
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
      ever_connected = true;
      backoff = kFirstBackoff;
      // RFC 7011 §8.3: a new session starts with its templates; numbered
      // as the next data message will be.
      int64_t export_ms = 0;
      uint32_t next_sequence = 0;
      {
        absl::MutexLock lock(&mu_);
        export_ms = last_export_ms_;
        next_sequence = next_sequence_;
        if (!queue_.empty() && queue_.front().bytes.size() >= 12) {
          const std::string& b = queue_.front().bytes;
          next_sequence = static_cast<uint32_t>(static_cast<uint8_t>(b[8])) << 24 |
                          static_cast<uint32_t>(static_cast<uint8_t>(b[9])) << 16 |
                          static_cast<uint32_t>(static_cast<uint8_t>(b[10])) << 8 |
                          static_cast<uint32_t>(static_cast<uint8_t>(b[11]));
        }
      }
      FlowEncoder templates(options_.encoder);
      std::string t = templates.TemplateMessage(export_ms);
      for (size_t i = 0; i < 4; ++i) t[8 + i] = static_cast<char>(next_sequence >> (24 - 8 * i));
      if (!WriteAll(tcp_fd_, t)) {
        close(tcp_fd_);
        tcp_fd_ = -1;
        continue;
      }
      connected_ = true;
    }
    FlowEncoder::Message m;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) break;  // Stopping, all sent.
      if (stop_ && absl::Now() >= stop_deadline_) break;
      m = std::move(queue_.front());
      queue_.pop_front();
    }
    if (WriteAll(tcp_fd_, m.bytes)) {
      records_.fetch_add(m.records, std::memory_order_relaxed);
      continue;
    }
    // Partly written, perhaps: the stream is broken either way.
    dropped_.fetch_add(m.records, std::memory_order_relaxed);
    close(tcp_fd_);
    tcp_fd_ = -1;
    connected_ = false;
  }
  if (tcp_fd_ >= 0) {
    close(tcp_fd_);
    tcp_fd_ = -1;
  }
  connected_ = false;
  absl::MutexLock lock(&mu_);
  for (const FlowEncoder::Message& m : queue_) {
    dropped_.fetch_add(m.records, std::memory_order_relaxed);
  }
  queue_.clear();
}

void Collector::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (!stop_) {
      stop_ = true;
      stop_deadline_ = absl::Now() + options_.close_timeout;
    }
  }
  if (tcp_thread_.joinable()) tcp_thread_.join();
}

CollectorStats Collector::stats() const {
  CollectorStats s;
  s.url = address_.url;
  s.records = records_.load(std::memory_order_relaxed);
  s.packets = packets_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.connected = connected_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace rustnet::ipfix
