// The pcap export's writer: frames meet their workers' annotations (in
// time, late, missing, dropped, stale), files rotate by size with at most
// the count kept and each opening with its own headers, an existing file is
// rotated away rather than overwritten, mode 0600, a clear error for a path
// it cannot write; and a replay through the real pipeline exports every
// frame of every fixture, each tracked one commented with its connection.
#include "daemon/export/pcap_export/pcap_exporter.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/capture/pcap_source.h"
#include "daemon/export/pcap_export/pcapng.h"
#include "daemon/pipeline/pipeline.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::string out(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 4; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

struct ParsedPacket {
  uint64_t timestamp_us = 0;
  uint32_t captured = 0;
  uint32_t wire_length = 0;
  std::string data;
  std::string comment;
};

struct ParsedFile {
  std::vector<uint32_t> block_types;
  std::vector<ParsedPacket> packets;
  uint16_t link_type = 0;
  uint32_t snaplen = 0;
};

// A strict reader of what the writer writes: every block's two lengths
// agree, options end with opt_endofopt.
ParsedFile Parse(const std::string& bytes) {
  ParsedFile f;
  size_t at = 0;
  while (at < bytes.size()) {
    REQUIRE(at + 12 <= bytes.size());
    const uint32_t type = Le32(bytes, at);
    const uint32_t total = Le32(bytes, at + 4);
    REQUIRE(total % 4 == 0);
    REQUIRE(at + total <= bytes.size());
    REQUIRE(Le32(bytes, at + total - 4) == total);
    f.block_types.push_back(type);
    if (type == pcapng::kInterfaceDescriptionType) {
      f.link_type = static_cast<uint16_t>(Le32(bytes, at + 8) & 0xffff);
      f.snaplen = Le32(bytes, at + 12);
    } else if (type == pcapng::kEnhancedPacketType) {
      ParsedPacket p;
      p.timestamp_us = (uint64_t{Le32(bytes, at + 12)} << 32) | Le32(bytes, at + 16);
      p.captured = Le32(bytes, at + 20);
      p.wire_length = Le32(bytes, at + 24);
      p.data = bytes.substr(at + 28, p.captured);
      size_t opt = at + 28 + ((p.captured + 3) & ~3u);
      while (opt < at + total - 4) {
        const uint32_t head = Le32(bytes, opt);
        const auto code = static_cast<uint16_t>(head & 0xffff);
        const auto len = static_cast<uint16_t>(head >> 16);
        if (code == 0) break;
        if (code == pcapng::kOptComment) p.comment = bytes.substr(opt + 4, len);
        opt += 4 + ((len + 3u) & ~3u);
      }
      f.packets.push_back(std::move(p));
    }
    at += total;
  }
  return f;
}

std::shared_ptr<const Attribution> ProcessNamed(const std::string& name, uint32_t pid,
                                                int side) {
  auto a = std::make_shared<Attribution>();
  auto p = std::make_shared<ProcessRecord>();
  p->name = name;
  p->pid = pid;
  a->side[side].process = std::move(p);
  a->side[side].method = AttributionMethod::kSocket;
  return a;
}

// Puts frames (seq, worker) with one byte of data each (the seq's low
// byte) into the export, in one batch, then ends it.
void PutFrames(PacketExport* q, const std::vector<std::pair<uint64_t, int32_t>>& frames,
               bool final) {
  FrameBatch* b = q->WaitFrameBatch();
  for (const auto& [seq, worker] : frames) {
    const uint8_t byte = static_cast<uint8_t>(seq);
    b->Add(static_cast<int64_t>(seq) * 1000, seq, 60, std::span<const uint8_t>(&byte, 1), worker);
  }
  b->final = final;
  q->PutFrameBatch(b);
}

PacketAnnotation Note(uint64_t seq, uint64_t id,
                      std::shared_ptr<const Attribution> attribution = nullptr,
                      uint8_t local = 0) {
  return PacketAnnotation{seq, id, std::move(attribution), local};
}

