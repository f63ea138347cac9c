// PostgreSQL, MySQL/MariaDB, Redis, Memcached and MongoDB: each reads the
// first message of the side that speaks first and confirms with the
// other's first bytes where the first message alone could be something
// else.
#include "daemon/dpi/db.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/mail.h"
#include "daemon/dpi/stream_buffer.h"
#include "daemon/dpi/text_lines.h"

namespace rustnet {
namespace {

constexpr size_t kMaxName = 64;

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// A NUL-terminated string at the reader (the NUL consumed); nullopt if no
// NUL remains.
std::optional<std::span<const uint8_t>> CString(ByteReader& r) { return r.BytesUntil(0); }

// --- PostgreSQL ------------------------------------------------------------

constexpr uint32_t kPgProtocol3 = 196608;  // 3.0
constexpr uint32_t kPgSslRequest = 80877103;
constexpr uint32_t kPgGssEncRequest = 80877104;
constexpr uint32_t kPgCancelRequest = 80877102;
constexpr size_t kMaxPgStartup = 10000;  // The server's own limit.

bool PgCodeKnown(uint32_t code) {
  return code == kPgProtocol3 || code == kPgSslRequest || code == kPgGssEncRequest ||
         code == kPgCancelRequest || (code >> 16) == 3 || (code >> 16) == 2;
}

class PostgresqlSession final : public Session {
 public:
  explicit PostgresqlSession(const FlowInfo& flow) : flow_(flow) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (tls_.started()) {
      return tls_.Feed(from_client, data, AppProtocol::kPostgresql, record, anomalies);
    }
    if (data.empty()) return ParseState::kNeedMore;
    if (!from_client) {
      if (!awaiting_answer_) return mine_ ? ParseState::kDone : ParseState::kNotMine;
      awaiting_answer_ = false;
      if (data[0] == 'S') {
        tls_.Start(flow_);
        return tls_.Feed(false, data.subspan(1), AppProtocol::kPostgresql, record, anomalies);
      }
      // 'N' (no TLS; a startup message follows) or 'G'/'E': nothing more to wait for but
      // the startup message.
      return data[0] == 'N' ? ParseState::kNeedMore : ParseState::kDone;
    }
    bool failed = false;
    bool done = false;
    const FrameStatus st = ForEachFrame(
        buffer_, data, 4, kMaxPgStartup,
        [](ByteReader h) -> std::optional<size_t> {
          auto len = h.U32();
          if (!len || *len < 8) return std::nullopt;
          return *len;
        },
        [&](ByteReader frame) {
          frame.Skip(4);
          const auto code = frame.U32();
          if (!code || !PgCodeKnown(*code)) {
            failed = true;
            return false;
          }
          mine_ = true;
          record->protocol = AppProtocol::kPostgresql;
          if (*code == kPgSslRequest || *code == kPgGssEncRequest) {
            record->db->tls_requested = *code == kPgSslRequest;
            awaiting_answer_ = true;
            return false;
          }
          if (*code == kPgCancelRequest) {
            done = true;
            return false;
          }
          // Startup: name/value pairs of C strings, ended by an empty name.
          while (true) {
            auto key = CString(frame);
            if (key && key->empty()) break;  // The list's end.
            auto value = key ? CString(frame) : std::nullopt;
            if (!value) {
              CountAnomaly(anomalies, db_anomaly::kPgStartupMalformed);
              break;
            }
            const std::string_view k(reinterpret_cast<const char*>(key->data()), key->size());
            if (k == "user") record->db->user = PrintableText(*value, kMaxName);
            if (k == "database") record->db->database = PrintableText(*value, kMaxName);
          }
          done = true;
          return false;
        });
    if (st == FrameStatus::kMalformed || failed) {
      return mine_ ? ParseState::kDone : ParseState::kNotMine;
    }
    if (st == FrameStatus::kTooLong) {
      CountAnomaly(anomalies, db_anomaly::kPgMessageTooLong);
      return mine_ ? ParseState::kDone : ParseState::kNotMine;
    }
    if (st == FrameStatus::kStopped) buffer_ = {};
    return done ? ParseState::kDone : ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return buffer_.MemoryUsage() + tls_.MemoryUsage(); }

