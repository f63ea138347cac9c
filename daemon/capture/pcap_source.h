// PcapSource: a PacketSource over libpcap, for live interfaces and for pcap
// / pcapng files.
//
// Live capture uses libpcap's TPACKET_V3 ring (immediate mode off, a large
// buffer, a short read timeout so the pipeline's clock keeps moving when
// the link is idle).
//
// A live capture survives its interface: when the capture socket reports an
// error (the interface went down, was removed), the handle is closed, one
// warning is logged, and Next() returns kTimeout while it tries to open the
// same interface name again (CaptureRecovery's back-off), so the pipeline's
// clock, expiry and API go on. It resumes with a warning saying how long it
// waited; an interface removed and created again under the same name (a new
// ifindex) is picked up. The kernel's counters restart with each handle;
// Stats() adds them up. A rename does not stop a capture (the socket is
// bound to the ifindex): it is logged once and shown as `renamed_to`; if the
// renamed interface later fails, the wait is for the name given with -i.
//
// Thread-safety: see PacketSource. Stats() takes a lock shared with Next();
// everything else (the handle included) belongs to the capture thread, which
// is why Interrupt() wakes a live Next() through an eventfd and never
// touches the handle.
#ifndef RUSTNET_DAEMON_CAPTURE_PCAP_SOURCE_H_
#define RUSTNET_DAEMON_CAPTURE_PCAP_SOURCE_H_

#include <pcap/pcap.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/capture/capture_recovery.h"
#include "daemon/capture/packet_source.h"
#include "daemon/capture/pcap_file_map.h"

namespace rustnet {

// Maps a libpcap DLT to a LinkType we decode; nullopt if unsupported.
std::optional<LinkType> LinkTypeFromDlt(int dlt);

struct LiveCaptureOptions {
  std::string interface;        // "any" works.
  std::string bpf;              // Empty: everything.
  int snaplen = 262144;
  // Kernel ring size, per socket (each capture thread of a fan-out has its
  // own). Measured with bench/live_trafgen.sh (trafgen at top speed over a
  // veth, 64/128-byte frames, 2 loaded cores; README, "Live capture:
  // fan-out and the ring"): a 2 MiB ring dropped 1.4 % of a 113 kpps burst
  // with one capture thread, 8 and 32 MiB dropped nothing at up to 185 kpps
  // (the most the sender reached beside rustnetd). 32 MiB holds ~200,000
  // such frames: 0.2 s at 1 Mpps, four times the 50 ms a capture thread
  // waits for a stalled worker before dropping, so a burst during a stall
  // is not lost; it costs address space mapped per capture thread.
  int buffer_bytes = 32 << 20;
  int timeout_ms = 100;
  // How long the kernel holds a partly filled ring block before handing it
  // over (TPACKET_V3): bounds the delay from the wire to the table, which
  // process attribution needs to catch short-lived clients. 10 ms lost
  // nothing more or less than 2 ms in the same benchmark (a busy link
  // fills blocks long before either expires), so the shorter one stays.
  // Immediate mode stays off: it would wake the reader per packet.
  int block_timeout_ms = 2;
  bool promiscuous = false;
  // The PACKET_FANOUT group (hash mode, defragmented) the socket joins
  // after activation, and joins again when reopened; -1: none.
  int fanout_group = -1;
  // Appended to the interface's name in log messages: which capture thread
  // of a fan-out (" (capture thread 2 of 4)"); empty without one.
  std::string thread_label;
};

class PcapSource : public PacketSource {
 public:
  // Each returns an error whose message is one sentence telling the user
  // what to do (permission, unknown interface, bad filter, bad file, ...).
  static absl::StatusOr<std::unique_ptr<PcapSource>> OpenLive(const LiveCaptureOptions& options);
  // --capture-threads: `count` sources on the interface, each its own
  // socket and ring, all in one PACKET_FANOUT group whose id is chosen here
  // (derived from the pid; the next candidate if another program holds
  // it). count <= 1: one source, no group. (Until the last socket has
  // joined, the ones open already see every packet: a packet of the first
  // milliseconds may be counted twice.)
  static absl::StatusOr<std::vector<std::unique_ptr<PcapSource>>> OpenLiveFanout(
      const LiveCaptureOptions& options, size_t count);
  static absl::StatusOr<std::unique_ptr<PcapSource>> OpenFile(const std::string& path,
                                                              const std::string& bpf);
  ~PcapSource() override;

