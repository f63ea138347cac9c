#include "daemon/capture/pcap_source.h"

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "daemon/capture/interfaces.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

// Link types defined in tcpdump.org/linktypes.html that libpcap may hand us
// by their LINKTYPE_ number when it has no DLT_ for them.
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeIpv4 = 228;
constexpr int kLinktypeIpv6 = 229;

std::string SupportedLinkTypes() {
  return "Ethernet, Linux cooked v1/v2, raw IP, BSD loopback";
}

absl::Status ApplyFilter(pcap_t* handle, const std::string& bpf, bpf_u_int32 netmask) {
  if (bpf.empty()) return absl::OkStatus();
  bpf_program program{};
  if (pcap_compile(handle, &program, bpf.c_str(), 1, netmask) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid BPF filter \"", bpf, "\": ",
                                                   pcap_geterr(handle),
                                                   "; see pcap-filter(7) for the syntax"));
  }
  const int rc = pcap_setfilter(handle, &program);
  pcap_freecode(&program);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot apply BPF filter \"", bpf, "\": ", pcap_geterr(handle)));
  }
  return absl::OkStatus();
}

int64_t MonotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How often a live capture checks that its interface still exists and
// what it is called.
constexpr int64_t kInterfaceCheckUs = 1'000'000;

// Whether the interface called `name` is up; nullopt if there is none.
std::optional<bool> InterfaceUp(const std::string& name) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // Cannot tell; let the attempt to open decide.
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  const int rc = ioctl(fd, SIOCGIFFLAGS, &req);
  const int err = errno;
  close(fd);
  if (rc != 0) {
    if (err == ENODEV || err == ENXIO) return std::nullopt;
    return true;
  }
  return (req.ifr_flags & IFF_UP) != 0;
}

// Why the interface called `name` cannot be captured now, in the words the
// API shows while waiting; empty if it looks capturable.
std::string Unavailable(const std::string& name) {
  if (name == "any") return "";
  const std::optional<bool> up = InterfaceUp(name);
  if (!up) return absl::StrCat("no interface named ", name);
  if (!*up) return absl::StrCat("interface ", name, " is down");
  return "";
}

// The current name of interface `ifindex`; empty if it no longer exists.
// (Other failures answer `fallback`: only a definite "no such device"
// counts as removal.)
std::string IndexToName(int ifindex, const std::string& fallback) {
  char buf[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(ifindex), buf) != nullptr) return buf;
  return errno == ENXIO || errno == ENODEV ? std::string() : fallback;
}

