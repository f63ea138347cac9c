#include "daemon/dpi/tls_certificate.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_reader.h"
#include "daemon/dpi/tls_wire.h"

namespace rustnet {
namespace {

constexpr size_t kMaxNameBytes = 255;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::string Printable(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  const int len = ASN1_STRING_length(s);
  const unsigned char* data = ASN1_STRING_get0_data(s);
  if (len <= 0 || data == nullptr) return {};
  return TlsPrintable(std::span<const uint8_t>(data, static_cast<size_t>(len)), kMaxNameBytes);
}

}  // namespace

bool ParseTlsCertificateMessage(std::span<const uint8_t> body, TlsFacts* tls,
                                DpiAnomalies* anomalies) {
  // RFC 5246 §7.4.2: certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1>;
  // the sender's (leaf) certificate comes first.
  ByteReader r(body);
  auto list = r.PrefixedU24();
  auto leaf = list ? list->PrefixedU24() : std::nullopt;
  if (!list || !r.empty() || (!leaf && !list->empty())) {
    CountAnomaly(anomalies, tls_certificate_anomaly::kCertificateListMalformed);
    return false;
  }
  if (!leaf) return true;  // An empty list: no certificate (legal, RFC 5246 §7.4.6).
  const std::span<const uint8_t> der = leaf->rest();
  if (der.empty() || der.size() > static_cast<size_t>(INT_MAX)) {
    CountAnomaly(anomalies, tls_certificate_anomaly::kCertificateListMalformed);
    return false;
  }
  const unsigned char* p = der.data();
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) {
    CountAnomaly(anomalies, tls_certificate_anomaly::kCertificateDerMalformed);
    return false;
  }
  std::string cn;
  if (X509_NAME* subject = X509_get_subject_name(cert.get()); subject != nullptr) {
    // The last CN is the most specific (RFC 6125 §2.3.1 leaves it open;
    // browsers and curl take the last).
    int last = -1;
    for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
      last = i;
    }
    if (last >= 0) {
      cn = Printable(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
    }
  }
  std::vector<std::string> names;
  int critical = 0;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, &critical, nullptr)));
  if (sans) {
    const int n = sk_GENERAL_NAME_num(sans.get());
    for (int i = 0; i < n && names.size() < kMaxCertificateNamesKept; ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans.get(), i);
      if (g == nullptr || g->type != GEN_DNS) continue;
      std::string name = Printable(g->d.dNSName);
      if (!name.empty()) names.push_back(std::move(name));
    }
  } else if (critical != -1) {
    // Present but undecodable, or present more than once (-2).
    CountAnomaly(anomalies, tls_certificate_anomaly::kCertificateDerMalformed);
  }
  tls->certificate_cn = std::move(cn);
  tls->certificate_names = std::move(names);
  return true;
}

}  // namespace rustnet
