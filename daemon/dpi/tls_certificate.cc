#include "daemon/dpi/tls_certificate.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_reader.h"
#include "daemon/dpi/tls_wire.h"

namespace rustnet {
namespace {

constexpr size_t kMaxNameBytes = 255;

// DER tags (X.690 §8.1.2) this reader needs.
constexpr uint8_t kTagBoolean = 0x01;
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagBmpString = 0x1e;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagSet = 0x31;
constexpr uint8_t kTagVersion = 0xa0;     // [0] EXPLICIT, TBSCertificate.version.
constexpr uint8_t kTagExtensions = 0xa3;  // [3] EXPLICIT, TBSCertificate.extensions.
constexpr uint8_t kTagDnsName = 0x82;     // [2] IMPLICIT IA5String, GeneralName.dNSName.
// id-at-commonName (2.5.4.3) and id-ce-subjectAltName (2.5.29.17), encoded.
constexpr uint8_t kOidCommonName[] = {0x55, 0x04, 0x03};
constexpr uint8_t kOidSubjectAltName[] = {0x55, 0x1d, 0x11};

struct Tlv {
  uint8_t tag = 0;
  ByteReader value;
};

// One DER element at `r`'s cursor: a low tag number (high-tag-number form
// is refused: X.509 needs none), a definite length of at most 3 bytes, the
// value within `r`. Nullopt if any of it is missing or malformed.
std::optional<Tlv> ReadTlv(ByteReader& r) {
  auto tag = r.U8();
  auto first = tag ? r.U8() : std::nullopt;
  if (!first || (*tag & 0x1f) == 0x1f) return std::nullopt;
  size_t length = *first;
  if (*first >= 0x80) {
    const size_t bytes = *first & 0x7fu;
    if (bytes == 0 || bytes > 3) return std::nullopt;  // Indefinite, or over 16 MiB.
    length = 0;
    for (size_t i = 0; i < bytes; ++i) {
      auto b = r.U8();
      if (!b) return std::nullopt;
      length = (length << 8) | *b;
    }
  }
  auto value = r.Sub(length);
  if (!value) return std::nullopt;
  return Tlv{*tag, *value};
}

// The next element, which must have `tag`.
std::optional<ByteReader> Expect(ByteReader& r, uint8_t tag) {
  auto tlv = ReadTlv(r);
  if (!tlv || tlv->tag != tag) return std::nullopt;
  return tlv->value;
}

bool IsOid(ByteReader oid, std::span<const uint8_t> want) {
  const auto got = oid.rest();
  return got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin());
}

// A directory string as printable ASCII: BMPString (UTF-16BE) by its low
// bytes, the 8-bit string types as they are (other bytes '?').
std::string DirectoryString(const Tlv& s) {
  const auto bytes = s.value.rest();
  if (s.tag != kTagBmpString) return TlsPrintable(bytes, kMaxNameBytes);
  std::string out;
  for (size_t i = 0; i + 1 < bytes.size() && out.size() < kMaxNameBytes; i += 2) {
    const uint8_t c = bytes[i + 1];
    out.push_back(bytes[i] == 0 && c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

// Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }: the last
// commonName (the most specific; what browsers and curl take). False if
// malformed.
bool SubjectCommonName(ByteReader name, std::string* cn) {
  while (!name.empty()) {
    auto rdn = Expect(name, kTagSet);
    if (!rdn) return false;
    while (!rdn->empty()) {
      auto attribute = Expect(*rdn, kTagSequence);
      auto oid = attribute ? Expect(*attribute, kTagOid) : std::nullopt;
      auto value = oid ? ReadTlv(*attribute) : std::nullopt;
      if (!value) return false;
      if (IsOid(*oid, kOidCommonName)) *cn = DirectoryString(*value);
    }
  }
  return true;
}

// Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN
// DEFAULT FALSE, extnValue OCTET STRING }: subjectAltName's dNSNames.
bool SubjectAltNames(ByteReader extensions, std::vector<std::string>* names) {
  auto list = Expect(extensions, kTagSequence);
  if (!list || !extensions.empty()) return false;
  while (!list->empty()) {
    auto extension = Expect(*list, kTagSequence);
    auto oid = extension ? Expect(*extension, kTagOid) : std::nullopt;
    auto next = oid ? ReadTlv(*extension) : std::nullopt;
    if (next && next->tag == kTagBoolean) next = ReadTlv(*extension);
    if (!next || next->tag != kTagOctetString) return false;
    if (!IsOid(*oid, kOidSubjectAltName)) continue;
    // GeneralNames ::= SEQUENCE OF GeneralName (a CHOICE of tagged values).
    auto general_names = Expect(next->value, kTagSequence);
    if (!general_names) return false;
    while (!general_names->empty()) {
      auto g = ReadTlv(*general_names);
      if (!g) return false;
      if (g->tag != kTagDnsName || names->size() >= kMaxCertificateNamesKept) continue;
      std::string name = TlsPrintable(g->value.rest(), kMaxNameBytes);
      if (!name.empty()) names->push_back(std::move(name));
    }
  }
  return true;
}

// RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
// signatureValue }, TBSCertificate ::= SEQUENCE { [0] version OPTIONAL,
// serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo,
// [1] [2] unique ids OPTIONAL, [3] extensions OPTIONAL }.
bool LeafNames(std::span<const uint8_t> der, std::string* cn, std::vector<std::string>* names) {
  ByteReader r(der);
  auto certificate = Expect(r, kTagSequence);
  if (!certificate || !r.empty()) return false;
  auto tbs = Expect(*certificate, kTagSequence);
  if (!tbs) return false;
  auto field = ReadTlv(*tbs);
  if (field && field->tag == kTagVersion) field = ReadTlv(*tbs);
  if (!field || field->tag != kTagInteger) return false;  // serialNumber.
  std::optional<ByteReader> subject;
  for (int i = 0; i < 5; ++i) {  // signature, issuer, validity, subject, subjectPublicKeyInfo.
    auto s = Expect(*tbs, kTagSequence);
    if (!s) return false;
    if (i == 3) subject = s;
  }
  if (!SubjectCommonName(*subject, cn)) return false;
  while (!tbs->empty()) {
    auto optional = ReadTlv(*tbs);
    if (!optional) return false;
    if (optional->tag == kTagExtensions && !SubjectAltNames(optional->value, names)) return false;
  }
  return true;
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
  std::string cn;
  std::vector<std::string> names;
  if (!LeafNames(leaf->rest(), &cn, &names)) {
    CountAnomaly(anomalies, tls_certificate_anomaly::kCertificateDerMalformed);
    return false;
  }
  tls->certificate_cn = std::move(cn);
  tls->certificate_names = std::move(names);
  return true;
}

}  // namespace rustnet