// pcap_create + pcap_activate + the filter, for OpenLive and for reopening.
absl::StatusOr<pcap_t*> ActivateLive(const LiveCaptureOptions& options, LinkType* link_type) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_create(options.interface.c_str(), errbuf);
  if (handle == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot open interface ", options.interface, ": ", errbuf));
  }
  pcap_set_snaplen(handle, options.snaplen);
  pcap_set_promisc(handle, options.promiscuous ? 1 : 0);
  pcap_set_timeout(handle, options.block_timeout_ms);
  pcap_set_buffer_size(handle, options.buffer_bytes);
  pcap_set_immediate_mode(handle, 0);
  pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_MICRO);
  const int rc = pcap_activate(handle);
  // With TPACKET_V3 the kernel only retires a block (and wakes a reader)
  // once it holds a packet, so a blocking read on an idle link never
  // returns. Read non-blocking and poll ourselves with the timeout.
  if (rc >= 0) pcap_setnonblock(handle, 1, errbuf);
  if (rc < 0) {
    std::string detail = pcap_geterr(handle);
    pcap_close(handle);
    switch (rc) {
      case PCAP_ERROR_PERM_DENIED:
        return absl::PermissionDeniedError(absl::StrCat(
            "no permission to capture on ", options.interface,
            ": run rustnetd as root or grant it the capabilities with "
            "`setcap cap_net_raw,cap_net_admin=eip $(command -v rustnetd)`"));
      case PCAP_ERROR_NO_SUCH_DEVICE:
        return absl::NotFoundError(absl::StrCat("no interface named ", options.interface,
                                                "; interfaces that can be captured: ",
                                                CapturableInterfaceNames()));
      case PCAP_ERROR_IFACE_NOT_UP:
        return absl::FailedPreconditionError(absl::StrCat(
            "interface ", options.interface, " is down; bring it up (`ip link set ",
            options.interface, " up`) or choose another with -i"));
      default:
        return absl::UnavailableError(
            absl::StrCat("cannot capture on ", options.interface, ": ", detail));
    }
  }
  const int dlt = pcap_datalink(handle);
  auto link = LinkTypeFromDlt(dlt);
  if (!link) {
    const char* dlt_name = pcap_datalink_val_to_name(dlt);
    pcap_close(handle);
    return absl::UnimplementedError(absl::StrCat(
        "interface ", options.interface, " has link type ", dlt_name ? dlt_name : "unknown",
        " (", dlt, "), which rustnetd does not decode; supported: ", SupportedLinkTypes()));
  }
  bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
  char lookup_err[PCAP_ERRBUF_SIZE];
  if (pcap_lookupnet(options.interface.c_str(), &net, &mask, lookup_err) != 0) {
    mask = PCAP_NETMASK_UNKNOWN;
  }
  if (absl::Status s = ApplyFilter(handle, options.bpf, mask); !s.ok()) {
    pcap_close(handle);
    return s;
  }
  if (options.fanout_group >= 0) {
    // Join the group after activation (the socket must be bound). Hash
    // mode: the kernel spreads flows over the group's sockets by skb hash;
    // DEFRAG: a fragmented datagram's pieces are reassembled for the hash
    // only, so they reach one socket.
    const int arg = (options.fanout_group & 0xffff) |
                    ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
    if (setsockopt(pcap_fileno(handle), SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) {
      const int err = errno;
      pcap_close(handle);
      if (err == EADDRINUSE || err == EINVAL) {
        // Another socket's group of this id, with other settings.
        return absl::AlreadyExistsError(absl::StrCat("packet fan-out group ",
                                                     options.fanout_group, " is in use"));
      }
      return absl::UnavailableError(absl::StrCat(
          "cannot join a packet fan-out group on ", options.interface, ": ", std::strerror(err),
          "; run with --capture-threads 1"));
    }
  }
  *link_type = *link;
  return handle;
}

}  // namespace

std::optional<LinkType> LinkTypeFromDlt(int dlt) {
  switch (dlt) {
    case DLT_EN10MB: return LinkType::kEthernet;
    case DLT_LINUX_SLL: return LinkType::kLinuxSll;
    case DLT_LINUX_SLL2: return LinkType::kLinuxSll2;
    case DLT_RAW:
    case kLinktypeRaw: return LinkType::kRaw;
    case kLinktypeIpv4: return LinkType::kIpv4;
    case kLinktypeIpv6: return LinkType::kIpv6;
    case DLT_NULL: return LinkType::kNull;
    case DLT_LOOP: return LinkType::kLoop;
    default: return std::nullopt;
  }
}

