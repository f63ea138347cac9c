#include "daemon/history_store/schema.h"

#include <array>
#include <cstdint>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "daemon/history_store/sqlite_util.h"
#include "daemon/record/app_record.h"
#include "daemon/snapshot/convert.h"

namespace rustnet::history {
namespace {

struct ColumnDef {
  const char* name;
  const char* type;
};

// In enum Column's order. Documented in README.md; add columns only at the
// end, each with a migration.
constexpr ColumnDef kColumns[kColumnCount] = {
    {"id", "INTEGER NOT NULL"},
    {"protocol", "TEXT NOT NULL"},
    {"ip_version", "INTEGER NOT NULL"},
    {"local_addr", "TEXT NOT NULL"},
    {"local_port", "INTEGER NOT NULL"},
    {"local_mac", "TEXT NOT NULL"},
    {"remote_addr", "TEXT NOT NULL"},
    {"remote_port", "INTEGER NOT NULL"},
    {"remote_mac", "TEXT NOT NULL"},
    {"direction", "TEXT NOT NULL"},
    {"state", "TEXT NOT NULL"},
    {"service", "TEXT NOT NULL"},
    {"first_seen", "INTEGER NOT NULL"},
    {"last_seen", "INTEGER NOT NULL"},
    {"closed_at", "INTEGER NOT NULL"},
    {"close_reason", "TEXT NOT NULL"},
    {"packets_sent", "INTEGER NOT NULL"},
    {"bytes_sent", "INTEGER NOT NULL"},
    {"packets_received", "INTEGER NOT NULL"},
    {"bytes_received", "INTEGER NOT NULL"},
    {"interface", "TEXT NOT NULL"},
    {"fragments", "INTEGER NOT NULL"},
    {"tcp_handshake_rtt_us", "INTEGER NOT NULL"},
    {"tcp_retransmissions", "INTEGER NOT NULL"},
    {"tcp_out_of_order", "INTEGER NOT NULL"},
    {"tcp_zero_windows", "INTEGER NOT NULL"},
    {"tcp_flags", "INTEGER NOT NULL"},
    {"icmp_echo_id", "INTEGER NOT NULL"},
    {"icmp_type", "INTEGER NOT NULL"},
    {"icmp_code", "INTEGER NOT NULL"},
    {"arp_requests", "INTEGER NOT NULL"},
    {"arp_replies", "INTEGER NOT NULL"},
    {"arp_resolved_mac", "TEXT NOT NULL"},
    {"app", "TEXT"},
    {"app_label", "TEXT NOT NULL"},
    {"hostname", "TEXT NOT NULL"},
    {"hostname_source", "TEXT NOT NULL"},
    {"dns_cache_name", "TEXT NOT NULL"},
    {"http_method", "TEXT NOT NULL"},
    {"http_host", "TEXT NOT NULL"},
    {"http_path", "TEXT NOT NULL"},
    {"http_user_agent", "TEXT NOT NULL"},
    {"http_status", "INTEGER NOT NULL"},
    {"http_version", "TEXT NOT NULL"},
    {"tls_sni", "TEXT NOT NULL"},
    {"tls_alpn", "TEXT NOT NULL"},
    {"tls_offered_versions", "TEXT NOT NULL"},
    {"tls_version", "TEXT NOT NULL"},
    {"tls_cipher_suite", "TEXT NOT NULL"},
    {"tls_ech_offered", "INTEGER NOT NULL"},
    {"ja4", "TEXT NOT NULL"},
    {"dns_query", "TEXT NOT NULL"},
    {"dns_query_type", "TEXT NOT NULL"},
    {"dns_response_code", "TEXT NOT NULL"},
    {"dns_answers", "TEXT NOT NULL"},
    {"dns_over_tcp", "INTEGER NOT NULL"},
    {"ssh_client", "TEXT NOT NULL"},
    {"ssh_server", "TEXT NOT NULL"},
    {"quic_version", "TEXT NOT NULL"},
    {"dhcp_hostname", "TEXT NOT NULL"},
    {"process_name", "TEXT NOT NULL"},
    {"pid", "INTEGER"},
    {"uid", "INTEGER"},
    {"user", "TEXT NOT NULL"},
    {"executable", "TEXT NOT NULL"},
    {"command_line", "TEXT NOT NULL"},
    {"unit", "TEXT NOT NULL"},
    {"user_unit", "TEXT NOT NULL"},
    {"container_runtime", "TEXT NOT NULL"},
    {"container_id", "TEXT NOT NULL"},
    {"cgroup", "TEXT NOT NULL"},
    {"process_exited", "INTEGER NOT NULL"},
    {"attribution_method", "TEXT NOT NULL"},
    {"process_started", "INTEGER NOT NULL"},
    {"remote_process_name", "TEXT NOT NULL"},
    {"remote_pid", "INTEGER"},
    {"remote_uid", "INTEGER"},
    {"remote_user", "TEXT NOT NULL"},
    {"app_info", "BLOB"},
};

constexpr std::string_view kCloseReasons[] = {"",        "fin",      "reset",   "timeout",
                                              "evicted", "replaced", "shutdown"};
constexpr std::string_view kProtocols[] = {"", "tcp", "udp", "icmp", "icmpv6", "arp"};
constexpr std::string_view kDirections[] = {"", "out", "in"};
constexpr std::string_view kStates[] = {
    "unspecified", "syn_sent",  "syn_received", "established", "fin_wait_1",
    "fin_wait_2",  "close_wait", "closing",     "last_ack",    "time_wait",
    "closed",      "unreplied", "active",
};
constexpr std::string_view kMethods[] = {"", "socket", "listener", "bound"};

template <size_t N>
std::string_view NameOf(const std::string_view (&names)[N], int value) {
  return value >= 0 && static_cast<size_t>(value) < N ? names[value] : std::string_view();
}
template <size_t N>
int ValueOf(const std::string_view (&names)[N], std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return 0;
}

// Migration n brings user_version n-1 to n.
constexpr const char* kIndexes =
    "CREATE INDEX connections_closed_at ON connections(closed_at);"
    "CREATE INDEX connections_first_seen ON connections(first_seen);"
    "CREATE INDEX connections_remote_addr ON connections(remote_addr, remote_port);"
    "CREATE INDEX connections_process_name ON connections(process_name);"
    "CREATE INDEX connections_app ON connections(app);";

// Version 2: indexes for QueryHistory's sorts by bytes and last seen (a
// sort by bytes over a million rows read them all: 5.5 s). The total's
// index is on the expression OrderBy() writes, so SQLite uses it.
constexpr const char* kMigration2 =
    "CREATE INDEX connections_bytes_total ON connections((bytes_sent + bytes_received));"
    "CREATE INDEX connections_bytes_sent ON connections(bytes_sent);"
    "CREATE INDEX connections_bytes_received ON connections(bytes_received);"
    "CREATE INDEX connections_last_seen ON connections(last_seen);";

// Version 3: the serialized AppInfo (see kColAppInfo).
constexpr const char* kMigration3 = "ALTER TABLE connections ADD COLUMN app_info BLOB;";

std::string Migration1() {
  std::string sql = "CREATE TABLE connections (";
  for (int i = 0; i < kColumnsV1; ++i) {
    absl::StrAppend(&sql, i == 0 ? "" : ", ", kColumns[i].name, " ", kColumns[i].type);
  }
  absl::StrAppend(&sql, ");", kIndexes);
  return sql;
}

int64_t MicrosOf(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000 + t.nanos() / 1000;
}
int64_t MicrosOf(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000 + d.nanos() / 1000;
}

void BindU64(sqlite3_stmt* s, Column c, uint64_t v) {
  sqlite3_bind_int64(s, c + 1, static_cast<int64_t>(v));
}
void BindI64(sqlite3_stmt* s, Column c, int64_t v) { sqlite3_bind_int64(s, c + 1, v); }
void BindStr(sqlite3_stmt* s, Column c, std::string_view v) { BindText(s, c + 1, v); }

uint64_t U64(sqlite3_stmt* s, Column c) {
  return static_cast<uint64_t>(sqlite3_column_int64(s, c));
}
uint32_t U32(sqlite3_stmt* s, Column c) {
  return static_cast<uint32_t>(sqlite3_column_int64(s, c));
}
int64_t I64(sqlite3_stmt* s, Column c) { return sqlite3_column_int64(s, c); }
std::string_view Str(sqlite3_stmt* s, Column c) { return ColumnText(s, c); }
bool IsNull(sqlite3_stmt* s, Column c) { return sqlite3_column_type(s, c) == SQLITE_NULL; }

void BindTls(sqlite3_stmt* s, const rustnet::v1::TlsInfo& t) {
  BindStr(s, kColTlsSni, t.sni());
  BindStr(s, kColTlsAlpn, JsonArray(t.alpn()));
  BindStr(s, kColTlsOfferedVersions, JsonArray(t.offered_versions()));
  BindStr(s, kColTlsVersion, t.version());
  BindStr(s, kColTlsCipherSuite, t.cipher_suite());
  BindI64(s, kColTlsEchOffered, t.ech_offered() ? 1 : 0);
  BindStr(s, kColJa4, t.ja4());
}

void ReadTls(sqlite3_stmt* s, rustnet::v1::TlsInfo* t) {
  t->mutable_sni()->assign(Str(s, kColTlsSni));
  ParseJsonArray(Str(s, kColTlsAlpn), t->mutable_alpn());
  ParseJsonArray(Str(s, kColTlsOfferedVersions), t->mutable_offered_versions());
  t->mutable_version()->assign(Str(s, kColTlsVersion));
  t->mutable_cipher_suite()->assign(Str(s, kColTlsCipherSuite));
  t->set_ech_offered(I64(s, kColTlsEchOffered) != 0);
  t->mutable_ja4()->assign(Str(s, kColJa4));
}

bool AnyTls(sqlite3_stmt* s) {
  for (Column c : {kColTlsSni, kColTlsVersion, kColTlsCipherSuite, kColJa4}) {
    if (!Str(s, c).empty()) return true;
  }
  return Str(s, kColTlsAlpn) != "[]" || Str(s, kColTlsOfferedVersions) != "[]" ||
         I64(s, kColTlsEchOffered) != 0;
}

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out->append(buf);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view CloseReasonName(int reason) { return NameOf(kCloseReasons, reason); }
int CloseReasonFromName(std::string_view name) { return ValueOf(kCloseReasons, name); }

std::string_view ColumnName(Column c) { return kColumns[c].name; }

const std::string& ColumnList() {
  static const std::string* const list = [] {
    auto* s = new std::string;
    for (int i = 0; i < kColumnCount; ++i) absl::StrAppend(s, i == 0 ? "" : ", ", kColumns[i].name);
    return s;
  }();
  return *list;
}

const std::string& InsertSql() {
  static const std::string* const sql = [] {
    auto* s = new std::string(absl::StrCat("INSERT INTO connections (", ColumnList(), ") VALUES ("));
    for (int i = 0; i < kColumnCount; ++i) absl::StrAppend(s, i == 0 ? "?" : ", ?");
    s->append(")");
    return s;
  }();
  return *sql;
}

absl::Status Migrate(sqlite3* db) {
  absl::StatusOr<int64_t> version = QueryInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the history database has schema version ", *version,
                     ", newer than this rustnetd's ", kSchemaVersion,
                     "; use a newer rustnetd or another --history-db"));
  }
  const std::array<std::string, kSchemaVersion> migrations = {Migration1(), kMigration2,
                                                                kMigration3};
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    const std::string sql = absl::StrCat("BEGIN IMMEDIATE;", migrations[static_cast<size_t>(v)],
                                         "PRAGMA user_version = ", v + 1, "; COMMIT;");
    if (absl::Status s = Exec(db, sql.c_str()); !s.ok()) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  return absl::OkStatus();
}

