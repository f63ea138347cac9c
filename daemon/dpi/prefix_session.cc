#include "daemon/dpi/prefix_session.h"

#include <algorithm>
#include <bitset>
#include <optional>

namespace rustnet {
namespace {

class PrefixSession final : public Session {
 public:
  PrefixSession(const PrefixProtocol& p, bool udp) : protocol_(p), udp_(udp) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    PrefixView view;
    view.udp = udp_;
    view.from_client = from_client;
    view.scratch = scratch_;
    if (udp_) {
      (from_client ? view.client : view.server) = data;
      view.client_datagrams = client_datagrams_ += from_client ? 1 : 0;
      view.server_datagrams = server_datagrams_ += from_client ? 0 : 1;
      return protocol_.parse(view, record, anomalies);
    }
    std::vector<uint8_t>& prefix = from_client ? client_ : server_;
    const size_t room = protocol_.max_prefix - std::min(protocol_.max_prefix, prefix.size());
    if (room == 0) return ParseState::kNeedMore;  // This side said all it could.
    const auto take = data.first(std::min(room, data.size()));
    prefix.insert(prefix.end(), take.begin(), take.end());
    view.client = client_;
    view.server = server_;
    const ParseState st = protocol_.parse(view, record, anomalies);
    if (st == ParseState::kNeedMore && client_.size() >= protocol_.max_prefix &&
        server_.size() >= protocol_.max_prefix) {
      return record->protocol == AppProtocol::kUnknown ? ParseState::kNotMine : ParseState::kDone;
    }
    if (st == ParseState::kNeedMore && prefix.size() >= protocol_.max_prefix &&
        record->protocol == AppProtocol::kUnknown) {
      return ParseState::kNotMine;
    }
    return st;
  }
  size_t MemoryUsage() const override { return client_.capacity() + server_.capacity(); }

 private:
  const PrefixProtocol& protocol_;
  bool udp_;
  std::vector<uint8_t> client_, server_;
  uint32_t client_datagrams_ = 0, server_datagrams_ = 0;
  std::array<uint8_t, kPrefixScratchBytes> scratch_{};
};

class PrefixDissector final : public Dissector {
 public:
  explicit PrefixDissector(const PrefixProtocol& p) : protocol_(p) {
    protocol_.max_prefix = std::min(protocol_.max_prefix, kMaxPrefixBytes);
    for (size_t b = 0; b < 256; ++b) {
      const auto byte = static_cast<uint8_t>(b);
      tcp_first_[b] = protocol_.tcp && (!p.may_start || p.may_start(false, byte));
      udp_first_[b] = protocol_.udp && (!p.may_start || p.may_start(true, byte));
    }
  }
  bool MayStartWith(uint8_t transport, uint8_t first_byte) const override {
    if (transport == kIpProtoTcp) return tcp_first_[first_byte];
    if (transport == kIpProtoUdp) return udp_first_[first_byte];
    return false;
  }
  std::string_view name() const override { return protocol_.name; }
  bool Probe(const FlowInfo& flow, bool from_client, std::span<const uint8_t> data) const override {
    const bool udp = flow.transport == kIpProtoUdp;
    if (udp ? !protocol_.udp : (!protocol_.tcp || flow.transport != kIpProtoTcp)) return false;
    return protocol_.probe(udp, from_client, data);
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port != 0 && std::find(protocol_.ports.begin(), protocol_.ports.end(),
                                              flow.server_port) != protocol_.ports.end();
  }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<PrefixSession>(protocol_, flow.transport == kIpProtoUdp);
  }

 private:
  PrefixProtocol protocol_;
  std::bitset<256> tcp_first_, udp_first_;
};

}  // namespace

std::unique_ptr<Dissector> MakePrefixDissector(const PrefixProtocol& protocol) {
  return std::make_unique<PrefixDissector>(protocol);
}

bool StartsWith(std::span<const uint8_t> data, std::string_view text) {
  return data.size() >= text.size() &&
         std::equal(text.begin(), text.end(), data.begin(),
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

bool CouldStartWith(std::span<const uint8_t> data, std::string_view text) {
  const size_t n = std::min(data.size(), text.size());
  return n > 0 && StartsWith(data.first(n), text.substr(0, n));
}

bool StartsWithFolded(std::span<const uint8_t> data, std::string_view text) {
  auto lower = [](uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; };
  return data.size() >= text.size() &&
         std::equal(text.begin(), text.end(), data.begin(),
                    [&](char a, uint8_t b) { return lower(static_cast<uint8_t>(a)) == lower(b); });
}

std::string Printable(std::span<const uint8_t> bytes, size_t max) {
  std::string out;
  const auto kept = bytes.first(std::min(bytes.size(), max));
  out.reserve(kept.size());
  for (uint8_t c : kept) out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return out;
}

std::optional<std::span<const uint8_t>> FirstLine(std::span<const uint8_t> data) {
  ByteReader r(data);
  auto line = r.BytesUntil('\n');
  if (!line) return std::nullopt;
  if (!line->empty() && line->back() == '\r') return line->first(line->size() - 1);
  return line;
}

}  // namespace rustnet
