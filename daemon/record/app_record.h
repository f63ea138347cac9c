// AppRecord: what deep packet inspection learned about one connection.
//
// A record type below the stages that share it: DPI fills it, the tracker
// carries it on each Connection, snapshots and the API read it.
//
// Immutable once published: a worker builds a new record whenever a
// dissector adds facts (ClientHello, then ServerHello) and swaps the
// connection's shared pointer, so snapshots share records without copying
// strings and readers never see one half-written.
//
// Thread-safety: immutable after construction.
#ifndef RUSTNET_DAEMON_RECORD_APP_RECORD_H_
#define RUSTNET_DAEMON_RECORD_APP_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/flow_key.h"
#include "daemon/record/boxed.h"

namespace rustnet {

// Mirrors rustnet.v1.AppProtocol (same numbers).
enum class AppProtocol : uint8_t {
  kUnknown = 0,
  kHttp = 1,
  kTls = 2,
  kDns = 3,
  kSsh = 4,
  kQuic = 5,
  kNtp = 6,
  kMdns = 7,
  kDhcp = 8,
  kStun = 9,
  // Mail, file transfer, databases, remote access, Windows/LAN
  // (daemon/dpi/{mail,ftp,db,remote,lan}.cc).
  kSmtp = 10,
  kImap = 11,
  kPop3 = 12,
  kSmtps = 13,  // Implicit TLS, named by its port (465).
  kImaps = 14,  // 993.
  kPops = 15,   // 995.
  kFtp = 16,
  kFtpData = 17,
  kPostgresql = 18,
  kMysql = 19,
  kRedis = 20,
  kMemcached = 21,
  kMongodb = 22,
  kRdp = 23,
  kVnc = 24,
  kTelnet = 25,
  kSmb = 26,
  kNetbiosNs = 27,
  kNetbiosSession = 28,
  kLlmnr = 29,
  kSsdp = 30,
  kKerberos = 31,
  // 40-79: issue 19 part B (IoT, P2P/VPN, management, signalling).
  kMqtt = 40,
  kAmqp = 41,
  kNats = 42,
  kModbus = 43,
  kCoap = 44,
  kBittorrent = 45,
  kOpenvpn = 46,
  kWireguard = 47,
  kIke = 48,
  kSip = 49,
  kRtsp = 50,
  kSyslog = 51,
  kTftp = 52,
  kSnmp = 53,
  kLdap = 54,
  kIrc = 55,
  kNntp = 56,
  kRsync = 57,
  kGit = 58,
  kSocks = 59,
  kDtls = 60,
  kHttp2 = 61,
};

struct HttpFacts {
  std::string method, host, path, user_agent, version;
  uint16_t status = 0;

  bool operator==(const HttpFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const HttpFacts& f) {
    return H::combine(std::move(h), f.method, f.host, f.path, f.user_agent, f.version, f.status);
  }
};

struct TlsFacts {
  std::string sni;
  std::vector<std::string> alpn;
  std::vector<std::string> offered_versions;
  std::string version;       // Negotiated.
  std::string cipher_suite;  // Negotiated, "0x1301".
  bool ech_offered = false;
  std::string ja4;
  bool client_hello_seen = false;
  // The server's leaf certificate (TLS <= 1.2): subject CN, SAN dNSNames.
  std::string certificate_cn;
  std::vector<std::string> certificate_names;

  bool operator==(const TlsFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const TlsFacts& f) {
    return H::combine(std::move(h), f.sni, f.alpn, f.offered_versions, f.version,
                      f.cipher_suite, f.ech_offered, f.ja4, f.client_hello_seen,
                      f.certificate_cn, f.certificate_names);
  }
};

// A DNS answer record that carries a name (CNAME, PTR, NS, MX, SRV,
// SVCB/HTTPS) or a TXT's length (never its text).
struct DnsRecordFacts {
  std::string type;    // "SRV".
  std::string name;    // Owner name.
  std::string target;  // The name the record points to.
  uint16_t port = 0;
  uint16_t priority = 0;
  std::vector<std::string> alpn;  // SVCB/HTTPS.
  uint32_t txt_length = 0;

