// Direct JSON for rustnet.v1.Connection: the text protobuf's JSON printer
// (util::MessageToJsonString with default options, as `--dump json` used)
// produces, byte for byte, without its serialize / type-resolver / re-parse
// round trip (~25 µs a row; this is well under 1 µs).
//
// The mapping (proto3 canonical JSON, protobuf 3.21's printer):
//  - lowerCamelCase names (json_name), fields in field-number order;
//  - fields equal to their default are left out (0, "", false, empty lists,
//    0.0 — but -0.0 is printed, as protobuf compares bit patterns); a set
//    submessage is printed even when empty ("tcp":{});
//  - uint64 as decimal strings, uint32 as numbers, enums by name (an
//    unknown number as the number), doubles as printf("%.15g") or "%.17g"
//    when 15 digits do not round-trip, NaN and infinities as the strings
//    "NaN", "Infinity", "-Infinity";
//  - Timestamp "1970-01-01T00:00:00Z" and Duration "1.5s", with 0, 3, 6 or
//    9 fraction digits.
// tests/daemon/snapshot/json_writer_test.cc checks all of it against the
// protobuf printer (the oracle) on every fixture and on hand-built cases.
//
// Thread-safety: stateless; safe from any thread.
#ifndef RUSTNET_DAEMON_SNAPSHOT_JSON_WRITER_H_
#define RUSTNET_DAEMON_SNAPSHOT_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/descriptor.h"
#include "rustnet/v1/connection.pb.h"

namespace rustnet {

// Appends `value` as a JSON string literal, quotes included, escaped as
// protobuf's printer escapes (RFC 8259 plus extras against script
// injection):
//  - '"' and '\\' get a backslash; \b \t \n \f \r their short forms; other
//    C0 controls, DEL, the C1 controls U+0080..U+009F, '<', '>', and the
//    invisible / format characters protobuf lists (U+00AD, U+0600..U+0603,
//    U+06DD, U+070F, U+17B4, U+17B5, U+200B..U+200F, U+2028..U+202E,
//    U+2060..U+2064, U+206A..U+206F, U+FEFF, U+FFF9..U+FFFB, and as
//    surrogate pairs U+1D173..U+1D17A, U+E0001, U+E0020..U+E007F) become
//    \uXXXX (lowercase hex);
//  - everything else valid is copied as is (UTF-8 passes through);
//  - invalid UTF-8 is dropped as protobuf drops it: a stray continuation
//    byte or a 0xF8..0xFF byte alone; a lead byte together with the
//    continuation bytes read after it, including the first byte that is not
//    one; a sequence cut off by the end; a sequence encoding a surrogate or
//    a value past U+10FFFF. Unlike protobuf, overlong encodings (0xC0 0xAF
//    for '/') are dropped too: protobuf copies those bytes through, which
//    makes its output invalid UTF-8. So the result is always valid UTF-8
//    and valid JSON.
void AppendJsonString(std::string_view value, std::string* out);

// One JSON object written member by member to a string, the proto3 way: a
// member equal to its field's default is left out (see above). Members come
// out in call order: call them in field-number order, as protobuf prints.
// The object opens on construction and closes ('}') on destruction.
class JsonObjectWriter {
 public:
  // `ok` is cleared when a value is not representable (Timestamp, Duration).
  JsonObjectWriter(std::string* out, bool* ok);
  ~JsonObjectWriter();
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  void String(std::string_view name, std::string_view v);
  template <typename Strings>  // Of std::string.
  void StringList(std::string_view name, const Strings& v) {
    if (v.empty()) return;
    Key(name);
    char sep = '[';
    for (const std::string& s : v) {
      out_->push_back(sep);
      sep = ',';
      AppendJsonString(s, out_);
    }
    out_->push_back(']');
  }
  void Uint32(std::string_view name, uint32_t v);
  void Uint64(std::string_view name, uint64_t v);  // As a decimal string.
  void Bool(std::string_view name, bool v);
  void Double(std::string_view name, double v);
  // By name; a number `type` does not define as the number.
  void Enum(std::string_view name, const google::protobuf::EnumDescriptor* type, int v);
  // google.protobuf.Timestamp / Duration from their seconds and nanos; no
  // default is left out (they are messages: present or absent).
  void Timestamp(std::string_view name, int64_t seconds, int32_t nanos);
  void Duration(std::string_view name, int64_t seconds, int32_t nanos);
  // Opens a member object; it closes when the returned writer goes away.
  JsonObjectWriter Object(std::string_view name);
  // A repeated message: `write(item, writer)` fills each element's object.
  template <typename Items, typename Write>
  void ObjectList(std::string_view name, const Items& items, Write write) {
    if (items.empty()) return;
    Key(name);
    char sep = '[';
    for (const auto& item : items) {
      out_->push_back(sep);
      sep = ',';
      JsonObjectWriter o(out_, ok_);
      write(item, o);
    }
    out_->push_back(']');
  }

 private:
  void Key(std::string_view name);

  std::string* out_;
  bool* ok_;
  bool first_ = true;
};

// Appends `message` as one line of JSON (no newline). Returns false, with
// `out` as it was, where protobuf's printer fails too: a Timestamp outside
// years 1..9999 or with nanos outside [0, 1e9), a Duration beyond
// ±315,576,000,000 s or with nanos outside (-1e9, 1e9) — and, where
// protobuf prints nonsense, a Duration whose seconds and nanos have
// different signs.
bool AppendConnectionJson(const rustnet::v1::Connection& message, std::string* out);

// The members of a ProcessInfo, into `w` (an object opened for it).
void WriteProcessInfoJson(const rustnet::v1::ProcessInfo& p, JsonObjectWriter w);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_JSON_WRITER_H_
