#include "daemon/record/app_record.h"

namespace rustnet {

std::string_view AppProtocolName(AppProtocol p) {
  switch (p) {
    case AppProtocol::kHttp: return "http";
    case AppProtocol::kTls: return "tls";
    case AppProtocol::kDns: return "dns";
    case AppProtocol::kSsh: return "ssh";
    case AppProtocol::kQuic: return "quic";
    case AppProtocol::kNtp: return "ntp";
    case AppProtocol::kMdns: return "mdns";
    case AppProtocol::kDhcp: return "dhcp";
    case AppProtocol::kStun: return "stun";
    case AppProtocol::kSmtp: return "smtp";
    case AppProtocol::kImap: return "imap";
    case AppProtocol::kPop3: return "pop3";
    case AppProtocol::kSmtps: return "smtps";
    case AppProtocol::kImaps: return "imaps";
    case AppProtocol::kPops: return "pops";
    case AppProtocol::kFtp: return "ftp";
    case AppProtocol::kFtpData: return "ftp-data";
    case AppProtocol::kPostgresql: return "postgresql";
    case AppProtocol::kMysql: return "mysql";
    case AppProtocol::kRedis: return "redis";
    case AppProtocol::kMemcached: return "memcached";
    case AppProtocol::kMongodb: return "mongodb";
    case AppProtocol::kRdp: return "rdp";
    case AppProtocol::kVnc: return "vnc";
    case AppProtocol::kTelnet: return "telnet";
    case AppProtocol::kSmb: return "smb";
    case AppProtocol::kNetbiosNs: return "netbios-ns";
    case AppProtocol::kNetbiosSession: return "netbios-ssn";
    case AppProtocol::kLlmnr: return "llmnr";
    case AppProtocol::kSsdp: return "ssdp";
    case AppProtocol::kKerberos: return "kerberos";
    case AppProtocol::kMqtt: return "mqtt";
    case AppProtocol::kAmqp: return "amqp";
    case AppProtocol::kNats: return "nats";
    case AppProtocol::kModbus: return "modbus";
    case AppProtocol::kCoap: return "coap";
    case AppProtocol::kBittorrent: return "bittorrent";
    case AppProtocol::kOpenvpn: return "openvpn";
    case AppProtocol::kWireguard: return "wireguard";
    case AppProtocol::kIke: return "ike";
    case AppProtocol::kSip: return "sip";
    case AppProtocol::kRtsp: return "rtsp";
    case AppProtocol::kSyslog: return "syslog";
    case AppProtocol::kTftp: return "tftp";
    case AppProtocol::kSnmp: return "snmp";
    case AppProtocol::kLdap: return "ldap";
    case AppProtocol::kIrc: return "irc";
    case AppProtocol::kNntp: return "nntp";
    case AppProtocol::kRsync: return "rsync";
    case AppProtocol::kGit: return "git";
    case AppProtocol::kSocks: return "socks";
    case AppProtocol::kDtls: return "dtls";
    case AppProtocol::kHttp2: return "http2";
    case AppProtocol::kUnknown: break;
  }
  return "";
}

std::string_view NtpModeName(uint8_t mode) {
  switch (mode) {
    case 1: return "symmetric-active";
    case 2: return "symmetric-passive";
    case 3: return "client";
    case 4: return "server";
    case 5: return "broadcast";
    case 6: return "control";
    case 7: return "private";
    default: return "";
  }
}

SshIdentification SplitSshIdentification(std::string_view line) {
  SshIdentification out;
  if (line.substr(0, 4) != "SSH-") return out;
  line.remove_prefix(4);
  const size_t dash = line.find('-');
  if (dash == std::string_view::npos) return out;
  out.protocol = std::string(line.substr(0, dash));
  line.remove_prefix(dash + 1);
  const size_t space = line.find(' ');
  out.software = std::string(line.substr(0, space));
  if (space != std::string_view::npos) out.comments = std::string(line.substr(space + 1));
  return out;
}

namespace {

// "example.com:8080" -> "example.com", "[fd00::1]:80" -> "fd00::1"; a bare
// IPv6 address (several colons) is left alone.
std::string WithoutPort(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  if (colon != std::string::npos && host.find(':', colon + 1) == std::string::npos) {
    return host.substr(0, colon);
  }
  return host;
}

}  // namespace

std::string AppRecord::Hostname() const {
  if (!tls->sni.empty()) return tls->sni;
  if (!http->host.empty()) return WithoutPort(http->host);
  if (!dns->query.empty()) return dns->query;
  if (!dhcp_hostname.empty()) return dhcp_hostname;
  return {};
}

std::string_view AppRecord::HostnameSource() const {
  if (!tls->sni.empty()) return "sni";
  if (!http->host.empty()) return "http";
  if (!dns->query.empty()) return "dns";
  if (!dhcp_hostname.empty()) return "dhcp";
  return {};
}

std::string AppRecord::Label() const {
  std::string name;
  switch (protocol) {
    case AppProtocol::kHttp: name = "HTTP"; break;
    case AppProtocol::kTls: name = "HTTPS"; break;
    case AppProtocol::kDns: name = "DNS"; break;
    case AppProtocol::kSsh: name = "SSH"; break;
    case AppProtocol::kQuic: name = "QUIC"; break;
    case AppProtocol::kNtp: name = "NTP"; break;
    case AppProtocol::kMdns: name = "mDNS"; break;
    case AppProtocol::kDhcp: name = "DHCP"; break;
    case AppProtocol::kStun: name = "STUN"; break;
    case AppProtocol::kSmtp: name = "SMTP"; break;
    case AppProtocol::kImap: name = "IMAP"; break;
    case AppProtocol::kPop3: name = "POP3"; break;
    case AppProtocol::kSmtps: name = "SMTPS"; break;
    case AppProtocol::kImaps: name = "IMAPS"; break;
    case AppProtocol::kPops: name = "POP3S"; break;
    case AppProtocol::kFtp: name = "FTP"; break;
    case AppProtocol::kFtpData: name = "FTP-DATA"; break;
    case AppProtocol::kPostgresql: name = "PostgreSQL"; break;
    case AppProtocol::kMysql: name = "MySQL"; break;
    case AppProtocol::kRedis: name = "Redis"; break;
    case AppProtocol::kMemcached: name = "Memcached"; break;
    case AppProtocol::kMongodb: name = "MongoDB"; break;
    case AppProtocol::kRdp: name = "RDP"; break;
    case AppProtocol::kVnc: name = "VNC"; break;
    case AppProtocol::kTelnet: name = "Telnet"; break;
    case AppProtocol::kSmb: name = "SMB"; break;
    case AppProtocol::kNetbiosNs: name = "NetBIOS-NS"; break;
    case AppProtocol::kNetbiosSession: name = "NetBIOS-SSN"; break;
    case AppProtocol::kLlmnr: name = "LLMNR"; break;
    case AppProtocol::kSsdp: name = "SSDP"; break;
    case AppProtocol::kKerberos: name = "Kerberos"; break;
    case AppProtocol::kMqtt: name = "MQTT"; break;
    case AppProtocol::kAmqp: name = "AMQP"; break;
    case AppProtocol::kNats: name = "NATS"; break;
    case AppProtocol::kModbus: name = "Modbus"; break;
    case AppProtocol::kCoap: name = "CoAP"; break;
    case AppProtocol::kBittorrent: name = "BitTorrent"; break;
    case AppProtocol::kOpenvpn: name = "OpenVPN"; break;
    case AppProtocol::kWireguard: name = "WireGuard"; break;
    case AppProtocol::kIke: name = "IKE"; break;
    case AppProtocol::kSip: name = "SIP"; break;
    case AppProtocol::kRtsp: name = "RTSP"; break;
    case AppProtocol::kSyslog: name = "Syslog"; break;
    case AppProtocol::kTftp: name = "TFTP"; break;
    case AppProtocol::kSnmp: name = "SNMP"; break;
    case AppProtocol::kLdap: name = "LDAP"; break;
    case AppProtocol::kIrc: name = "IRC"; break;
    case AppProtocol::kNntp: name = "NNTP"; break;
    case AppProtocol::kRsync: name = "rsync"; break;
    case AppProtocol::kGit: name = "Git"; break;
    case AppProtocol::kSocks: name = "SOCKS"; break;
    case AppProtocol::kDtls: name = "DTLS"; break;
    case AppProtocol::kHttp2: name = "HTTP/2"; break;
    case AppProtocol::kUnknown: return {};
  }
  if ((protocol == AppProtocol::kSmtp || protocol == AppProtocol::kImap ||
       protocol == AppProtocol::kPop3 || protocol == AppProtocol::kFtp) &&
      mail->starttls) {
    name += "+TLS";
  }
  // TLS that is not HTTP (ALPN says otherwise) keeps the plain name.
  if (protocol == AppProtocol::kTls && !tls->alpn.empty() && tls->alpn[0] != "h2" &&
      tls->alpn[0].rfind("http/", 0) != 0) {
    name = "TLS";
  }
  std::string detail = Hostname();
  if (detail.empty() && protocol == AppProtocol::kSsh) {
    detail = !ssh->server.empty() ? ssh->server : ssh->client;
    if (detail.rfind("SSH-2.0-", 0) == 0) detail = detail.substr(8);
  }
  // The first non-empty fact of the newer protocols' records.
  for (const std::string* s : {&mail->client_domain, &ftp->user, &db->database, &db->server_version,
                               &db->command, &lan->name, &lan->user, &lan->version}) {
    if (!detail.empty()) break;
    detail = *s;
  }
  if (detail.empty()) {
    switch (protocol) {
      case AppProtocol::kMqtt: detail = !mqtt->topic.empty() ? mqtt->topic : mqtt->client_id; break;
      case AppProtocol::kSip: detail = !sip->to_domain.empty() ? sip->to_domain : sip->from_domain; break;
      case AppProtocol::kTftp: detail = net->tftp_file; break;
      case AppProtocol::kSocks: detail = net->socks_target; break;
      case AppProtocol::kSnmp: detail = net->snmp_pdu; break;
      default: break;
    }
  }
  return detail.empty() ? name : name + " \u00b7 " + detail;
}

}  // namespace rustnet