 private:
  FlowInfo flow_;
  StreamBuffer buffer_;
  TlsUpgrade tls_;
  bool mine_ = false;
  bool awaiting_answer_ = false;
};

class PostgresqlDissector final : public Dissector {
 public:
  std::string_view name() const override { return "postgresql"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client) return false;
    ByteReader r(data);
    const auto len = r.PeekU32(0);
    const auto code = r.PeekU32(4);
    if (!len) return !data.empty() && data[0] == 0 && PortHint(flow);
    if (*len < 8 || *len > kMaxPgStartup) return false;
    return !code || PgCodeKnown(*code);
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 5432; }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<PostgresqlSession>(flow);
  }
};

// --- MySQL / MariaDB -------------------------------------------------------

constexpr size_t kMaxMysqlGreeting = 1024;

std::optional<size_t> MysqlFrameLength(ByteReader h) {
  auto b = h.Bytes(4);
  if (!b) return std::nullopt;
  return size_t{(*b)[0]} | (size_t{(*b)[1]} << 8) | (size_t{(*b)[2]} << 16);
}

class MysqlSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (from_client) return ParseState::kNotMine;  // The server speaks first.
    bool ok = false;
    const FrameStatus st = ForEachFrame(
        buffer_, data, 4, kMaxMysqlGreeting,
        [](ByteReader h) -> std::optional<size_t> {
          auto n = MysqlFrameLength(h);
          if (!n || *n == 0) return std::nullopt;
          return *n + 4;
        },
        [&](ByteReader frame) {
          frame.Skip(3);
          const auto seq = frame.U8();
          const auto kind = frame.U8();
          if (seq != 0 || !kind) return false;
          if (*kind == 0xff) {
            // An error instead of a greeting ("Host ... is not allowed"):
            // a 2-byte code in MySQL's ranges, then text.
            const auto code = frame.U16Le();
            ok = code && *code >= 1000 && *code < 5000 && IsTextLine(frame.rest());
            return false;
          }
          if (*kind != 10) return false;
          const auto version = CString(frame);
          // Connection id, 8 bytes of scramble, a filler 0.
          if (!version || version->empty() || version->size() > kMaxName ||
              !IsTextLine(*version) || !frame.Skip(12) || frame.U8() != 0) {
            CountAnomaly(anomalies, db_anomaly::kMysqlGreetingMalformed);
            return false;
          }
          record->db->server_version = PrintableText(*version, kMaxName);
          ok = true;
          return false;
        });
    if (ok) {
      record->protocol = AppProtocol::kMysql;
      return ParseState::kDone;
    }
    return st == FrameStatus::kNeedMore ? ParseState::kNeedMore : ParseState::kNotMine;
  }
  size_t MemoryUsage() const override { return buffer_.MemoryUsage(); }

 private:
  StreamBuffer buffer_;
};

class MysqlDissector final : public Dissector {
 public:
  std::string_view name() const override { return "mysql"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || from_client) return false;
    // Length (< kMaxMysqlGreeting: its third byte 0), sequence 0, then 10 or 0xff.
    ByteReader r(data);
    const auto b2 = r.PeekU8(2);
    const auto seq = r.PeekU8(3);
    const auto kind = r.PeekU8(4);
    return (!b2 || *b2 == 0) && (!seq || *seq == 0) && (!kind || *kind == 10 || *kind == 0xff);
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 3306; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<MysqlSession>();
  }
};

// --- Redis (RESP) ----------------------------------------------------------

constexpr size_t kMaxRespLine = 64;