void BindRow(sqlite3_stmt* s, const rustnet::v1::Connection& c, int64_t closed_at_us,
             int reason, std::string_view dns_cache_name) {
  BindU64(s, kColId, c.id());
  BindStr(s, kColProtocol, NameOf(kProtocols, c.protocol()));
  BindU64(s, kColIpVersion, c.ip_version());
  BindStr(s, kColLocalAddr, c.local().address());
  BindU64(s, kColLocalPort, c.local().port());
  BindStr(s, kColLocalMac, c.local().mac());
  BindStr(s, kColRemoteAddr, c.remote().address());
  BindU64(s, kColRemotePort, c.remote().port());
  BindStr(s, kColRemoteMac, c.remote().mac());
  BindStr(s, kColDirection, NameOf(kDirections, c.direction()));
  BindStr(s, kColState, NameOf(kStates, c.state()));
  BindStr(s, kColService, c.service());
  BindI64(s, kColFirstSeen, MicrosOf(c.first_seen()));
  BindI64(s, kColLastSeen, MicrosOf(c.last_seen()));
  BindI64(s, kColClosedAt, closed_at_us);
  BindStr(s, kColCloseReason, CloseReasonName(reason));
  BindU64(s, kColPacketsSent, c.sent().packets());
  BindU64(s, kColBytesSent, c.sent().bytes());
  BindU64(s, kColPacketsReceived, c.received().packets());
  BindU64(s, kColBytesReceived, c.received().bytes());
  BindStr(s, kColInterface, c.interface());
  BindU64(s, kColFragments, c.fragments());
  BindI64(s, kColTcpHandshakeRttUs, MicrosOf(c.tcp().handshake_rtt()));
  BindU64(s, kColTcpRetransmissions, c.tcp().retransmissions());
  BindU64(s, kColTcpOutOfOrder, c.tcp().out_of_order());
  BindU64(s, kColTcpZeroWindows, c.tcp().zero_windows());
  BindU64(s, kColTcpFlags, c.tcp().flags_seen());
  BindU64(s, kColIcmpEchoId, c.icmp().echo_id());
  BindU64(s, kColIcmpType, c.icmp().last_type());
  BindU64(s, kColIcmpCode, c.icmp().last_code());
  BindU64(s, kColArpRequests, c.arp().requests());
  BindU64(s, kColArpReplies, c.arp().replies());
  BindStr(s, kColArpResolvedMac, c.arp().resolved_mac());
  const rustnet::v1::AppInfo& app = c.app();
  if (c.has_app()) {
    BindStr(s, kColApp, AppProtocolName(static_cast<AppProtocol>(app.protocol())));
  } else {
    sqlite3_bind_null(s, kColApp + 1);
  }
  BindStr(s, kColAppLabel, app.label());
  if (c.has_app()) {
    const std::string blob = app.SerializeAsString();
    sqlite3_bind_blob(s, kColAppInfo + 1, blob.data(), static_cast<int>(blob.size()),
                      SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(s, kColAppInfo + 1);
  }
  BindStr(s, kColHostname, c.hostname());
  BindStr(s, kColHostnameSource, c.hostname_source());
  BindStr(s, kColDnsCacheName, dns_cache_name);
  BindStr(s, kColHttpMethod, app.http().method());
  BindStr(s, kColHttpHost, app.http().host());
  BindStr(s, kColHttpPath, app.http().path());
  BindStr(s, kColHttpUserAgent, app.http().user_agent());
  BindU64(s, kColHttpStatus, app.http().status());
  BindStr(s, kColHttpVersion, app.http().version());
  BindTls(s, app.has_quic() ? app.quic().tls() : app.tls());
  BindStr(s, kColDnsQuery, app.dns().query());
  BindStr(s, kColDnsQueryType, app.dns().query_type());
  BindStr(s, kColDnsResponseCode, app.dns().response_code());
  BindStr(s, kColDnsAnswers, JsonArray(app.dns().answers()));
  BindI64(s, kColDnsOverTcp, app.dns().over_tcp() ? 1 : 0);
  BindStr(s, kColSshClient, app.ssh().client());
  BindStr(s, kColSshServer, app.ssh().server());
  BindStr(s, kColQuicVersion, app.quic().version());
  BindStr(s, kColDhcpHostname, app.dhcp_hostname());
  const rustnet::v1::ProcessInfo& p = c.process();
  BindStr(s, kColProcessName, p.name());
  if (c.has_process()) {
    BindU64(s, kColPid, p.pid());
    BindU64(s, kColUid, p.uid());
  } else {
    sqlite3_bind_null(s, kColPid + 1);
    sqlite3_bind_null(s, kColUid + 1);
  }
  BindStr(s, kColUser, p.user());
  BindStr(s, kColExecutable, p.executable());
  BindStr(s, kColCommandLine, JsonArray(p.command_line()));
  BindStr(s, kColUnit, p.unit());
  BindStr(s, kColUserUnit, p.user_unit());
  BindStr(s, kColContainerRuntime, p.container_runtime());
  BindStr(s, kColContainerId, p.container_id());
  BindStr(s, kColCgroup, p.cgroup());
  BindI64(s, kColProcessExited, p.exited() ? 1 : 0);
  BindStr(s, kColAttributionMethod, NameOf(kMethods, p.method()));
  BindI64(s, kColProcessStarted, p.has_started() ? MicrosOf(p.started()) : 0);
  const rustnet::v1::ProcessInfo& r = c.remote_process();
  BindStr(s, kColRemoteProcessName, r.name());
  if (c.has_remote_process()) {
    BindU64(s, kColRemotePid, r.pid());
    BindU64(s, kColRemoteUid, r.uid());
  } else {
    sqlite3_bind_null(s, kColRemotePid + 1);
    sqlite3_bind_null(s, kColRemoteUid + 1);
  }
  BindStr(s, kColRemoteUser, r.user());
}

void ReadRow(sqlite3_stmt* s, StoredRow* out) {
  rustnet::v1::Connection& c = out->connection;
  c.Clear();
  c.set_id(U64(s, kColId));
  const int protocol = ValueOf(kProtocols, Str(s, kColProtocol));
  c.set_protocol(static_cast<rustnet::v1::Protocol>(protocol));
  c.set_ip_version(U32(s, kColIpVersion));
  c.mutable_local()->mutable_address()->assign(Str(s, kColLocalAddr));
  c.mutable_local()->set_port(U32(s, kColLocalPort));
  c.mutable_local()->mutable_mac()->assign(Str(s, kColLocalMac));
  c.mutable_remote()->mutable_address()->assign(Str(s, kColRemoteAddr));
  c.mutable_remote()->set_port(U32(s, kColRemotePort));
  c.mutable_remote()->mutable_mac()->assign(Str(s, kColRemoteMac));
  c.set_direction(static_cast<rustnet::v1::Direction>(ValueOf(kDirections, Str(s, kColDirection))));
  c.set_state(static_cast<rustnet::v1::ConnectionState>(ValueOf(kStates, Str(s, kColState))));
  c.mutable_service()->assign(Str(s, kColService));
  SetTimestampUs(I64(s, kColFirstSeen), c.mutable_first_seen());
  SetTimestampUs(I64(s, kColLastSeen), c.mutable_last_seen());
  out->closed_at_us = I64(s, kColClosedAt);
  out->close_reason = CloseReasonFromName(Str(s, kColCloseReason));
  c.set_closed(true);
  SetTimestampUs(out->closed_at_us, c.mutable_closed_at());
  c.set_close_reason(static_cast<rustnet::v1::CloseReason>(out->close_reason));
  c.mutable_sent()->set_packets(U64(s, kColPacketsSent));
  c.mutable_sent()->set_bytes(U64(s, kColBytesSent));
  c.mutable_received()->set_packets(U64(s, kColPacketsReceived));
  c.mutable_received()->set_bytes(U64(s, kColBytesReceived));
  c.mutable_interface()->assign(Str(s, kColInterface));
  c.set_fragments(U64(s, kColFragments));
  switch (protocol) {
    case rustnet::v1::PROTOCOL_TCP: {
      auto* tcp = c.mutable_tcp();
      if (const int64_t rtt = I64(s, kColTcpHandshakeRttUs); rtt > 0) {
        SetDurationUs(rtt, tcp->mutable_handshake_rtt());
      }
      tcp->set_retransmissions(U64(s, kColTcpRetransmissions));
      tcp->set_out_of_order(U64(s, kColTcpOutOfOrder));
      tcp->set_zero_windows(U64(s, kColTcpZeroWindows));
      tcp->set_flags_seen(U32(s, kColTcpFlags));
      break;
    }
    case rustnet::v1::PROTOCOL_ICMP:
    case rustnet::v1::PROTOCOL_ICMPV6: {
      auto* icmp = c.mutable_icmp();
      icmp->set_echo_id(U32(s, kColIcmpEchoId));
      icmp->set_last_type(U32(s, kColIcmpType));
      icmp->set_last_code(U32(s, kColIcmpCode));
      break;
    }
    case rustnet::v1::PROTOCOL_ARP: {
      auto* arp = c.mutable_arp();
      arp->set_requests(U64(s, kColArpRequests));
      arp->set_replies(U64(s, kColArpReplies));
      arp->mutable_resolved_mac()->assign(Str(s, kColArpResolvedMac));
      break;
    }
    default:
      break;
  }
  bool app_read = false;
  if (!IsNull(s, kColApp) && !IsNull(s, kColAppInfo)) {
    const void* blob = sqlite3_column_blob(s, kColAppInfo);
    const int size = sqlite3_column_bytes(s, kColAppInfo);
    app_read = c.mutable_app()->ParseFromArray(blob, size);
    if (!app_read) c.clear_app();
  }
  if (!app_read && !IsNull(s, kColApp)) {
    // A row of schema version 2 or older: what its columns hold.
    auto* app = c.mutable_app();
    AppProtocol protocol_value = AppProtocol::kUnknown;
    const std::string_view name = Str(s, kColApp);
    for (int p = 1; p <= UINT8_MAX && !name.empty(); ++p) {  // Every named AppProtocol.
      if (AppProtocolName(static_cast<AppProtocol>(p)) == name) {
        protocol_value = static_cast<AppProtocol>(p);
      }
    }
    app->set_protocol(static_cast<rustnet::v1::AppProtocol>(protocol_value));
    app->mutable_label()->assign(Str(s, kColAppLabel));
    switch (protocol_value) {
      case AppProtocol::kHttp: {
        auto* h = app->mutable_http();
        h->mutable_method()->assign(Str(s, kColHttpMethod));
        h->mutable_host()->assign(Str(s, kColHttpHost));
        h->mutable_path()->assign(Str(s, kColHttpPath));
        h->mutable_user_agent()->assign(Str(s, kColHttpUserAgent));
        h->set_status(U32(s, kColHttpStatus));
        h->mutable_version()->assign(Str(s, kColHttpVersion));
        break;
      }
      case AppProtocol::kTls:
        ReadTls(s, app->mutable_tls());
        break;
      case AppProtocol::kDns:
      case AppProtocol::kMdns: {
        auto* d = app->mutable_dns();
        d->mutable_query()->assign(Str(s, kColDnsQuery));
        d->mutable_query_type()->assign(Str(s, kColDnsQueryType));
        d->mutable_response_code()->assign(Str(s, kColDnsResponseCode));
        ParseJsonArray(Str(s, kColDnsAnswers), d->mutable_answers());
        d->set_over_tcp(I64(s, kColDnsOverTcp) != 0);
        break;
      }
      case AppProtocol::kSsh: {
        auto* ssh = app->mutable_ssh();
        ssh->mutable_client()->assign(Str(s, kColSshClient));
        ssh->mutable_server()->assign(Str(s, kColSshServer));
        // The split is derived from the two strings, as ToProto does.
        const SshIdentification cl = SplitSshIdentification(ssh->client());
        const SshIdentification v = SplitSshIdentification(ssh->server());
        ssh->set_protocol_version(!v.protocol.empty() ? v.protocol : cl.protocol);
        ssh->set_client_software(cl.software);
        ssh->set_server_software(v.software);
        break;
      }
      case AppProtocol::kQuic:
        app->mutable_quic()->mutable_version()->assign(Str(s, kColQuicVersion));
        if (AnyTls(s)) ReadTls(s, app->mutable_quic()->mutable_tls());
        break;
      case AppProtocol::kDhcp:
        app->mutable_dhcp_hostname()->assign(Str(s, kColDhcpHostname));
        break;
      default:
        break;
    }
  }
  c.mutable_hostname()->assign(Str(s, kColHostname));
  c.mutable_hostname_source()->assign(Str(s, kColHostnameSource));
  if (!IsNull(s, kColPid)) {
    auto* p = c.mutable_process();
    p->set_pid(U32(s, kColPid));
    p->mutable_name()->assign(Str(s, kColProcessName));
    ParseJsonArray(Str(s, kColCommandLine), p->mutable_command_line());
    p->mutable_executable()->assign(Str(s, kColExecutable));
    p->set_uid(U32(s, kColUid));
    p->mutable_user()->assign(Str(s, kColUser));
    p->mutable_unit()->assign(Str(s, kColUnit));
    p->mutable_user_unit()->assign(Str(s, kColUserUnit));
    p->mutable_container_runtime()->assign(Str(s, kColContainerRuntime));
    p->mutable_container_id()->assign(Str(s, kColContainerId));
    p->mutable_cgroup()->assign(Str(s, kColCgroup));
    p->set_exited(I64(s, kColProcessExited) != 0);
    p->set_method(static_cast<rustnet::v1::AttributionMethod>(
        ValueOf(kMethods, Str(s, kColAttributionMethod))));
    if (const int64_t started = I64(s, kColProcessStarted); started > 0) {
      SetTimestampUs(started, p->mutable_started());
    }
  }
  if (!IsNull(s, kColRemotePid)) {
    auto* r = c.mutable_remote_process();
    r->set_pid(U32(s, kColRemotePid));
    r->mutable_name()->assign(Str(s, kColRemoteProcessName));
    r->set_uid(U32(s, kColRemoteUid));
    r->mutable_user()->assign(Str(s, kColRemoteUser));
  }
}

std::string JsonArray(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out = "[";
  for (int i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(items.Get(i), &out);
  }
  out.push_back(']');
  return out;
}

bool ParseJsonArray(std::string_view text, google::protobuf::RepeatedPtrField<std::string>* out) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
  };
  skip_space();
  if (i >= text.size() || text[i] != '[') return false;
  ++i;
  skip_space();
  if (i < text.size() && text[i] == ']') return true;
  while (i < text.size()) {
    if (text[i] != '"') return false;
    ++i;
    std::string item;
    while (i < text.size() && text[i] != '"') {
      if (text[i] != '\\') {
        item.push_back(text[i++]);
        continue;
      }
      if (++i >= text.size()) return false;
      const char esc = text[i++];
      switch (esc) {
        case 'n': item.push_back('\n'); break;
        case 't': item.push_back('\t'); break;
        case 'r': item.push_back('\r'); break;
        case 'b': item.push_back('\b'); break;
        case 'f': item.push_back('\f'); break;
        case 'u': {
          // Only what JsonArray writes: \u00XX for control characters.
          if (i + 4 > text.size()) return false;
          int value = 0;
          for (size_t k = 0; k < 4; ++k) {
            const int h = HexValue(text[i + k]);
            if (h < 0) return false;
            value = value * 16 + h;
          }
          if (value > 0x7f) return false;
          item.push_back(static_cast<char>(value));
          i += 4;
          break;
        }
        default: item.push_back(esc); break;
      }
    }
    if (i >= text.size()) return false;
    ++i;  // The closing quote.
    out->Add(std::move(item));
    skip_space();
    if (i < text.size() && text[i] == ',') {
      ++i;
      skip_space();
      continue;
    }
    return i < text.size() && text[i] == ']';
  }
  return false;
}

}  // namespace rustnet::history
