#include "daemon/export/json_dump/json_dump_sink.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/snapshot/convert.h"

namespace rustnet {

JsonDumpSink::JsonDumpSink(std::FILE* out, std::string name, size_t threads, size_t block_rows)
    : out_(out),
      name_(std::move(name)),
      threads_(std::max<size_t>(1, threads)),
      block_rows_(std::max<size_t>(1, block_rows)) {}

void JsonDumpSink::OnClosed(std::span<const ClosedConnection> /*closed*/,
                            std::string_view /*interface*/) {}

void JsonDumpSink::OnFinalTable(const FinalTable& table) {
  const std::span<const Connection* const> rows = table.rows;
  // No more threads than blocks, and at least one (std::clamp's bounds
  // would cross for an empty table).
  const size_t threads =
      std::max<size_t>(1, std::min(threads_, (rows.size() + block_rows_ - 1) / block_rows_));
  std::vector<std::string> blocks(threads);
  for (size_t round = 0; round < rows.size(); round += threads * block_rows_) {
    auto format = [&](size_t t) {
      std::string& out = blocks[t];
      out.clear();
      const size_t begin = std::min(rows.size(), round + t * block_rows_);
      const size_t end = std::min(rows.size(), begin + block_rows_);
      for (size_t i = begin; i < end; ++i) {
        AppendJsonLine(*rows[i], table.now_us, table.interface, &out);
        out += '\n';
      }
    };
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(format, t);
    format(0);
    for (std::thread& h : helpers) h.join();
    for (const std::string& out : blocks) {
      if (std::fwrite(out.data(), 1, out.size(), out_) != out.size()) NoteWriteError();
    }
  }
}

void JsonDumpSink::NoteWriteError() {
  if (write_errno_ == 0) write_errno_ = errno != 0 ? errno : EIO;
}

absl::Status JsonDumpSink::Flush() {
  if (std::fflush(out_) != 0) NoteWriteError();
  if (write_errno_ == 0) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cannot write the JSON dump to ", name_, ": ", std::strerror(write_errno_),
                   "; check that there is room and that the reader is still there"));
}

}  // namespace rustnet
