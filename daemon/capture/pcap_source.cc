#include "daemon/capture/pcap_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "daemon/capture/interfaces.h"

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
  if (live_) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    select_fd_ = pcap_get_selectable_fd(handle_);
  }
}

PcapSource::~PcapSource() {
  if (has_file_filter_) pcap_freecode(&file_filter_);
  pcap_close(handle_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::StatusOr<std::unique_ptr<PcapSource>> PcapSource::OpenLive(
    const LiveCaptureOptions& options) {
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
  auto source = std::unique_ptr<PcapSource>(new PcapSource(handle, *link, options.interface, true));
  source->timeout_ms_ = options.timeout_ms;
  return source;
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
  pcap_t* handle = pcap_open_offline_with_tstamp_precision(path.c_str(),
                                                           PCAP_TSTAMP_PRECISION_MICRO, errbuf);
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
  if (pcap_stats(handle_, &ps) != 0) return;
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
    return NextResult::kEnd;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  if (!live_) {
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
      if (rc == PCAP_ERROR_BREAK) return NextResult::kEnd;
      error_ = pcap_geterr(handle_);
      return NextResult::kError;
    }
  }
  int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == 0) {
    // Nothing buffered: wait for the ring, an interrupt, or the timeout.
    pollfd fds[2] = {{select_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = poll(fds, 2, timeout_ms_);
    if (interrupted_.load(std::memory_order_relaxed)) {
      SampleStats();
      return NextResult::kEnd;
    }
    if (ready > 0 && (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      error_ = "the capture socket reported an error (interface down or removed?)";
      return NextResult::kError;
    }
    if (ready > 0) rc = pcap_next_ex(handle_, &header, &data);
  }
  switch (rc) {
    case 1:
      ++delivered_;
      Fill(*header, data, out);
      // Sample the kernel's counters at least once a second of packet time
      // (live timestamps are the wall clock), so statistics never lag.
      if ((delivered_ & 0xfff) == 0 || out->timestamp_us - last_sample_us_ >= 1'000'000) {
        last_sample_us_ = out->timestamp_us;
        SampleStats();
      }
      return NextResult::kPacket;
    case 0:
      SampleStats();
      return NextResult::kTimeout;
    case PCAP_ERROR_BREAK:
      SampleStats();
      return NextResult::kEnd;
    default:
      error_ = pcap_geterr(handle_);
      return NextResult::kError;
  }
}

void PcapSource::PublishFileStats() {
  absl::MutexLock lock(&stats_mu_);
  last_stats_.received = delivered_;
  last_stats_.filtered = filtered_;
}

CaptureStats PcapSource::Stats() {
  absl::MutexLock lock(&stats_mu_);
  return last_stats_;
}

void PcapSource::Interrupt() {
  interrupted_.store(true, std::memory_order_relaxed);
  pcap_breakloop(handle_);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

std::string PcapSource::error() const { return error_; }

}  // namespace rustnet