PcapSource::PcapSource(pcap_t* handle, LinkType link_type, std::string name, bool live)
    : handle_(handle), link_type_(link_type), name_(std::move(name)), live_(live) {
  if (handle_ != nullptr) snaplen_ = static_cast<uint32_t>(std::max(pcap_snapshot(handle_), 0));
  if (live_) wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

PcapSource::~PcapSource() {
  if (has_file_filter_) pcap_freecode(&file_filter_);
  if (handle_ != nullptr) pcap_close(handle_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::StatusOr<std::vector<std::unique_ptr<PcapSource>>> PcapSource::OpenLiveFanout(
    const LiveCaptureOptions& options, size_t count) {
  std::vector<std::unique_ptr<PcapSource>> sources;
  if (count <= 1) {
    absl::StatusOr<std::unique_ptr<PcapSource>> one = OpenLive(options);
    if (!one.ok()) return one.status();
    sources.push_back(std::move(*one));
    return sources;
  }
  // Group ids are 16 bits and shared by every packet socket in the network
  // namespace: start from one derived from the pid (unique per daemon), and
  // move on if another program holds it.
  LiveCaptureOptions o = options;
  const int first = static_cast<int>(static_cast<uint32_t>(getpid()) & 0xffff);
  constexpr int kAttempts = 32;
  for (int attempt = 0; attempt < kAttempts && sources.empty(); ++attempt) {
    o.fanout_group = (first + attempt * 2053) & 0xffff;
    absl::StatusOr<std::unique_ptr<PcapSource>> one = OpenLive(o);
    if (one.ok()) {
      sources.push_back(std::move(*one));
    } else if (!absl::IsAlreadyExists(one.status())) {
      return one.status();
    }
  }
  if (sources.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "no free packet fan-out group id on ", options.interface,
        " (other capture programs hold them); run with --capture-threads 1"));
  }
  while (sources.size() < count) {
    absl::StatusOr<std::unique_ptr<PcapSource>> one = OpenLive(o);
    if (!one.ok()) return one.status();
    sources.push_back(std::move(*one));
  }
  // Each socket stops and resumes on its own: its messages say which.
  for (size_t k = 0; k < sources.size(); ++k) {
    sources[k]->options_.thread_label = absl::StrCat(" (capture thread ", k + 1, " of ", count, ")");
  }
  return sources;
}

absl::StatusOr<std::unique_ptr<PcapSource>> PcapSource::OpenLive(
    const LiveCaptureOptions& options) {
  LinkType link{};
  absl::StatusOr<pcap_t*> handle = ActivateLive(options, &link);
  if (!handle.ok()) return handle.status();
  auto source = std::unique_ptr<PcapSource>(new PcapSource(nullptr, link, options.interface, true));
  source->options_ = options;
  source->timeout_ms_ = options.timeout_ms;
  source->Attach(*handle);
  source->next_check_us_ = MonotonicUs() + kInterfaceCheckUs;
  return source;
}

void PcapSource::Attach(pcap_t* handle) {
  handle_ = handle;
  select_fd_ = pcap_get_selectable_fd(handle_);
  // The ifindex the socket is bound to (0 for "any"): what a rename keeps
  // and a removal takes away.
  ifindex_ = 0;
  sockaddr_ll address{};
  socklen_t length = sizeof(address);
  if (getsockname(select_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
      address.sll_family == AF_PACKET) {
    ifindex_ = address.sll_ifindex;
  }
  current_name_ = options_.interface;
  absl::MutexLock lock(&stats_mu_);
  raw_ = {};  // A new handle's kernel counters start at zero.
}

absl::StatusOr<std::unique_ptr<PcapSource>> PcapSource::OpenFile(const std::string& path,
                                                                 const std::string& bpf) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read capture file ", path, ": ",
                                            std::strerror(errno),
                                            "; check the path given to --read"));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is a directory; give --read a pcap or pcapng file"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a regular file; give --read a pcap or pcapng file (save a stream with "
              "`tcpdump -w FILE` first)"));
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // libpcap reads a file through stdio with stdio's default buffer (4 KiB:
  // one read() per 4 KiB, a sixth of a bare read's time); a large buffer
  // of our own costs a read() per MiB. It must outlive the FILE, which
  // pcap_close closes: the source owns it and closes the handle first.
  // A classic pcap file is read in place (pcap_file_map.h); libpcap then
  // only reads its header (checks, link type, snapshot length, filters).
  // The file is opened once: the map and libpcap read the same file even
  // if the path is replaced meanwhile.
  pcap_t* handle = nullptr;
  std::unique_ptr<PcapFileMap> map;
  std::unique_ptr<char[]> file_buffer;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  FILE* file = fd >= 0 ? fdopen(fd, "rb") : nullptr;
  if (fd >= 0 && file == nullptr) close(fd);
  if (file != nullptr) {
    map = PcapFileMap::Open(fd);
    if (!map) {
      file_buffer = std::make_unique<char[]>(kFileBufferBytes);
      std::setvbuf(file, file_buffer.get(), _IOFBF, kFileBufferBytes);
    }
    handle = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (handle == nullptr) std::fclose(file);
  } else {
    std::snprintf(errbuf, sizeof(errbuf), "%s: %s", path.c_str(), std::strerror(errno));
  }
  if (handle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read capture file ", path, ": ", errbuf,
        "; rustnetd reads pcap and pcapng files (as written by tcpdump -w or Wireshark)"));
  }
  const int dlt = pcap_datalink(handle);
  auto link = LinkTypeFromDlt(dlt);
  if (!link) {
    const char* dlt_name = pcap_datalink_val_to_name(dlt);
    pcap_close(handle);
    return absl::UnimplementedError(absl::StrCat(
        "capture file ", path, " has link type ", dlt_name ? dlt_name : "unknown", " (", dlt,
        "), which rustnetd does not decode; supported: ", SupportedLinkTypes()));
  }
  auto source = std::unique_ptr<PcapSource>(new PcapSource(handle, *link, path, false));
  source->file_buffer_ = std::move(file_buffer);
  if (map) {
    // pcap_snapshot: the header's length, or the maximum where it was 0 or
    // beyond it (as libpcap reads records).
    map->SetLimits(static_cast<uint32_t>(std::clamp(
                       pcap_snapshot(handle), 1, static_cast<int>(PcapFileMap::kMaxCaplen))),
                   PcapFileMap::kMaxCaplen);
    source->file_map_ = std::move(map);
  }
  if (!bpf.empty()) {
    if (pcap_compile(handle, &source->file_filter_, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid BPF filter \"", bpf, "\": ",
                                                     pcap_geterr(handle),
                                                     "; see pcap-filter(7) for the syntax"));
    }
    source->has_file_filter_ = true;
  }
  return source;
}