  bool operator==(const DnsRecordFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const DnsRecordFacts& f) {
    return H::combine(std::move(h), f.type, f.name, f.target, f.port, f.priority, f.alpn,
                      f.txt_length);
  }
};

struct DnsFacts {
  std::string query;
  std::string query_type;
  std::string response_code;
  // The answer section as text, in order: A/AAAA addresses and CNAME targets.
  std::vector<std::string> answers;
  bool over_tcp = false;
  // The A/AAAA answers' addresses in binary, in order (what the passive DNS
  // cache learns from; no text to parse again). Empty if there were none.
  std::vector<IpAddress> addresses;
  std::vector<DnsRecordFacts> records;  // Bounded: daemon/dpi/dns.h.
  bool suspicious_name = false;  // A label of 60+ bytes or a name of 160+.
  bool unusual_name = false;     // Bytes outside the host-name alphabet (replaced).
  std::string opcode;            // Empty for a standard query; "IQUERY", ...

  bool operator==(const DnsFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const DnsFacts& f) {
    return H::combine(std::move(h), f.query, f.query_type, f.response_code, f.answers,
                      f.over_tcp, f.addresses, f.records, f.suspicious_name, f.unusual_name,
                      f.opcode);
  }
};

// An SSH identification string split (RFC 4253 §4.2):
// "SSH-2.0-OpenSSH_9.2p1 Debian-2" is protocol "2.0", software
// "OpenSSH_9.2p1", comments "Debian-2". Empty parts if it has no such shape.
struct SshIdentification {
  std::string protocol, software, comments;
};
SshIdentification SplitSshIdentification(std::string_view line);

struct SshFacts {
  std::string client, server;

  bool operator==(const SshFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const SshFacts& f) {
    return H::combine(std::move(h), f.client, f.server);
  }
};

// SMTP, IMAP, POP3 (and FTP's AUTH TLS): the greeting and what the client
// said of itself. After STARTTLS, the handshake's facts go to `tls`.
struct MailFacts {
  std::string greeting;       // The server's first line, without its code.
  std::string client_domain;  // SMTP EHLO/HELO argument.
  bool starttls = false;      // The client asked to upgrade (STARTTLS / STLS / AUTH TLS).

  bool operator==(const MailFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const MailFacts& f) {
    return H::combine(std::move(h), f.greeting, f.client_domain, f.starttls);
  }
};

// FTP control (banner, user) and data connections (the control connection
// that announced them).
struct FtpFacts {
  std::string user;              // USER argument (never PASS).
  uint64_t control_id = 0;       // FTP data: the control connection's id; 0 if unknown.
  std::string data_endpoint;     // Control: the last data endpoint announced ("10.0.0.1:50123").

  bool operator==(const FtpFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const FtpFacts& f) {
    return H::combine(std::move(h), f.user, f.control_id, f.data_endpoint);
  }
};

// Databases and caches (PostgreSQL, MySQL, Redis, Memcached, MongoDB).
struct DbFacts {
  std::string user;            // PostgreSQL startup message.
  std::string database;        // PostgreSQL startup message.
  std::string server_version;  // MySQL greeting.
  std::string command;         // Redis / Memcached / MongoDB: the first command's name.
  bool tls_requested = false;  // PostgreSQL SSLRequest.

  bool operator==(const DbFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const DbFacts& f) {
    return H::combine(std::move(h), f.user, f.database, f.server_version, f.command,
                      f.tls_requested);
  }
};

// Remote access (RDP, VNC) and Windows/LAN protocols (SMB, NetBIOS, SSDP,
// Kerberos): a few short strings each.
struct LanFacts {
  std::string user;          // RDP mstshash cookie; Kerberos client principal.
  std::string version;       // VNC "RFB 003.008"; SMB "SMB 3.1.1" / "SMB 1".
  std::string name;          // NetBIOS name; SSDP search target; Kerberos realm.
  std::string agent;         // SSDP SERVER / USER-AGENT.
  std::string message_type;  // Kerberos "AS-REQ"; SSDP "M-SEARCH"; NetBIOS NS opcode.
  bool tls = false;          // RDP: the client asked for TLS/CredSSP.

