// PcapSource: a PacketSource over libpcap, for live interfaces and for pcap
// / pcapng files.
//
// Live capture uses libpcap's TPACKET_V3 ring (immediate mode off, a large
// buffer, a short read timeout so the pipeline's clock keeps moving when
// the link is idle).
//
// Thread-safety: see PacketSource. Stats() takes a lock shared with Next().
#ifndef RUSTNET_DAEMON_CAPTURE_PCAP_SOURCE_H_
#define RUSTNET_DAEMON_CAPTURE_PCAP_SOURCE_H_

#include <pcap/pcap.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/capture/packet_source.h"

namespace rustnet {

// Maps a libpcap DLT to a LinkType we decode; nullopt if unsupported.
std::optional<LinkType> LinkTypeFromDlt(int dlt);

struct LiveCaptureOptions {
  std::string interface;        // "any" works.
  std::string bpf;              // Empty: everything.
  int snaplen = 262144;
  int buffer_bytes = 32 << 20;  // Kernel ring size.
  int timeout_ms = 100;
  // How long the kernel holds a partly filled ring block before handing it
  // over (TPACKET_V3): bounds the delay from the wire to the table, which
  // process attribution needs to catch short-lived clients.
  int block_timeout_ms = 2;
  bool promiscuous = false;
};

class PcapSource : public PacketSource {
 public:
  // Each returns an error whose message is one sentence telling the user
  // what to do (permission, unknown interface, bad filter, bad file, ...).
  static absl::StatusOr<std::unique_ptr<PcapSource>> OpenLive(const LiveCaptureOptions& options);
  static absl::StatusOr<std::unique_ptr<PcapSource>> OpenFile(const std::string& path,
                                                              const std::string& bpf);
  ~PcapSource() override;

  NextResult Next(RawPacket* out) override;
  LinkType link_type() const override { return link_type_; }
  const std::string& name() const override { return name_; }
  bool live() const override { return live_; }
  CaptureStats Stats() override;
  void Interrupt() override;
  std::string error() const override;

 private:
  PcapSource(pcap_t* handle, LinkType link_type, std::string name, bool live);
  void SampleStats();
  void PublishFileStats();
  // Fills *out from a libpcap record.
  void Fill(const pcap_pkthdr& header, const u_char* data, RawPacket* out) const;

  pcap_t* handle_;
  LinkType link_type_;
  std::string name_;
  bool live_;
  std::atomic<bool> interrupted_{false};
  int wake_fd_ = -1;    // eventfd that Interrupt() signals (live only).
  int select_fd_ = -1;  // libpcap's pollable descriptor (live only).
  int timeout_ms_ = 100;
  uint64_t delivered_ = 0;
  // Files: the BPF filter runs here (pcap_offline_filter) rather than inside
  // libpcap, so records it rejects are still counted as read.
  bpf_program file_filter_ = {};
  bool has_file_filter_ = false;
  uint64_t filtered_ = 0;
  int64_t last_sample_us_ = 0;  // Live: packet time of the last SampleStats().
  std::string error_;
  mutable absl::Mutex stats_mu_;
  CaptureStats last_stats_ ABSL_GUARDED_BY(stats_mu_);
  pcap_stat raw_ ABSL_GUARDED_BY(stats_mu_) = {};
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_PCAP_SOURCE_H_
