// The history store's schema: one `connections` table of plain columns,
// one row per closed connection, documented in README.md ("History store")
// and stable for users who query the file with sqlite3.
//
// Conventions: times are microseconds since the Unix epoch (INTEGER);
// names are the lowercase words the filter language uses ("tcp", "out",
// "established", "tls", "fin"); empty text is stored as NULL-free ''; lists
// (ALPN, offered versions, DNS answers, command line) are JSON arrays of
// strings, so sqlite3's json_each() reads them.
//
// Versions live in PRAGMA user_version; Migrate() applies the numbered
// migrations a file lacks, each in its own transaction.
//
// Thread-safety: functions of the connection they are given.
#ifndef RUSTNET_DAEMON_HISTORY_STORE_SCHEMA_H_
#define RUSTNET_DAEMON_HISTORY_STORE_SCHEMA_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "daemon/snapshot/event_hub.h"
#include "rustnet/v1/connection.pb.h"

namespace rustnet::history {

inline constexpr int kSchemaVersion = 3;

// rustnet.v1.CloseReason's numbers; kShutdown (6): the connection was
// still open when the store got the final table.
inline constexpr int kCloseReasonShutdown = static_cast<int>(CloseReason::kShutdown);
// "fin", "reset", "timeout", "evicted", "replaced", "shutdown"; "" otherwise.
std::string_view CloseReasonName(int reason);
int CloseReasonFromName(std::string_view name);

// Columns of `connections`, in table order (also the order every SELECT
// of the store lists them, so a column's index is its enum value).
enum Column : int {
  kColId,
  kColProtocol,
  kColIpVersion,
  kColLocalAddr,
  kColLocalPort,
  kColLocalMac,
  kColRemoteAddr,
  kColRemotePort,
  kColRemoteMac,
  kColDirection,
  kColState,
  kColService,
  kColFirstSeen,
  kColLastSeen,
  kColClosedAt,
  kColCloseReason,
  kColPacketsSent,
  kColBytesSent,
  kColPacketsReceived,
  kColBytesReceived,
  kColInterface,
  kColFragments,
  kColTcpHandshakeRttUs,
  kColTcpRetransmissions,
  kColTcpOutOfOrder,
  kColTcpZeroWindows,
  kColTcpFlags,
  kColIcmpEchoId,
  kColIcmpType,
  kColIcmpCode,
  kColArpRequests,
  kColArpReplies,
  kColArpResolvedMac,
  kColApp,
  kColAppLabel,
  kColHostname,
  kColHostnameSource,
  kColDnsCacheName,
  kColHttpMethod,
  kColHttpHost,
  kColHttpPath,
  kColHttpUserAgent,
  kColHttpStatus,
  kColHttpVersion,
  kColTlsSni,
  kColTlsAlpn,
  kColTlsOfferedVersions,
  kColTlsVersion,
  kColTlsCipherSuite,
  kColTlsEchOffered,
  kColJa4,
  kColDnsQuery,
  kColDnsQueryType,
  kColDnsResponseCode,
  kColDnsAnswers,
  kColDnsOverTcp,
  kColSshClient,
  kColSshServer,
  kColQuicVersion,
  kColDhcpHostname,
  kColProcessName,
  kColPid,
  kColUid,
  kColUser,
  kColExecutable,
  kColCommandLine,
  kColUnit,
  kColUserUnit,
  kColContainerRuntime,
  kColContainerId,
  kColCgroup,
  kColProcessExited,
  kColAttributionMethod,
  kColProcessStarted,
  kColRemoteProcessName,
  kColRemotePid,
  kColRemoteUid,
  kColRemoteUser,
  // Version 3: the connection's whole rustnet.v1.AppInfo, serialized (a
  // BLOB; NULL without one, and in rows older versions wrote). Every
  // protocol's fields come back from it as the API gave them; the columns
  // above stay for SQL.
  kColAppInfo,
  kColumnCount,
};
// The columns version 1 created (those after it came with migrations).
inline constexpr int kColumnsV1 = kColAppInfo;

// The column's name in SQL.
std::string_view ColumnName(Column c);
// "id, protocol, ..." in enum order.
const std::string& ColumnList();

// Brings the file's schema to kSchemaVersion (creating it in an empty
// file). FailedPrecondition if the file is newer than this daemon.
absl::Status Migrate(sqlite3* db);

// The INSERT of one row, with ?1.. in enum order.
const std::string& InsertSql();
// Binds one connection that closed at `closed_at_us` for `reason`;
// `dns_cache_name` is the name the passive DNS cache gave the remote
// address (the message has it only when no better name was known).
void BindRow(sqlite3_stmt* insert, const rustnet::v1::Connection& c, int64_t closed_at_us,
             int reason, std::string_view dns_cache_name);

// One row read back (the statement's columns from `first`, in enum order).
struct StoredRow {
  // rate_in/rate_out are 0 (not kept); closed, closed_at and close_reason
  // are set.
  rustnet::v1::Connection connection;
  int64_t closed_at_us = 0;
  int close_reason = 0;  // rustnet.v1.CloseReason's number.
};
void ReadRow(sqlite3_stmt* select, StoredRow* out);

// JSON arrays of strings, as the list columns hold them.
std::string JsonArray(const google::protobuf::RepeatedPtrField<std::string>& items);
// False if `text` is not an array of strings (then `out` is partial).
bool ParseJsonArray(std::string_view text, google::protobuf::RepeatedPtrField<std::string>* out);

}  // namespace rustnet::history

#endif  // RUSTNET_DAEMON_HISTORY_STORE_SCHEMA_H_