// "*<n>" / "$<n>" with n in 1..max.
bool RespCount(std::span<const uint8_t> line, uint8_t type, uint32_t max) {
  if (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
  if (line.size() < 2 || line[0] != type || line.size() > 9) return false;
  uint32_t v = 0;
  for (size_t i = 1; i < line.size(); ++i) {
    if (!IsDigit(line[i])) return false;
    v = v * 10 + (line[i] - '0');
  }
  return v >= 1 && v <= max;
}

bool IsRespReplyType(uint8_t c) {
  return c == '+' || c == '-' || c == ':' || c == '$' || c == '*' || c == '_' || c == '%' ||
         c == '~' || c == '>' || c == ',' || c == '#' || c == '!' || c == '=' || c == '(' ||
         c == '|';
}

class RedisSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (data.empty()) return ParseState::kNeedMore;
    if (!from_client) {
      // The reply's type byte confirms a command that was read.
      if (!command_read_ || !IsRespReplyType(data[0])) return ParseState::kNotMine;
      record->protocol = AppProtocol::kRedis;
      return ParseState::kDone;
    }
    if (command_read_) return ParseState::kNeedMore;
    bool bad = false;
    const LineResult r = SplitLines(buffer_, data, kMaxRespLine, [&](std::span<const uint8_t> l) {
      switch (lines_++) {
        case 0:
          bad = !RespCount(l, '*', 1 << 20);
          return !bad;
        case 1:
          bad = !RespCount(l, '$', 64);
          return !bad;
        default: {
          const WordAndRest w = FirstWord(l);
          bad = w.word.empty() || !w.rest.empty() ||
                !(l[0] >= 'A' && l[0] <= 'z' && (l[0] <= 'Z' || l[0] >= 'a'));
          if (!bad) {
            record->db->command = w.word;
            command_read_ = true;
          }
          return false;  // The arguments (AUTH's password among them) are not read.
        }
      }
    });
    if (bad || r.status == FrameStatus::kTooLong) {
      CountAnomaly(anomalies, db_anomaly::kRespMalformed);
      return ParseState::kNotMine;
    }
    if (command_read_) buffer_ = {};
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return buffer_.MemoryUsage(); }

 private:
  StreamBuffer buffer_;
  int lines_ = 0;
  bool command_read_ = false;
};

class RedisDissector final : public Dissector {
 public:
  std::string_view name() const override { return "redis"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client || data.empty() || data[0] != '*') {
      return false;
    }
    return data.size() < 2 || (IsDigit(data[1]) && data[1] != '0');
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 6379; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<RedisSession>();
  }
};

// --- Memcached (text protocol) ---------------------------------------------

constexpr std::string_view kMemcachedCommands[] = {
    "get",  "gets",      "set",   "add",    "replace", "append", "prepend", "cas",
    "delete", "incr",    "decr",  "touch",  "gat",     "gats",   "stats",   "version",
    "flush_all", "verbosity", "quit", "mg", "ms",      "md",     "ma",      "mn", "me"};
constexpr std::string_view kMemcachedReplies[] = {
    "VALUE", "END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED",
    "VERSION", "STAT", "OK", "ERROR", "CLIENT_ERROR", "SERVER_ERROR", "HD", "VA", "EN", "NF",
    "NS", "EX", "MN"};

// The lower-case command word that starts `data`, followed by ' ' or CR LF;
// empty if none. (Memcached's commands are lower case: HTTP's GET is not one.)
std::string_view MemcachedCommand(std::span<const uint8_t> data) {
  for (std::string_view c : kMemcachedCommands) {
    if (data.size() <= c.size() || !std::equal(c.begin(), c.end(), data.begin())) continue;
    const uint8_t next = data[c.size()];
    if (next == ' ' || next == '\r' || next == '\n') return c;
  }
  return {};
}

// Each side's first line (or its first kMaxMemcachedLine bytes) decides.
constexpr size_t kMaxMemcachedLine = 256;

class MemcachedSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies*) override {
    std::string& line = from_client ? client_ : server_;
    bool& complete = from_client ? client_complete_ : server_complete_;
    if (!complete) {
      for (uint8_t c : data) {
        if (line.size() >= kMaxMemcachedLine || c == '\n') {
          complete = true;
          break;
        }
        line.push_back(static_cast<char>(c));
      }
      if (!complete) return ParseState::kNeedMore;
    }
    const auto bytes = [](const std::string& s) {
      return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    if (from_client) {
      if (command_.empty()) {
        std::string probe = client_ + "\n";
        command_ = std::string(MemcachedCommand(bytes(probe)));
        if (command_.empty()) return ParseState::kNotMine;
      }
      return ParseState::kNeedMore;
    }
    if (command_.empty()) return ParseState::kNotMine;
    const WordAndRest w = FirstWord(bytes(server_));
    for (std::string_view reply : kMemcachedReplies) {
      if (w.word == reply) {
        record->protocol = AppProtocol::kMemcached;
        record->db->command = command_;
        return ParseState::kDone;
      }
    }
    return ParseState::kNotMine;
  }
  size_t MemoryUsage() const override { return client_.capacity() + server_.capacity(); }