  bool operator==(const LanFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const LanFacts& f) {
    return H::combine(std::move(h), f.user, f.version, f.name, f.agent, f.message_type, f.tls);
  }
};

// Issue 19 part B. Never a secret: no MQTT user name or password, no SNMP
// community, no SOCKS user or password, no SIP user parts.
struct MqttFacts {
  std::string version;    // "3.1", "3.1.1", "5.0".
  std::string client_id;  // CONNECT's client identifier.
  std::string topic;      // The first PUBLISH topic or SUBSCRIBE filter.

  bool operator==(const MqttFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const MqttFacts& f) {
    return H::combine(std::move(h), f.version, f.client_id, f.topic);
  }
};

struct SipFacts {
  std::string method;  // The first request's method ("INVITE").
  std::string from_domain, to_domain;
  std::string user_agent;  // User-Agent, or the response's Server.

  bool operator==(const SipFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const SipFacts& f) {
    return H::combine(std::move(h), f.method, f.from_domain, f.to_domain, f.user_agent);
  }
};

struct NetFacts {
  std::string snmp_version;  // "1", "2c", "3".
  std::string snmp_pdu;      // "get-request", "response", ...
  std::string tftp_file;     // RRQ/WRQ file name.
  std::string tftp_op;       // "read" or "write".
  std::string socks_version;  // "4", "4a", "5".
  std::string socks_target;   // "host:port" the client asked for.
  // NTP (RFC 5905 §7.3) of the first packet: 0 until seen.
  uint8_t ntp_version = 0;
  uint8_t ntp_mode = 0;
  uint8_t ntp_stratum = 0;
  // STUN (RFC 8489): the first message's type ("binding-request"), the
  // (XOR-)MAPPED-ADDRESS of the first answer carrying one, the SOFTWARE
  // attribute. Never USERNAME, MESSAGE-INTEGRITY or credentials.
  std::string stun_type;
  std::string stun_mapped;
  std::string stun_software;
  std::string stun_realm;  // REALM (a TURN server's domain), printable.

  bool operator==(const NetFacts&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const NetFacts& f) {
    return H::combine(std::move(h), f.snmp_version, f.snmp_pdu, f.tftp_file, f.tftp_op,
                      f.socks_version, f.socks_target, f.ntp_version, f.ntp_mode, f.ntp_stratum,
                      f.stun_type, f.stun_mapped, f.stun_software, f.stun_realm);
  }
};

struct AppRecord {
  AppProtocol protocol = AppProtocol::kUnknown;
  // One facts struct per protocol family, each allocated only when written
  // (see boxed.h): read them as `record.tls->sni`; unset reads as empty.
  // A record then costs ~170 bytes plus what its own protocol found,
  // where all of them inline made 1,768.
  Boxed<HttpFacts> http;
  Boxed<TlsFacts> tls;  // TLS, and QUIC's inner handshake.
  Boxed<DnsFacts> dns;
  Boxed<SshFacts> ssh;
  std::string quic_version;
  std::string dhcp_hostname;
  Boxed<MailFacts> mail;  // SMTP, IMAP, POP3, FTP control (greeting, AUTH TLS).
  Boxed<FtpFacts> ftp;
  Boxed<DbFacts> db;
  Boxed<LanFacts> lan;  // RDP, VNC, SMB, NetBIOS, SSDP, Kerberos.
  Boxed<MqttFacts> mqtt;
  Boxed<SipFacts> sip;
  Boxed<NetFacts> net;  // SNMP, TFTP, SOCKS, NTP, STUN.

  // Equal records are interchangeable: DpiEngine shares one between
  // connections with the same facts. (Add new fields to the hash too; one
  // left out only makes collisions likelier.)
  bool operator==(const AppRecord&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const AppRecord& r) {
    return H::combine(std::move(h), r.protocol, r.http, r.tls, r.dns, r.ssh, r.quic_version,
                      r.dhcp_hostname, r.mail, r.ftp, r.db, r.lan, r.mqtt, r.sip, r.net);
  }

  // The best name for the remote end and where it came from.
  std::string Hostname() const;
  std::string_view HostnameSource() const;
  // "HTTPS · example.com", "DNS · example.com", "SSH · OpenSSH_9.2p1".
  std::string Label() const;
};

std::string_view AppProtocolName(AppProtocol p);  // "http", "tls", ...
// RFC 5905 §7.3 modes: 3 -> "client"; "" for 0 (not seen).
std::string_view NtpModeName(uint8_t mode);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RECORD_APP_RECORD_H_
