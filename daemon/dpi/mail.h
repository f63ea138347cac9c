// Mail: SMTP (RFC 5321, STARTTLS RFC 3207), IMAP (RFC 9051), POP3
// (RFC 1939, STLS RFC 2595), recognised by their greetings and commands on
// any port. Kept: the server's greeting line, SMTP's EHLO/HELO name, and
// whether the client upgraded to TLS — then the TLS handshake's facts
// (SNI, JA4, version ...) of the same connection. Never kept: user names,
// passwords, AUTH exchanges, addresses of MAIL FROM/RCPT TO, message text.
//
// The implicit-TLS ports (465 SMTPS, 993 IMAPS, 995 POP3S) carry plain
// TLS; RelabelImplicitTls names them after the fact.
#ifndef RUSTNET_DAEMON_DPI_MAIL_H_
#define RUSTNET_DAEMON_DPI_MAIL_H_

#include <cstdint>
#include <memory>
#include <span>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_MAIL_ANOMALIES(X) \
  X(kLineTooLong, "mail_line_too_long")
RUSTNET_DECLARE_DPI_ANOMALIES(mail_anomaly, RUSTNET_MAIL_ANOMALIES)

std::unique_ptr<Dissector> MakeSmtpDissector();
std::unique_ptr<Dissector> MakeImapDissector();
std::unique_ptr<Dissector> MakePop3Dissector();

// A TLS record of `protocol` on server port 465, 993 or 995 becomes SMTPS,
// IMAPS or POP3S.
void RelabelImplicitTls(uint16_t server_port, AppRecord* record);

// The TLS handshake after a STARTTLS-style upgrade, as a line protocol's
// session runs it: facts go to record->tls, the protocol stays `protocol`.
class TlsUpgrade {
 public:
  // Starts the inner TLS session (once).
  void Start(const FlowInfo& flow);
  bool started() const { return session_ != nullptr; }
  // kDone once the handshake told what it will (or was not TLS after all).
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppProtocol protocol,
                  AppRecord* record, DpiAnomalies* anomalies);
  size_t MemoryUsage() const { return session_ ? 64 + session_->MemoryUsage() : 0; }

 private:
  std::unique_ptr<Session> session_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_MAIL_H_