  NextResult Next(RawPacket* out) override;
  LinkType link_type() const override { return link_type_; }
  const std::string& name() const override { return name_; }
  bool live() const override { return live_; }
  uint32_t snaplen() const override { return snaplen_; }
  // A classic pcap file is mapped for the source's life (pcap_file_map.h).
  bool stable_data() const override { return file_map_ != nullptr; }
  void ReleaseBefore(const uint8_t* p) override {
    if (file_map_) file_map_->Release(p);
  }
  CaptureStats Stats() override;
  void Interrupt() override;
  // Live: the PACKET_FANOUT group the socket is in; -1: none.
  int fanout_group() const { return options_.fanout_group; }
  std::string error() const override;

 private:
  PcapSource(pcap_t* handle, LinkType link_type, std::string name, bool live);
  NextResult NextFile(RawPacket* out);
  NextResult NextLive(RawPacket* out);
  // Live, waiting: sleeps until the next attempt (or an interrupt), tries
  // to reopen when due.
  NextResult Wait();
  // Live: takes an activated handle (select_fd_, ifindex_, fresh counters).
  void Attach(pcap_t* handle);
  // Live: the capture failed (`detail`: libpcap's or the socket's error);
  // closes the handle, logs once, starts waiting.
  void Lose(const std::string& detail);
  void TryReopen(int64_t now_us);
  // Live, about once a second: notices a rename, or a removal that the
  // socket did not report.
  void CheckInterface(int64_t now_us);
  void PublishState();
  void SampleStats();
  void PublishFileStats();
  // Fills *out from a libpcap record.
  void Fill(const pcap_pkthdr& header, const u_char* data, RawPacket* out) const;
  // Files read in place (file_map_).
  NextResult NextMapped(RawPacket* out);

  pcap_t* handle_;  // Live: null while waiting.
  LinkType link_type_;
  std::string name_;
  bool live_;
  uint32_t snaplen_ = 0;  // Of the first handle (a reopened one asks for the same).
  std::atomic<bool> interrupted_{false};
  int wake_fd_ = -1;    // eventfd that Interrupt() signals (live only).
  int select_fd_ = -1;  // libpcap's pollable descriptor (live only).
  int timeout_ms_ = 100;
  LiveCaptureOptions options_;  // Live: to open the interface again.
  int ifindex_ = 0;             // Live: what the socket is bound to; 0 for "any".
  std::string current_name_;    // Live: the bound interface's name now.
  CaptureRecovery recovery_;
  int64_t next_check_us_ = 0;   // Monotonic time of the next CheckInterface().
  bool check_due_ = false;      // Set about once a second; checked before a read.
  int64_t waiting_since_us_ = 0;  // Wall clock of the last stop.
  std::atomic<int64_t> last_packet_us_{0};
  uint64_t delivered_ = 0;
  // Files: the BPF filter runs here (pcap_offline_filter) rather than inside
  // libpcap, so records it rejects are still counted as read.
  bpf_program file_filter_ = {};
  bool has_file_filter_ = false;
  static constexpr size_t kFileBufferBytes = 1 << 20;
  std::unique_ptr<char[]> file_buffer_;  // Files: stdio's buffer (see OpenFile).
  std::unique_ptr<PcapFileMap> file_map_;  // Classic pcap files: read in place.
  uint64_t filtered_ = 0;
  int64_t last_sample_us_ = 0;  // Live: packet time of the last SampleStats().
  std::string error_;
  mutable absl::Mutex stats_mu_;
  CaptureStats last_stats_ ABSL_GUARDED_BY(stats_mu_);
  pcap_stat raw_ ABSL_GUARDED_BY(stats_mu_) = {};
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_PCAP_SOURCE_H_