void PcapSource::SampleStats() {
  // pcap_stats is not safe to call concurrently with reads, so the capture
  // thread samples it and Stats() returns the sample.
  pcap_stat ps{};
  if (handle_ == nullptr || pcap_stats(handle_, &ps) != 0) return;
  absl::MutexLock lock(&stats_mu_);
  // libpcap's counters are 32-bit and wrap; accumulate deltas.
  last_stats_.received += static_cast<uint32_t>(ps.ps_recv - raw_.ps_recv);
  last_stats_.dropped_kernel += static_cast<uint32_t>(ps.ps_drop - raw_.ps_drop);
  last_stats_.dropped_interface += static_cast<uint32_t>(ps.ps_ifdrop - raw_.ps_ifdrop);
  raw_ = ps;
}

void PcapSource::Fill(const pcap_pkthdr& header, const u_char* data, RawPacket* out) const {
  // Timestamps come from the file or the kernel and may be anything (pcapng
  // has 64-bit ones): clamp so the microsecond clock cannot overflow, and
  // keep it non-negative (nothing we show predates 1970).
  constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000 - 1;
  const int64_t sec = std::clamp<int64_t>(header.ts.tv_sec, 0, kMaxSeconds);
  const int64_t usec = std::clamp<int64_t>(header.ts.tv_usec, 0, 999'999);
  out->timestamp_us = sec * 1'000'000 + usec;
  out->wire_length = header.len;
  out->data = std::span<const uint8_t>(data, header.caplen);
}

NextResult PcapSource::Next(RawPacket* out) {
  if (interrupted_.load(std::memory_order_relaxed)) {
    if (live_) SampleStats();  // Final figures for the shutdown log.
    recovery_.End();
    PublishState();
    return NextResult::kEnd;
  }
  return live_ ? NextLive(out) : NextFile(out);
}

NextResult PcapSource::NextFile(RawPacket* out) {
  if (file_map_) return NextMapped(out);
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  for (;;) {
    const int rc = pcap_next_ex(handle_, &header, &data);
    if (rc == 1) {
      ++delivered_;
      if (has_file_filter_ && pcap_offline_filter(&file_filter_, header, data) == 0) {
        ++filtered_;
        continue;
      }
      Fill(*header, data, out);
      if ((delivered_ & 0xfff) == 0) PublishFileStats();
      return NextResult::kPacket;
    }
    PublishFileStats();
    recovery_.End();
    PublishState();
    if (rc == PCAP_ERROR_BREAK) return NextResult::kEnd;
    error_ = pcap_geterr(handle_);
    return NextResult::kError;
  }
}

NextResult PcapSource::NextMapped(RawPacket* out) {
  PcapFileMap::Record rec;
  for (;;) {
    const PcapFileMap::Result r = file_map_->Next(&rec);
    if (r == PcapFileMap::Result::kRecord) {
      ++delivered_;
      pcap_pkthdr header{};
      header.ts.tv_sec = static_cast<time_t>(rec.ts_sec);
      header.ts.tv_usec = static_cast<suseconds_t>(rec.ts_usec);
      header.caplen = rec.caplen;
      header.len = rec.len;
      if (has_file_filter_ && pcap_offline_filter(&file_filter_, &header, rec.data) == 0) {
        ++filtered_;
        continue;
      }
      Fill(header, rec.data, out);
      if ((delivered_ & 0xfff) == 0) PublishFileStats();
      return NextResult::kPacket;
    }
    PublishFileStats();
    recovery_.End();
    PublishState();
    if (r == PcapFileMap::Result::kEnd) return NextResult::kEnd;
    error_ = file_map_->error();
    return NextResult::kError;
  }
}

NextResult PcapSource::NextLive(RawPacket* out) {
  if (handle_ == nullptr) return Wait();
  if (check_due_) {
    // Here, not after a read: closing the handle would free the packet.
    check_due_ = false;
    CheckInterface(MonotonicUs());
    if (handle_ == nullptr) return NextResult::kTimeout;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == 0) {
    // Nothing buffered: wait for the ring, an interrupt, or the timeout.
    pollfd fds[2] = {{select_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = poll(fds, 2, timeout_ms_);
    if (interrupted_.load(std::memory_order_relaxed)) {
      SampleStats();
      recovery_.End();
      PublishState();
      return NextResult::kEnd;
    }
    if (ready > 0 && (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      // The kernel sets ENETDOWN on the socket when its interface goes
      // down or away (it would even resume after "up", but not after a
      // removal): start over by name in either case.
      Lose("the capture socket reported an error");
      return NextResult::kTimeout;
    }
    if (ready > 0) rc = pcap_next_ex(handle_, &header, &data);
  }
  switch (rc) {
    case 1:
      ++delivered_;
      Fill(*header, data, out);
      last_packet_us_.store(out->timestamp_us, std::memory_order_relaxed);
      // Sample the kernel's counters at least once a second of packet time
      // (live timestamps are the wall clock), so statistics never lag.
      if ((delivered_ & 0xfff) == 0 || out->timestamp_us - last_sample_us_ >= 1'000'000) {
        last_sample_us_ = out->timestamp_us;
        SampleStats();
        check_due_ = true;
      }
      return NextResult::kPacket;
    case 0:
      SampleStats();
      check_due_ = true;
      return NextResult::kTimeout;
    case PCAP_ERROR_BREAK:
      SampleStats();
      recovery_.End();
      PublishState();
      return NextResult::kEnd;
    default:
      Lose(pcap_geterr(handle_));
      return NextResult::kTimeout;
  }
}

void PcapSource::Lose(const std::string& detail) {
  int so_error = 0;
  socklen_t length = sizeof(so_error);
  if (getsockopt(select_fd_, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) so_error = 0;
  SampleStats();  // The closing handle's last counts.
  const std::string& name = options_.interface;
  // What became of the interface the socket is bound to (renamed since the
  // last check, perhaps)?
  const std::string now_called = ifindex_ > 0 ? IndexToName(ifindex_, current_name_) : name;
  const bool removed = now_called.empty();
  if (!removed) current_name_ = now_called;
  const bool went_down =
      !removed && (so_error == ENETDOWN || !InterfaceUp(current_name_).value_or(true));
  std::string happened;
  if (removed) {
    happened = "the interface was removed";
  } else if (went_down) {
    happened = "the interface went down";
  } else {
    happened = so_error != 0 ? absl::StrCat(detail, ": ", std::strerror(so_error)) : detail;
  }
  pcap_close(handle_);
  handle_ = nullptr;
  select_fd_ = -1;
  // Wait for what an attempt to reopen would find missing, so the first
  // failed attempt is no news.
  std::string why = Unavailable(name);
  if (why.empty()) why = happened;
  const bool renamed = current_name_ != name;
  const std::string shown = absl::StrCat(
      name, renamed ? absl::StrCat(" (renamed ", current_name_, ")") : std::string(),
      options_.thread_label);
  current_name_ = name;  // Not captured any more, whatever it is called.
  recovery_.Stopped(why, MonotonicUs());
  waiting_since_us_ = WallClockUs();
  PublishState();
  if (went_down && !renamed) {
    spdlog::warn("capture on {} stopped: {}; waiting for it to come back", shown, happened);
  } else if (went_down || removed) {
    spdlog::warn("capture on {} stopped: {}; waiting for an interface named {}", shown, happened,
                 name);
  } else {
    spdlog::warn("capture on {} stopped: {}; trying to open it again", shown, happened);
  }
}

NextResult PcapSource::Wait() {
  const int64_t now = MonotonicUs();
  if (recovery_.AttemptDue(now)) {
    TryReopen(now);
    if (handle_ != nullptr) return NextResult::kTimeout;
  }
  // Sleep until the next attempt, at most a read timeout (the pipeline's
  // clock moves on every return), and wake at once on Interrupt().
  const int64_t until_ms = (recovery_.UntilAttempt(MonotonicUs()) + 999) / 1000;
  pollfd fd = {wake_fd_, POLLIN, 0};
  poll(&fd, 1, static_cast<int>(std::clamp<int64_t>(until_ms, 1, timeout_ms_)));
  if (interrupted_.load(std::memory_order_relaxed)) {
    recovery_.End();
    PublishState();
    return NextResult::kEnd;
  }
  return NextResult::kTimeout;
}

void PcapSource::TryReopen(int64_t now_us) {
  const std::string& name = options_.interface;
  std::string why = Unavailable(name);
  if (why.empty()) {
    LinkType link{};
    absl::StatusOr<pcap_t*> handle = ActivateLive(options_, &link);
    if (!handle.ok()) {
      why = std::string(handle.status().message());
    } else if (link != link_type_) {
      // The decoders were set up for the old link type.
      const char* dlt_name = pcap_datalink_val_to_name(pcap_datalink(*handle));
      pcap_close(*handle);
      why = absl::StrCat("interface ", name, " came back with another link type (",
                         dlt_name ? dlt_name : "unknown", "); restart rustnetd to capture it");
    } else {
      Attach(*handle);
      const int64_t waited_us = recovery_.Resumed(now_us);
      next_check_us_ = now_us + kInterfaceCheckUs;
      PublishState();
      spdlog::warn("capture on {}{} resumed after {:.1f} s", name, options_.thread_label,
                   static_cast<double>(waited_us) / 1e6);
      return;
    }
  }
  if (recovery_.AttemptFailed(why, now_us)) {
    PublishState();
    spdlog::info("capture on {}{} still waiting: {}", name, options_.thread_label, why);
  }
}

void PcapSource::CheckInterface(int64_t now_us) {
  if (ifindex_ <= 0 || now_us < next_check_us_) return;
  next_check_us_ = now_us + kInterfaceCheckUs;
  const std::string now_called = IndexToName(ifindex_, current_name_);
  if (now_called.empty()) {
    // Removed, and the socket did not say so (yet).
    Lose("the interface was removed");
    return;
  }
  if (now_called == current_name_) return;
  spdlog::warn("interface {} is now called {}; still capturing it{}", current_name_, now_called,
               options_.thread_label);
  current_name_ = now_called;
  PublishState();
}

void PcapSource::PublishState() {
  absl::MutexLock lock(&stats_mu_);
  last_stats_.state = recovery_.state();
  last_stats_.waiting_for = recovery_.why();
  last_stats_.interruptions = recovery_.interruptions();
  last_stats_.waiting_since_us =
      recovery_.state() == CaptureState::kWaiting ? waiting_since_us_ : 0;
  last_stats_.renamed_to = current_name_ == options_.interface ? std::string() : current_name_;
}

void PcapSource::PublishFileStats() {
  absl::MutexLock lock(&stats_mu_);
  last_stats_.received = delivered_;
  last_stats_.filtered = filtered_;
}

CaptureStats PcapSource::Stats() {
  absl::MutexLock lock(&stats_mu_);
  CaptureStats stats = last_stats_;
  stats.last_packet_us = last_packet_us_.load(std::memory_order_relaxed);
  return stats;
}

void PcapSource::Interrupt() {
  interrupted_.store(true, std::memory_order_relaxed);
  // Live: the handle belongs to the capture thread (it may be reopened
  // right now); the eventfd wakes its poll instead.
  if (!live_) pcap_breakloop(handle_);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

std::string PcapSource::error() const { return error_; }

}  // namespace rustnet
