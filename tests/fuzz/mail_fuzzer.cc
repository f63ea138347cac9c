// libFuzzer target: the SMTP, IMAP and POP3 dissectors (and the TLS
// session a STARTTLS hands over to), fed in arbitrary chunks.
#include "common/flow_key.h"
#include "daemon/dpi/mail.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* smtp = rustnet::MakeSmtpDissector().release();
  static const auto* imap = rustnet::MakeImapDissector().release();
  static const auto* pop3 = rustnet::MakePop3Dissector().release();
  rustnet::FuzzDissector(*smtp, rustnet::kIpProtoTcp, data, size);
  rustnet::FuzzDissector(*imap, rustnet::kIpProtoTcp, data, size);
  rustnet::FuzzDissector(*pop3, rustnet::kIpProtoTcp, data, size);
  return 0;
}