 private:
  std::string client_, server_;  // Each side's first line.
  bool client_complete_ = false, server_complete_ = false;
  std::string command_;
};

class MemcachedDissector final : public Dissector {
 public:
  std::string_view name() const override { return "memcached"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    return flow.transport == kIpProtoTcp && from_client && !data.empty() && data[0] >= 'a' &&
           data[0] <= 'z' && !MemcachedCommand(data).empty();
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 11211; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<MemcachedSession>();
  }
};

// --- MongoDB ---------------------------------------------------------------

constexpr int32_t kOpReply = 1;
constexpr int32_t kOpQuery = 2004;
constexpr int32_t kOpCompressed = 2012;
constexpr int32_t kOpMsg = 2013;
constexpr uint32_t kMaxMongoMessage = 48'000'000;
constexpr size_t kMongoPrefix = 512;  // Enough of the first message for its command name.

struct MongoHeader {
  uint32_t length = 0;
  uint32_t request_id = 0;
  uint32_t response_to = 0;
  int32_t op = 0;
};

std::optional<MongoHeader> ReadMongoHeader(ByteReader& r) {
  MongoHeader h;
  auto len = r.U32Le();
  auto id = r.U32Le();
  auto to = r.U32Le();
  auto op = r.U32Le();
  if (!op) return std::nullopt;
  h.length = *len;
  h.request_id = *id;
  h.response_to = *to;
  h.op = static_cast<int32_t>(*op);
  if (h.length < 16 || h.length > kMaxMongoMessage) return std::nullopt;
  return h;
}

// The first key of a BSON document at `r` (its element type checked).
std::optional<std::string> FirstBsonKey(ByteReader& r) {
  const auto doc_len = r.U32Le();
  const auto type = r.U8();
  if (!doc_len || *doc_len < 5 || !type) return std::nullopt;
  const bool type_ok = (*type >= 0x01 && *type <= 0x13) || *type == 0x7f || *type == 0xff;
  auto key = CString(r);
  if (!type_ok || !key || key->empty() || key->size() > kMaxName || !IsTextLine(*key)) {
    return std::nullopt;
  }
  return PrintableText(*key, kMaxName);
}

// A request answers nothing: responseTo 0, or -1 as some drivers send it
// (nDPI's corpus has one).
bool IsRequestResponseTo(uint32_t response_to) { return response_to == 0 || response_to == ~0u; }

// A BSON document at `r` whose length stays within `r` and whose last byte
// is its 0x00 terminator (BSON spec: document ::= int32 e_list "\x00").
bool BsonDocumentAt(ByteReader& r) {
  ByteReader peek = r;
  const auto len = peek.U32Le();
  if (!len || *len < 5 || *len > r.remaining()) return false;
  auto doc = r.Bytes(*len);
  return doc && doc->back() == 0;
}

// A request that is MongoDB by its own structure, with no reply needed:
// the whole message is here and its parts fill it exactly — OP_MSG: flags
// and one kind-0 section (plus the CRC-32C when flag bit 0 says so);
// OP_QUERY: flags, a "db.collection" name, skip and return counts, the
// query document and an optional field selector, nothing after.
bool SelfConsistentRequest(const MongoHeader& h, std::span<const uint8_t> client) {
  if (h.length > client.size()) return false;
  ByteReader r(client.subspan(16, h.length - 16));
  if (h.op == kOpMsg) {
    const auto flags = r.U32Le();
    const auto kind = r.U8();
    if (!flags || kind != uint8_t{0} || !BsonDocumentAt(r)) return false;
    return r.remaining() == ((*flags & 1) != 0 ? 4u : 0u);
  }
  if (h.op == kOpQuery) {
    const auto collection = r.Skip(4) ? CString(r) : std::nullopt;
    if (!collection || std::find(collection->begin(), collection->end(), '.') == collection->end() ||
        !IsTextLine(*collection) ||
        !r.Skip(8) || !BsonDocumentAt(r)) {
      return false;
    }
    return r.empty() || (BsonDocumentAt(r) && r.empty());
  }
  return false;
}

class MongodbSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    std::vector<uint8_t>& buf = from_client ? client_ : server_;
    if (!from_client || !request_) {  // (The client's later bytes are not needed.)
      const size_t n = std::min(data.size(), kMongoPrefix - std::min(kMongoPrefix, buf.size()));
      buf.insert(buf.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
    }
    if (!request_) {
      if (!from_client) return ParseState::kNotMine;  // The client speaks first.
      ByteReader r(client_);
      auto h = ReadMongoHeader(r);
      if (!h) return client_.size() < 16 ? ParseState::kNeedMore : ParseState::kNotMine;
      if (!IsRequestResponseTo(h->response_to) ||
          (h->op != kOpMsg && h->op != kOpQuery && h->op != kOpCompressed)) {
        return ParseState::kNotMine;
      }
      std::optional<std::string> command;
      if (h->op == kOpMsg) {
        // flagBits, then a section of kind 0 holding the command document.
        ByteReader body = r;
        const auto flags = body.U32Le();
        const auto kind = body.U8();
        if (flags && kind) {
          if (*kind != 0) return ParseState::kNotMine;
          command = FirstBsonKey(body);
        }
      } else if (h->op == kOpQuery) {
        ByteReader body = r;
        body.Skip(4);  // flags
        const auto collection = CString(body);
        if (collection && body.Skip(8)) command = FirstBsonKey(body);
      }
      // The first message whole (or its first kMongoPrefix bytes) before
      // judging it: the same answer at every split.
      const bool whole = client_.size() >= std::min<size_t>(h->length, kMongoPrefix);
      if (!whole) return ParseState::kNeedMore;
      if (!command && h->op != kOpCompressed) {
        CountAnomaly(anomalies, db_anomaly::kMongoMessageMalformed);
        return ParseState::kNotMine;
      }
      request_ = *h;
      command_ = command.value_or("");
      // Named from a request that fills its message exactly (as nDPI
      // names it): the server may never answer in the capture. A reply
      // that contradicts it still takes the name back.
      if (command && SelfConsistentRequest(*h, client_)) {
        record->protocol = AppProtocol::kMongodb;
        record->db->command = command_;
      }
      client_ = {};
    }
    if (from_client) return ParseState::kNeedMore;
    ByteReader r(server_);
    auto h = ReadMongoHeader(r);
    const bool need_more = !h && server_.size() < 16;
    if (!need_more && (!h || h->response_to != request_->request_id ||
                       (h->op != kOpReply && h->op != kOpMsg && h->op != kOpCompressed))) {
      if (record->protocol == AppProtocol::kMongodb) {
        record->protocol = AppProtocol::kUnknown;
        record->db->command.clear();
      }
      return ParseState::kNotMine;
    }
    if (need_more) return ParseState::kNeedMore;
    record->protocol = AppProtocol::kMongodb;
    record->db->command = command_;
    return ParseState::kDone;
  }
  size_t MemoryUsage() const override {
    return client_.capacity() + server_.capacity() + command_.capacity();
  }

 private:
  std::vector<uint8_t> client_, server_;  // The first kMongoPrefix bytes of each side.
  std::optional<MongoHeader> request_;
  std::string command_;
};

class MongodbDissector final : public Dissector {
 public:
  std::string_view name() const override { return "mongodb"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client) return false;
    ByteReader r(data);
    auto h = ReadMongoHeader(r);
    if (!h) return data.size() < 16 && PortHint(flow);
    return IsRequestResponseTo(h->response_to) &&
           (h->op == kOpMsg || h->op == kOpQuery || h->op == kOpCompressed);
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 27017; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<MongodbSession>();
  }
};

}  // namespace

std::unique_ptr<Dissector> MakePostgresqlDissector() {
  return std::make_unique<PostgresqlDissector>();
}
std::unique_ptr<Dissector> MakeMysqlDissector() { return std::make_unique<MysqlDissector>(); }
std::unique_ptr<Dissector> MakeRedisDissector() { return std::make_unique<RedisDissector>(); }
std::unique_ptr<Dissector> MakeMemcachedDissector() {
  return std::make_unique<MemcachedDissector>();
}
std::unique_ptr<Dissector> MakeMongodbDissector() { return std::make_unique<MongodbDissector>(); }

}  // namespace rustnet
