#include "daemon/export/ipfix/flow_encoder.h"

#include <algorithm>
#include <utility>

namespace rustnet::ipfix {
namespace {

constexpr uint16_t kIpfixVersion = 10;
constexpr uint16_t kV9Version = 9;
constexpr size_t kIpfixHeader = 16;  // RFC 7011 §3.1
constexpr size_t kV9Header = 20;     // RFC 3954 §5.1
constexpr size_t kSetHeader = 4;     // Set ID + length (both formats)
constexpr uint16_t kIpfixTemplateSetId = 2;
constexpr uint16_t kV9TemplateFlowSetId = 0;
constexpr uint16_t kVarlen = 65535;  // RFC 7011 §7: field length of a varlen element.
// NetFlow v9's sysUptime origin lies this long before the first message:
// FIRST_SWITCHED of flows that started before the exporter did stays
// positive, and uptime wraps (2^32 ms) only ~48 days later.
constexpr int64_t kV9UptimeHeadroomMs = 86'400'000;

// Element IDs (IANA IPFIX IEs; NetFlow v9 field types share the low ones).
enum Ie : uint16_t {
  kOctetDeltaCount = 1,
  kPacketDeltaCount = 2,
  kProtocolIdentifier = 4,
  kTcpControlBits = 6,
  kSourceTransportPort = 7,
  kSourceIPv4Address = 8,
  kIngressInterface = 10,
  kDestinationTransportPort = 11,
  kDestinationIPv4Address = 12,
  kV9LastSwitched = 21,
  kV9FirstSwitched = 22,
  kSourceIPv6Address = 27,
  kDestinationIPv6Address = 28,
  kSourceMacAddress = 56,
  kIpVersion = 60,
  kFlowEndReason = 136,
  kFlowStartMilliseconds = 152,
  kFlowEndMilliseconds = 153,
};
// Under kRustnetPen (see the header).
enum RustnetIe : uint16_t {
  kApplicationName = 1,
  kHostName = 2,
  kJa4 = 3,
  kProcessName = 4,
  kProcessId = 5,
  kUserName = 6,
  kSystemdUnit = 7,
  kContainerId = 8,
};

struct Field {
  uint16_t id;
  uint16_t length;
  uint32_t pen;  // 0: IANA.
};

void Put8(uint8_t v, std::string* out) { out->push_back(static_cast<char>(v)); }
void Put16(uint16_t v, std::string* out) {
  Put8(static_cast<uint8_t>(v >> 8), out);
  Put8(static_cast<uint8_t>(v), out);
}
void Put32(uint32_t v, std::string* out) {
  Put16(static_cast<uint16_t>(v >> 16), out);
  Put16(static_cast<uint16_t>(v), out);
}
void Put64(uint64_t v, std::string* out) {
  Put32(static_cast<uint32_t>(v >> 32), out);
  Put32(static_cast<uint32_t>(v), out);
}
void Set16At(size_t at, uint16_t v, std::string* out) {
  (*out)[at] = static_cast<char>(v >> 8);
  (*out)[at + 1] = static_cast<char>(v);
}

// The fields of `template_id`, in record order.
std::vector<Field> TemplateFields(Format format, uint16_t template_id) {
  const bool v6 = template_id == kTemplateV6 || template_id == kTemplateBiflowV6;
  const bool biflow = template_id == kTemplateBiflowV4 || template_id == kTemplateBiflowV6;
  std::vector<Field> f;
  if (v6) {
    f.push_back({kSourceIPv6Address, 16, 0});
    f.push_back({kDestinationIPv6Address, 16, 0});
  } else {
    f.push_back({kSourceIPv4Address, 4, 0});
    f.push_back({kDestinationIPv4Address, 4, 0});
  }
  f.push_back({kSourceTransportPort, 2, 0});
  f.push_back({kDestinationTransportPort, 2, 0});
  f.push_back({kProtocolIdentifier, 1, 0});
  f.push_back({kIpVersion, 1, 0});
  f.push_back({kOctetDeltaCount, 8, 0});
  f.push_back({kPacketDeltaCount, 8, 0});
  if (format == Format::kNetflowV9) {
    f.push_back({kV9FirstSwitched, 4, 0});
    f.push_back({kV9LastSwitched, 4, 0});
    f.push_back({kTcpControlBits, 1, 0});
    f.push_back({kIngressInterface, 4, 0});
    f.push_back({kSourceMacAddress, 6, 0});
    return f;
  }
  if (biflow) {
    f.push_back({kOctetDeltaCount, 8, kReversePen});
    f.push_back({kPacketDeltaCount, 8, kReversePen});
  }
  f.push_back({kFlowStartMilliseconds, 8, 0});
  f.push_back({kFlowEndMilliseconds, 8, 0});
  f.push_back({kTcpControlBits, 1, 0});
  if (biflow) f.push_back({kTcpControlBits, 1, kReversePen});
  f.push_back({kFlowEndReason, 1, 0});
  f.push_back({kIngressInterface, 4, 0});
  f.push_back({kSourceMacAddress, 6, 0});
  f.push_back({kApplicationName, kVarlen, kRustnetPen});
  f.push_back({kHostName, kVarlen, kRustnetPen});
  f.push_back({kJa4, kVarlen, kRustnetPen});
  f.push_back({kProcessName, kVarlen, kRustnetPen});
  f.push_back({kProcessId, 4, kRustnetPen});
  f.push_back({kUserName, kVarlen, kRustnetPen});
  f.push_back({kSystemdUnit, kVarlen, kRustnetPen});
  f.push_back({kContainerId, kVarlen, kRustnetPen});
  return f;
}

std::vector<uint16_t> TemplateIds(const EncoderOptions& o) {
  if (o.biflow && o.format == Format::kIpfix) return {kTemplateBiflowV4, kTemplateBiflowV6};
  return {kTemplateV4, kTemplateV6};
}

void PutAddress(const IpAddress& a, bool v6, std::string* out) {
  if (v6) {
    out->append(reinterpret_cast<const char*>(a.bytes.data()), 16);
  } else {
    out->append(reinterpret_cast<const char*>(a.bytes.data()) + 12, 4);
  }
}

uint32_t UptimeMs(int64_t t_ms, int64_t boot_ms) {
  return static_cast<uint32_t>(static_cast<uint64_t>(std::max<int64_t>(0, t_ms - boot_ms)));
}

}  // namespace

void AppendVarlen(std::string_view s, std::string* out) {
  s = s.substr(0, 65535);
  if (s.size() < 255) {
    Put8(static_cast<uint8_t>(s.size()), out);
  } else {
    Put8(255, out);
    Put16(static_cast<uint16_t>(s.size()), out);
  }
  out->append(s);
}

std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  // Back off continuation bytes (10xxxxxx) so no sequence is split.
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

FlowEncoder::FlowEncoder(EncoderOptions options) : options_(std::move(options)) {
  if (options_.format == Format::kNetflowV9) options_.biflow = false;
}

size_t FlowEncoder::HeaderSize() const {
  return options_.format == Format::kIpfix ? kIpfixHeader : kV9Header;
}

void FlowEncoder::AppendTemplateSet(std::string* out) const {
  const size_t start = out->size();
  Put16(options_.format == Format::kIpfix ? kIpfixTemplateSetId : kV9TemplateFlowSetId, out);
  Put16(0, out);
  for (uint16_t id : TemplateIds(options_)) {
    const std::vector<Field> fields = TemplateFields(options_.format, id);
    Put16(id, out);
    Put16(static_cast<uint16_t>(fields.size()), out);
    for (const Field& f : fields) {
      // RFC 7011 §3.2: the enterprise bit, then the PEN after the length.
      Put16(f.pen != 0 ? static_cast<uint16_t>(f.id | 0x8000) : f.id, out);
      Put16(f.length, out);
      if (f.pen != 0) Put32(f.pen, out);
    }
  }
  Set16At(start + 2, static_cast<uint16_t>(out->size() - start), out);
}

void FlowEncoder::AppendRecord(const FlowRecord& r, std::string* out) const {
  const bool v6 = r.ip_version == 6;
  PutAddress(r.src, v6, out);
  PutAddress(r.dst, v6, out);
  Put16(r.src_port, out);
  Put16(r.dst_port, out);
  Put8(r.protocol, out);
  Put8(v6 ? 6 : 4, out);
  Put64(r.octets, out);
  Put64(r.packets, out);
  if (options_.format == Format::kNetflowV9) {
    Put32(UptimeMs(r.start_ms, v9_boot_ms_), out);
    Put32(UptimeMs(r.end_ms, v9_boot_ms_), out);
    Put8(r.tcp_flags, out);
    Put32(r.ingress_interface, out);
    out->append(reinterpret_cast<const char*>(r.src_mac.data()), r.src_mac.size());
    return;
  }
  if (options_.biflow) {
    Put64(r.reverse_octets, out);
    Put64(r.reverse_packets, out);
  }
  Put64(static_cast<uint64_t>(std::max<int64_t>(0, r.start_ms)), out);
  Put64(static_cast<uint64_t>(std::max<int64_t>(0, r.end_ms)), out);
  Put8(r.tcp_flags, out);
  if (options_.biflow) Put8(r.reverse_tcp_flags, out);
  Put8(static_cast<uint8_t>(r.end_reason), out);
  Put32(r.ingress_interface, out);
  out->append(reinterpret_cast<const char*>(r.src_mac.data()), r.src_mac.size());
  AppendVarlen(CutUtf8(r.application, kMaxString), out);
  AppendVarlen(CutUtf8(r.host_name, kMaxHostName), out);
  AppendVarlen(CutUtf8(r.ja4, kMaxString), out);
  AppendVarlen(CutUtf8(r.process_name, kMaxString), out);
  Put32(r.pid, out);
  AppendVarlen(CutUtf8(r.user_name, kMaxString), out);
  AppendVarlen(CutUtf8(r.systemd_unit, kMaxString), out);
  AppendVarlen(CutUtf8(r.container_id, kMaxString), out);
}

void FlowEncoder::StartMessage(int64_t export_ms, std::string* out) {
  const int64_t ms = std::max<int64_t>(0, export_ms);
  const uint32_t secs = static_cast<uint32_t>(ms / 1000);
  if (options_.format == Format::kIpfix) {
    Put16(kIpfixVersion, out);
    Put16(0, out);  // Length: FinishMessage.
    Put32(secs, out);
    Put32(sequence_, out);
    Put32(options_.observation_domain, out);
    return;
  }
  if (v9_boot_ms_ < 0) v9_boot_ms_ = std::max<int64_t>(0, ms - kV9UptimeHeadroomMs);
  Put16(kV9Version, out);
  Put16(0, out);  // Count: FinishMessage.
  // Collectors take the flows' absolute times as unix_secs * 1000 -
  // sysUptime + FIRST_SWITCHED: sysUptime is counted from whole seconds
  // so that comes out at v9_boot_ms_ exactly.
  Put32(UptimeMs(static_cast<int64_t>(secs) * 1000, v9_boot_ms_), out);
  Put32(secs, out);
  Put32(sequence_, out);
  Put32(options_.observation_domain, out);
}

void FlowEncoder::FinishMessage(uint32_t data_records, uint32_t v9_count, std::string* out) {
  if (options_.format == Format::kIpfix) {
    Set16At(2, static_cast<uint16_t>(out->size()), out);
    sequence_ += data_records;  // RFC 7011 §3.1: data records, modulo 2^32.
  } else {
    Set16At(2, static_cast<uint16_t>(v9_count), out);
    sequence_ += 1;  // RFC 3954 §5.1: export packets.
  }
}

std::string FlowEncoder::TemplateMessage(int64_t export_ms) {
  std::string out;
  StartMessage(export_ms, &out);
  AppendTemplateSet(&out);
  FinishMessage(0, static_cast<uint32_t>(TemplateIds(options_).size()), &out);
  return out;
}

void FlowEncoder::Encode(std::span<const FlowRecord> records, bool with_templates,
                         int64_t export_ms, std::vector<Message>* out) {
  const bool v9 = options_.format == Format::kNetflowV9;
  const uint32_t template_count = static_cast<uint32_t>(TemplateIds(options_).size());
  std::string msg;
  std::string rec;
  uint32_t in_msg = 0;       // Data records in msg.
  uint32_t v9_count = 0;     // v9: records of any kind in msg.
  size_t set_start = 0;      // Where the open data set starts; 0: none open.
  uint16_t set_id = 0;
  auto close_set = [&] {
    if (set_start == 0) return;
    if (v9) {
      while ((msg.size() - set_start) % 4 != 0) Put8(0, &msg);  // RFC 3954 §5.3 padding.
    }
    Set16At(set_start + 2, static_cast<uint16_t>(msg.size() - set_start), &msg);
    set_start = 0;
  };
  auto start = [&](bool templates) {
    msg.clear();
    in_msg = 0;
    v9_count = 0;
    StartMessage(export_ms, &msg);
    if (templates) {
      AppendTemplateSet(&msg);
      v9_count += template_count;
    }
  };
  auto finish = [&] {
    close_set();
    FinishMessage(in_msg, v9_count, &msg);
    out->push_back(Message{std::move(msg), in_msg});
    msg.clear();
  };
  start(with_templates);
  bool empty_message = !with_templates;
  for (const FlowRecord& r : records) {
    const bool v6 = r.ip_version == 6;
    const uint16_t id = options_.biflow ? (v6 ? kTemplateBiflowV6 : kTemplateBiflowV4)
                                        : (v6 ? kTemplateV6 : kTemplateV4);
    rec.clear();
    AppendRecord(r, &rec);
    const bool new_set = set_start == 0 || set_id != id;
    // Room for the record, a new set's header, and v9's padding.
    const size_t need = rec.size() + (new_set ? kSetHeader : 0) + (v9 ? 3 : 0);
    if (!empty_message && msg.size() + need > options_.max_message) {
      finish();
      start(false);
    }
    if (set_start == 0 || set_id != id) {
      close_set();
      set_start = msg.size();
      set_id = id;
      Put16(id, &msg);
      Put16(0, &msg);
    }
    msg.append(rec);
    ++in_msg;
    ++v9_count;
    empty_message = false;
  }
  if (!empty_message) finish();
}

}  // namespace rustnet::ipfix
