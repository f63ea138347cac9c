// PcapFileMap: a classic pcap file's records, read in place through mmap.
//
// libpcap reads a file through stdio: the kernel copies each block into
// stdio's buffer and libpcap copies each record out of it into its own,
// two copies of every byte (~14 % of a replay's CPU samples, all on the
// capture thread). Mapped, a record is used where it lies; the kernel
// maps the file's pages in as they are first touched (with read-ahead:
// MADV_SEQUENTIAL).
//
// Only the classic format with its standard magics (either byte order,
// micro- or nanosecond timestamps) is mapped; pcapng and the rare
// variants (Kuznetsov's "modified" pcap) stay with libpcap, as does a file
// mmap refuses. Records are checked as libpcap checks them, with its
// messages: a truncated header or body ends the file with an error after
// the records before it; a captured length beyond the link type's maximum
// is an error; one beyond the file's snapshot length is cut to it.
//
// Every byte is hostile: every length is checked against what is left of
// the mapping before it is used.
//
// A file that shrinks while mapped (`: > file`, logrotate's copytruncate,
// tcpdump -w restarted on the same path) or whose pages cannot be read (an
// I/O error) would raise SIGBUS on the first touch of a page past its new
// end — in the reader or in a worker reading a frame in place. A SIGBUS
// handler (installed at the first Open, chained to any other) maps zeros
// over the rest of such a mapping and marks it; reads there see zeros and
// Next() then ends the file with an error saying so. Faults at other
// addresses go to the previous handler (by default: the process dies, as
// it would have).
//
// Thread-safety: one reader thread. A record's bytes stay valid while the
// map lives (zeros if the file shrank under them).
#ifndef RUSTNET_DAEMON_CAPTURE_PCAP_FILE_MAP_H_
#define RUSTNET_DAEMON_CAPTURE_PCAP_FILE_MAP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rustnet {

class PcapFileMap {
 public:
  static constexpr size_t kFileHeaderBytes = 24;
  static constexpr size_t kRecordHeaderBytes = 16;

  struct Record {
    int64_t ts_sec = 0;
    int64_t ts_usec = 0;  // Microseconds (nanosecond files: divided by 1,000).
    uint32_t caplen = 0;  // Bytes at `data`.
    uint32_t len = 0;     // Length on the wire, as the file says.
    const uint8_t* data = nullptr;
  };
  enum class Result : uint8_t { kRecord, kEnd, kError };

  // libpcap's largest snapshot length (MAXIMUM_SNAPLEN): the most a record
  // of the link types rustnetd decodes may hold.
  static constexpr uint32_t kMaxCaplen = 262144;

  // Maps `path` if it is a classic pcap file with a standard magic; null if
  // not (or if it cannot be mapped): read it with libpcap then.
  static std::unique_ptr<PcapFileMap> Open(const std::string& path);
  // The same for an open file (not closed; the mapping keeps the file).
  static std::unique_ptr<PcapFileMap> Open(int fd);
  // `snaplen`: the file's snapshot length as libpcap took it from the
  // header (pcap_snapshot); `max_caplen`: the most a record may hold.
  // Both kMaxCaplen until set.
  void SetLimits(uint32_t snaplen, uint32_t max_caplen) {
    snaplen_ = snaplen;
    max_caplen_ = max_caplen;
  }
  ~PcapFileMap();
  PcapFileMap(const PcapFileMap&) = delete;
  PcapFileMap& operator=(const PcapFileMap&) = delete;

  // The next record; kEnd at the file's end; kError (see error()) for a
  // record that cannot be read, after which it stays at kError.
  Result Next(Record* out);
  const std::string& error() const { return error_; }
  // True once a read of the mapping faulted (the file shrank or could not
  // be read): the rest of the mapping reads as zeros.
  bool faulted() const;
  // Gives back the mapped pages wholly below `p` (a pointer into the map,
  // at or before the current record): nothing there is read again. The
  // pages stay in the page cache; only this process's resident set drops
  // (a replay's mapped file would otherwise count in full). Reading a
  // released page again would fault it back in from the file, unchanged.
  void Release(const uint8_t* p);

 private:
  PcapFileMap(const uint8_t* base, size_t size, bool swapped, bool nanos);
  uint32_t U32(size_t offset) const;

  const uint8_t* base_;
  size_t size_;
  size_t offset_ = kFileHeaderBytes;
  bool swapped_;
  bool nanos_;
  uint32_t snaplen_ = kMaxCaplen;
  uint32_t max_caplen_ = kMaxCaplen;
  std::string error_;
  size_t released_ = 0;  // Bytes from the start given back (page multiple).
  int guard_slot_ = -1;   // In the SIGBUS handler's table; -1: not guarded.
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_PCAP_FILE_MAP_H_
