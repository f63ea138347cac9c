// The shared per-direction buffer and its two cutters: frames whole, split
// anywhere, over the limit, malformed; lines likewise.
#include "daemon/dpi/stream_buffer.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;

// Frames of a 2-byte big-endian length (which counts only the body).
std::optional<size_t> LengthPrefixed(ByteReader header) {
  auto len = header.U16();
  if (!len) return std::nullopt;
  return 2 + size_t{*len};
}

Bytes Frame(const std::string& body) {
  Bytes b;
  testing::Put16(b, static_cast<uint16_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

// Feeds `stream` in pieces of at most `piece` bytes; the bodies seen.
std::vector<std::string> Frames(const Bytes& stream, size_t piece, size_t max_frame,
                                FrameStatus* last, StreamBuffer* buf) {
  std::vector<std::string> seen;
  *last = FrameStatus::kNeedMore;
  for (size_t pos = 0; pos < stream.size() && *last == FrameStatus::kNeedMore; pos += piece) {
    const auto chunk = std::span<const uint8_t>(stream).subspan(pos, std::min(piece, stream.size() - pos));
    *last = ForEachFrame(*buf, chunk, 2, max_frame, LengthPrefixed, [&seen](ByteReader frame) {
      REQUIRE(frame.Skip(2));
      seen.emplace_back(frame.rest().begin(), frame.rest().end());
      return true;
    });
  }
  return seen;
}

TEST_CASE("stream_buffer: frames whole, byte by byte and at every piece size",
          "[dpi][stream_buffer]") {
  Bytes stream = Frame("one");
  testing::PutBytes(stream, Frame(""));
  testing::PutBytes(stream, Frame(std::string(300, 'x')));
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    INFO("piece " << piece);
    StreamBuffer buf;
    FrameStatus last;
    const auto seen = Frames(stream, piece, 1024, &last, &buf);
    CHECK(last == FrameStatus::kNeedMore);
    CHECK(seen == std::vector<std::string>{"one", "", std::string(300, 'x')});
    CHECK(buf.empty());
  }
}

TEST_CASE("stream_buffer: a whole frame is not copied; a split one is held until complete",
          "[dpi][stream_buffer]") {
  StreamBuffer buf;
  const Bytes frame = Frame("hello");
  ForEachFrame(buf, frame, 2, 64, LengthPrefixed, [&frame](ByteReader f) {
    CHECK(f.rest().data() == frame.data());  // Straight from the input.
    return true;
  });
  CHECK(buf.MemoryUsage() == 0);
  CHECK(ForEachFrame(buf, std::span<const uint8_t>(frame).first(3), 2, 64, LengthPrefixed,
                     [](ByteReader) { return true; }) == FrameStatus::kNeedMore);
  CHECK(buf.size() == 3);
}

TEST_CASE("stream_buffer: a frame over the limit is refused at its header, not buffered",
          "[dpi][stream_buffer]") {
  StreamBuffer buf;
  const Bytes big = Frame(std::string(100, 'y'));
  FrameStatus last;
  CHECK(Frames(big, 1, 50, &last, &buf).empty());
  CHECK(last == FrameStatus::kTooLong);
  CHECK(buf.size() == 2);  // Only the header was held.
  StreamBuffer whole;
  CHECK(Frames(big, big.size(), 50, &last, &whole).empty());
  CHECK(last == FrameStatus::kTooLong);
  CHECK(whole.empty());
}

TEST_CASE("stream_buffer: a malformed header and a stopping callback end the walk",
          "[dpi][stream_buffer]") {
  StreamBuffer buf;
  const Bytes two = [] {
    Bytes b = Frame("a");
    testing::PutBytes(b, Frame("b"));
    return b;
  }();
  auto refuse = [](ByteReader) -> std::optional<size_t> { return std::nullopt; };
  CHECK(ForEachFrame(buf, two, 2, 64, refuse, [](ByteReader) { return true; }) ==
        FrameStatus::kMalformed);
  // A header claiming less than itself is malformed too (it could not advance).
  auto zero = [](ByteReader) -> std::optional<size_t> { return 0; };
  CHECK(ForEachFrame(buf, two, 2, 64, zero, [](ByteReader) { return true; }) ==
        FrameStatus::kMalformed);
  int frames = 0;
  CHECK(ForEachFrame(buf, two, 2, 64, LengthPrefixed, [&frames](ByteReader) {
          ++frames;
          return false;
        }) == FrameStatus::kStopped);
  CHECK(frames == 1);
}

TEST_CASE("stream_buffer: lines at random splits, and a line over the limit",
          "[dpi][stream_buffer]") {
  const std::string text = "first\r\nsecond\n\nlast";
  std::mt19937 rng(3);
  for (int round = 0; round < 50; ++round) {
    StreamBuffer buf;
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t n = std::min<size_t>(text.size() - pos, 1 + rng() % 5);
      const Bytes chunk(text.begin() + static_cast<ptrdiff_t>(pos),
                        text.begin() + static_cast<ptrdiff_t>(pos + n));
      CHECK(ForEachLine(buf, chunk, 16, [&lines](ByteReader line) {
              lines.emplace_back(line.rest().begin(), line.rest().end());
              return true;
            }) == FrameStatus::kNeedMore);
      pos += n;
    }
    CHECK(lines == std::vector<std::string>{"first\r", "second", ""});
    CHECK(buf.size() == 4);  // "last", waiting for its end.
  }
  StreamBuffer buf;
  const Bytes long_line(40, 'z');
  CHECK(ForEachLine(buf, long_line, 16, [](ByteReader) { return true; }) ==
        FrameStatus::kTooLong);
  StreamBuffer split;
  CHECK(ForEachLine(split, std::span<const uint8_t>(long_line).first(10), 16,
                    [](ByteReader) { return true; }) == FrameStatus::kNeedMore);
  CHECK(ForEachLine(split, std::span<const uint8_t>(long_line).first(10), 16,
                    [](ByteReader) { return true; }) == FrameStatus::kTooLong);
}

}  // namespace
}  // namespace rustnet