TEST_CASE("pcap export joins frames to their workers' annotations") {
  const testing::TempDir tmp("rn_pcap_export");
  const std::string& dir = tmp.path();
  PacketExport::Options qo;
  qo.workers = 2;
  PacketExport q(qo);
  PcapExportOptions o;
  o.path = dir + "/out.pcapng";
  o.link_type = 1;
  o.snaplen = 65535;
  o.annotation_wait = absl::Milliseconds(200);
  // Worker 0's notes are there before the writer starts; 3 is stale (its
  // frame was dropped from the export), 6 is missing though the watermark
  // covers it.
  std::vector<PacketAnnotation> w0 = {Note(1, 10), Note(3, 99),
                                      Note(4, 11, ProcessNamed("curl", 42, 1), 1)};
  q.Annotate(0, &w0, 6);
  CHECK(w0.empty());
  std::vector<PacketAnnotation> w1 = {Note(2, 20, ProcessNamed("srv", 7, 1), 0)};
  q.Annotate(1, &w1, 2);
  auto writer = PcapExporter::Open(o, &q);
  REQUIRE(writer.ok());
  // Frames: 1 (w0), 2 (w1), 3 dropped, 4 (w0), 5 (w1: note comes late),
  // 6 (w0: none), 7 (not IP: no worker), 8 (w1: never noted; times out).
  PutFrames(&q, {{1, 0}, {2, 1}, {4, 0}, {5, 1}, {6, 0}, {7, -1}, {8, 1}}, true);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<PacketAnnotation> late = {Note(5, 21, ProcessNamed("curl", 42, 0), 0)};
  q.Annotate(1, &late, 5);
  (*writer)->Finish();

  const ParsedFile f = Parse(ReadFile(o.path));
  REQUIRE(f.packets.size() == 7);
  CHECK(f.block_types[0] == pcapng::kSectionHeaderType);
  CHECK(f.block_types[1] == pcapng::kInterfaceDescriptionType);
  CHECK(f.link_type == 1);
  CHECK(f.snaplen == 65535);
  CHECK(f.packets[0].comment == "rustnet: connection 10");
  // Worker 1's side 1 is the remote end here (local = 0).
  CHECK(f.packets[1].comment == "rustnet: connection 20; remote process srv (pid 7)");
  CHECK(f.packets[2].comment == "rustnet: connection 11; process curl (pid 42)");
  CHECK(f.packets[3].comment == "rustnet: connection 21; process curl (pid 42)");
  CHECK(f.packets[4].comment.empty());
  CHECK(f.packets[5].comment.empty());
  CHECK(f.packets[6].comment.empty());
  for (size_t i = 0; i < f.packets.size(); ++i) {
    CHECK(f.packets[i].captured == 1);
    CHECK(f.packets[i].wire_length == 60);
    CHECK(f.packets[i].timestamp_us == static_cast<uint8_t>(f.packets[i].data[0]) * 1000ULL);
  }
  const PcapExportStats st = (*writer)->stats();
  CHECK(st.written == 7);
  CHECK(st.unannotated == 2);  // 6 (processed, note lost) and 8 (timed out).
  CHECK(st.dropped == 0);
  CHECK(st.bytes == ReadFile(o.path).size());
  CHECK(st.healthy);
}

TEST_CASE("pcap export annotations dropped when the worker's queue is full") {
  PacketExport::Options qo;
  qo.workers = 1;
  qo.annotation_batches = 2;
  PacketExport q(qo);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    std::vector<PacketAnnotation> notes = {Note(seq, seq)};
    q.Annotate(0, &notes, seq);
    CHECK(notes.empty());
  }
  CHECK(q.annotations_dropped() == 1);  // The third: nobody took the first two.
  CHECK(q.watermark(0) == 3);           // Published anyway.
  // Frames: no batch free means dropped, counted by the caller.
  std::vector<FrameBatch*> taken;
  while (FrameBatch* b = q.TakeFrameBatch()) taken.push_back(b);
  CHECK(taken.size() == 32);
  CHECK(q.TakeFrameBatch() == nullptr);
  q.CountDropped(5);
  CHECK(q.dropped() == 5);
}

