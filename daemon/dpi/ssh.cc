// SSH: each side opens with "SSH-protoversion-softwareversion SP comments
// CR LF" (RFC 4253 §4.2), at most 255 bytes; the server may send other lines
// before it.
#include "daemon/dpi/ssh.h"

#include <algorithm>
#include <string>

#include "common/flow_key.h"

namespace rustnet {
namespace {

constexpr size_t kMaxLine = 255;
constexpr int kMaxPreambleLines = 8;

class SshSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    Side& side = from_client ? client_ : server_;
    std::string& out = from_client ? record->ssh.client : record->ssh.server;
    for (uint8_t c : data) {
      if (side.done) break;
      if (c == '\n') {
        std::string line = side.line;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        side.line.clear();
        if (line.rfind("SSH-", 0) == 0) {
          out = line;
          side.done = true;
          record->protocol = AppProtocol::kSsh;
        } else if (++side.lines > kMaxPreambleLines || from_client) {
          CountAnomaly(anomalies, "ssh_no_identification");
          side.done = true;
          side.failed = true;
        }
        continue;
      }
      if (c == '\r') continue;
      if (side.line.size() >= kMaxLine) {
        CountAnomaly(anomalies, "ssh_identification_too_long");
        side.done = true;
        side.failed = true;
        break;
      }
      side.line.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    if (record->protocol != AppProtocol::kSsh && (client_.failed || server_.failed)) {
      return ParseState::kNotMine;
    }
    if (client_.done && server_.done) return ParseState::kDone;
    return ParseState::kNeedMore;
  }

 private:
  struct Side {
    std::string line;
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
    static constexpr char kPrefix[] = "SSH-";
    const size_t n = std::min<size_t>(data.size(), 4);
    return std::equal(data.begin(), data.begin() + static_cast<ptrdiff_t>(n), kPrefix);
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 22; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<SshSession>();
  }
};

}  // namespace

std::unique_ptr<Dissector> MakeSshDissector() { return std::make_unique<SshDissector>(); }

}  // namespace rustnet
