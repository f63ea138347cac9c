// SSH: each side opens with "SSH-protoversion-softwareversion SP comments
// CR LF" (RFC 4253 §4.2), at most 255 bytes; the server may send other lines
// before it. Lines are cut by the shared StreamBuffer (stream_buffer.h).
#include "daemon/dpi/ssh.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/stream_buffer.h"

namespace rustnet {
namespace {

constexpr size_t kMaxLine = 255;  // Without CR LF.
constexpr int kMaxPreambleLines = 8;
constexpr uint8_t kPrefix[] = {'S', 'S', 'H', '-'};

// The line without the CRs that end it, as text (controls as '?').
std::string LineText(ByteReader line) {
  auto bytes = line.rest();
  while (!bytes.empty() && bytes.back() == '\r') bytes = bytes.first(bytes.size() - 1);
  std::string out;
  out.reserve(bytes.size());
  for (uint8_t c : bytes) out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return out;
}

class SshSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    Side& side = from_client ? client_ : server_;
    std::string& out = from_client ? record->ssh->client : record->ssh->server;
    if (!side.done) {
      // kMaxLine + 1: room for the CR.
      const FrameStatus status = ForEachLine(side.buffer, data, kMaxLine + 1, [&](ByteReader line) {
        std::string text = LineText(line);
        if (text.size() > kMaxLine) {
          CountAnomaly(anomalies, ssh_anomaly::kIdentificationTooLong);
          side.failed = true;
          return false;
        }
        ByteReader start = line;
        auto prefix = start.Bytes(sizeof(kPrefix));
        if (prefix && std::equal(prefix->begin(), prefix->end(), std::begin(kPrefix))) {
          out = std::move(text);
          record->protocol = AppProtocol::kSsh;
          return false;
        }
        // Only the server may send other lines first.
        if (from_client || ++side.lines > kMaxPreambleLines) {
          CountAnomaly(anomalies, ssh_anomaly::kNoIdentification);
          side.failed = true;
          return false;
        }
        return true;
      });
      if (status == FrameStatus::kTooLong) {
        CountAnomaly(anomalies, ssh_anomaly::kIdentificationTooLong);
        side.failed = true;
      }
      if (status != FrameStatus::kNeedMore) {
        side.done = true;
        side.buffer = {};
      }
    }
    if (record->protocol != AppProtocol::kSsh && (client_.failed || server_.failed)) {
      return ParseState::kNotMine;
    }
    if (client_.done && server_.done) return ParseState::kDone;
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override {
    return client_.buffer.MemoryUsage() + server_.buffer.MemoryUsage();
  }

 private:
  struct Side {
    StreamBuffer buffer;  // An unfinished line.
    int lines = 0;
    bool done = false;
    bool failed = false;
  };
  Side client_, server_;
};

class SshDissector final : public Dissector {
 public:
  std::string_view name() const override { return "ssh"; }
  bool Probe(const FlowInfo& flow, bool /*from_client*/,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || data.empty()) return false;
    // As much of "SSH-" as has arrived.
    ByteReader r(data);
    auto start = r.Bytes(std::min(r.remaining(), sizeof(kPrefix)));
    return start && std::equal(start->begin(), start->end(), std::begin(kPrefix));
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 22; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<SshSession>();
  }
};

}  // namespace

std::unique_ptr<Dissector> MakeSshDissector() { return std::make_unique<SshDissector>(); }

}  // namespace rustnet