TEST_CASE("pcap export rotates by size and keeps the count") {
  const testing::TempDir tmp("rn_pcap_export");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/cap.pcapng";
  // A file there already is kept (rotated), not overwritten.
  { std::ofstream(path) << "older capture"; }
  PacketExport::Options qo;
  PacketExport q(qo);
  PcapExportOptions o;
  o.path = path;
  o.max_file_bytes = 1024;
  o.max_files = 3;
  auto writer = PcapExporter::Open(o, &q);
  REQUIRE(writer.ok());
  CHECK(ReadFile(path + ".1") == "older capture");
  // 40 frames of 200 bytes: 232 bytes per block, 3 per file after headers.
  constexpr uint64_t kFrames = 40;
  FrameBatch* b = q.WaitFrameBatch();
  for (uint64_t seq = 1; seq <= kFrames; ++seq) {
    std::vector<uint8_t> data(200, static_cast<uint8_t>(seq));
    b->Add(static_cast<int64_t>(seq), seq, 200, data, -1);
  }
  b->final = true;
  q.PutFrameBatch(b);
  (*writer)->Finish();

  CHECK(PcapExporter::FileName(path, 0) == path);
  CHECK(PcapExporter::FileName(path, 2) == path + ".2");
  CHECK_FALSE(std::filesystem::exists(path + ".3"));
  // Newest first: path, path.1, path.2; their frames run on without a gap
  // up to the last one.
  std::vector<uint64_t> seqs;
  for (size_t n = 3; n-- > 0;) {
    const std::string name = PcapExporter::FileName(path, n);
    const std::string bytes = ReadFile(name);
    INFO(name);
    CHECK(bytes.size() <= 1024);
    const ParsedFile f = Parse(bytes);
    REQUIRE(f.block_types.size() >= 3);
    CHECK(f.block_types[0] == pcapng::kSectionHeaderType);
    CHECK(f.block_types[1] == pcapng::kInterfaceDescriptionType);
    for (const ParsedPacket& p : f.packets) seqs.push_back(p.timestamp_us);
    struct stat st {};
    REQUIRE(stat(name.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  REQUIRE(!seqs.empty());
  CHECK(seqs.back() == kFrames);
  for (size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] == seqs[i - 1] + 1);
  const PcapExportStats st = (*writer)->stats();
  CHECK(st.written == kFrames);
  // Every file after the first is a rotation; each held the same number.
  const uint64_t per_file = seqs.size() / 3;
  CHECK(per_file >= 1);
  CHECK(st.rotations == (kFrames + per_file - 1) / per_file - 1);
}

TEST_CASE("pcap export says which file it cannot write") {
  PacketExport::Options qo;
  PacketExport q(qo);
  PcapExportOptions o;
  o.path = "/nonexistent/dir/out.pcapng";
  auto writer = PcapExporter::Open(o, &q);
  REQUIRE_FALSE(writer.ok());
  const std::string message(writer.status().message());
  CHECK(message.find("/nonexistent/dir/out.pcapng") != std::string::npos);
  CHECK(message.find("No such file or directory") != std::string::npos);
  CHECK(message.find("check that its directory exists") != std::string::npos);
}

TEST_CASE("pcap export to a device: written as it is, never renamed") {
  const testing::TempDir tmp("rn_pcap_export");
  const std::string& dir = tmp.path();
  const std::string link = dir + "/null";
  std::filesystem::create_symlink("/dev/null", link);
  PacketExport::Options qo;
  PacketExport q(qo);
  PcapExportOptions o;
  o.path = link;
  o.max_file_bytes = 1024;
  auto writer = PcapExporter::Open(o, &q);
  REQUIRE(writer.ok());
  FrameBatch* b = q.WaitFrameBatch();
  std::vector<uint8_t> data(600, 1);
  for (uint64_t seq = 1; seq <= 10; ++seq) b->Add(1, seq, 600, data, -1);
  b->final = true;
  q.PutFrameBatch(b);
  (*writer)->Finish();
  CHECK((*writer)->stats().written == 10);
  CHECK((*writer)->stats().rotations == 0);
  CHECK(std::filesystem::is_symlink(link));
  CHECK_FALSE(std::filesystem::exists(link + ".1"));
  CHECK(std::filesystem::is_character_file("/dev/null"));
  // A device that is full: the headers cannot be written.
  const std::string full = dir + "/full";
  std::filesystem::create_symlink("/dev/full", full);
  PacketExport q2(qo);
  o.path = full;
  auto failed = PcapExporter::Open(o, &q2);
  REQUIRE_FALSE(failed.ok());
  CHECK(std::string(failed.status().message()).find("No space left on device") !=
        std::string::npos);
}

TEST_CASE("pcap export survives a failed write: cut back, counted, writing again") {
  const testing::TempDir tmp("rn_pcap_export");
  const std::string& dir = tmp.path();
  PacketExport::Options qo;
  PacketExport q(qo);
  PcapExportOptions o;
  o.path = dir + "/limited.pcapng";
  o.retry_every = absl::Milliseconds(1);
  auto writer = PcapExporter::Open(o, &q);
  REQUIRE(writer.ok());
  const uint64_t header_bytes = std::filesystem::file_size(o.path);
  // The file may not grow past 4 KiB (EFBIG instead of SIGXFSZ): a full disk.
  struct sigaction ignore {};
  struct sigaction old_action {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(sigaction(SIGXFSZ, &ignore, &old_action) == 0);
  rlimit old_limit{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 4096;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  std::vector<uint8_t> data(500, 7);
  FrameBatch* b = q.WaitFrameBatch();
  for (uint64_t seq = 1; seq <= 20; ++seq) b->Add(1, seq, 500, data, -1);  // ~10 KB.
  q.PutFrameBatch(b);
  for (int i = 0; i < 10'000 && (*writer)->stats().write_errors == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const PcapExportStats failed = (*writer)->stats();
  REQUIRE(setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  REQUIRE(sigaction(SIGXFSZ, &old_action, nullptr) == 0);
  CHECK(failed.write_errors == 20);
  CHECK_FALSE(failed.healthy);
  CHECK(failed.last_error.find("File too large") != std::string::npos);
  CHECK(std::filesystem::file_size(o.path) == header_bytes);  // Cut back.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // Past retry_every.
  b = q.WaitFrameBatch();
  for (uint64_t seq = 21; seq <= 25; ++seq) b->Add(static_cast<int64_t>(seq), seq, 500, data, -1);
  b->final = true;
  q.PutFrameBatch(b);
  (*writer)->Finish();
  const PcapExportStats st = (*writer)->stats();
  CHECK(st.healthy);
  CHECK(st.written == 5);
  const ParsedFile f = Parse(ReadFile(o.path));
  REQUIRE(f.packets.size() == 5);
  CHECK(f.packets.front().timestamp_us == 21);
}

TEST_CASE("pcap export of a replay has every frame, tracked ones commented") {
  for (const std::string& fixture : testing::FixtureCaptures()) {
    INFO(fixture);
    const testing::TempDir tmp("rn_pcap_export");
    const std::string& dir = tmp.path();
    auto source = PcapSource::OpenFile(fixture, "");
    REQUIRE(source.ok());
    PacketExport::Options qo;
    qo.workers = 2;
    qo.lossless = true;
    qo.frame_batches = 2;  // Small: the capture thread has to wait for the writer.
    PacketExport q(qo);
    PcapExportOptions o;
    o.path = dir + "/replay.pcapng";
    o.link_type = pcapng::LinkTypeNumber((*source)->link_type());
    o.snaplen = (*source)->snaplen();
    o.annotation_wait = absl::Seconds(60);
    auto writer = PcapExporter::Open(o, &q);
    REQUIRE(writer.ok());
    PipelineOptions p;
    p.workers = 2;
    p.batch_size = 4;
    p.publish_snapshots = false;
    p.keep_removed = true;
    p.packet_export = &q;
    Pipeline pipeline(p, std::move(*source));
    pipeline.Start();
    pipeline.Join();
    (*writer)->Finish();
    const PipelineStats ps = pipeline.Stats();
    const ParsedFile f = Parse(ReadFile(o.path));
    CHECK(f.packets.size() == ps.packets);
    std::set<uint64_t> ids;
    pipeline.ForEachConnection([&ids](const Connection& c) { ids.insert(c.id); });
    uint64_t commented = 0;
    for (const ParsedPacket& pk : f.packets) {
      if (pk.comment.empty()) continue;
      ++commented;
      const std::string prefix = "rustnet: connection ";
      REQUIRE(pk.comment.rfind(prefix, 0) == 0);
      CHECK(ids.contains(std::stoull(pk.comment.substr(prefix.size()))));
    }
    CHECK(commented == ps.tracked);
    const PcapExportStats st = (*writer)->stats();
    CHECK(st.written == ps.packets);
    CHECK(st.unannotated == 0);
    CHECK(st.dropped == 0);
  }
}

}  // namespace
}  // namespace rustnet
