// The server certificate's names (TLS <= 1.2): real DER made with
// libcrypto, fed whole, byte by byte and at random splits across records;
// malformed lists and DER named after their defect.
#include "daemon/dpi/tls_certificate.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/tls.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Split;

const FlowInfo kFlow{kIpProtoTcp, 51000, 8443};

// A self-signed EC certificate with subject CN `cn` and SAN dNSNames `sans`
// (plus one IP address SAN, which is not a name), as DER.
Bytes MakeCertificate(const std::string& cn, const std::vector<std::string>& sans,
                      bool critical_san = false) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  REQUIRE(x);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Rustnet Test"), -1, -1, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(x.get(), name);
  if (!sans.empty()) {
    std::string value = critical_san ? "critical," : "";
    for (const std::string& s : sans) value += "DNS:" + s + ",";
    value += "IP:192.0.2.1";
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, value.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) > 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  REQUIRE(len > 0);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

void Put24(Bytes& b, size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

// A Certificate message body: the list of `certs`.
Bytes CertificateBody(const std::vector<Bytes>& certs) {
  Bytes list;
  for (const Bytes& c : certs) {
    Put24(list, c.size());
    testing::PutBytes(list, c);
  }
  Bytes body;
  Put24(body, list.size());
  testing::PutBytes(body, list);
  return body;
}

Bytes Handshake(uint8_t type, const Bytes& body) {
  Bytes msg = {type};
  Put24(msg, body.size());
  testing::PutBytes(msg, body);
  return msg;
}

// TLS 1.2 ServerHello (no extensions), Certificate, ServerHelloDone.
Bytes ServerFlight(const Bytes& certificate_body, size_t record_size = 16384) {
  Bytes hello;
  testing::Put16(hello, 0x0303);
  hello.insert(hello.end(), 32, 0x44);
  testing::Put8(hello, 0);
  testing::Put16(hello, 0xc02f);
  testing::Put8(hello, 0);
  Bytes messages = Handshake(2, hello);
  testing::PutBytes(messages, Handshake(11, certificate_body));
  testing::PutBytes(messages, Handshake(14, {}));
  return testing::TlsRecords(messages, record_size);
}

Bytes ClientFlight() {
  testing::HelloSpec spec;
  spec.versions = {0x0303};
  return testing::TlsRecords(testing::MakeClientHelloMessage(spec));
}

TEST_CASE("tls certificate: the leaf's CN and SAN names, whole, byte by byte, random splits",
          "[dpi][tls]") {
  const Bytes leaf = MakeCertificate("www.example.test", {"www.example.test", "example.test",
                                                          "*.cdn.example.test"});
  const Bytes issuer = MakeCertificate("Rustnet Test CA", {});
  // Records of 700 bytes: the Certificate spans several records.
  const Bytes server = ServerFlight(CertificateBody({leaf, issuer}), 700);
  auto d = MakeTlsDissector();
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    for (uint32_t seed = 1; seed <= (split == Split::kRandom ? 10u : 1u); ++seed) {
      AppRecord r;
      DpiAnomalies a;
      CHECK(testing::FeedSession(*d, kFlow, {{true, ClientFlight()}, {false, server}}, split, &r,
                                 &a, seed) == ParseState::kDone);
      CHECK(r.tls->version == "TLS 1.2");
      CHECK(r.tls->certificate_cn == "www.example.test");
      CHECK(r.tls->certificate_names ==
            std::vector<std::string>{"www.example.test", "example.test", "*.cdn.example.test"});
      CHECK(a.empty());
    }
  }
}

TEST_CASE("tls certificate: at most kMaxCertificateNamesKept SAN names", "[dpi][tls]") {
  std::vector<std::string> sans;
  for (int i = 0; i < 40; ++i) sans.push_back("host" + std::to_string(i) + ".example.test");
  TlsFacts t;
  DpiAnomalies a;
  CHECK(ParseTlsCertificateMessage(CertificateBody({MakeCertificate("", sans)}), &t, &a));
  CHECK(t.certificate_cn.empty());
  REQUIRE(t.certificate_names.size() == kMaxCertificateNamesKept);
  CHECK(t.certificate_names.front() == "host0.example.test");
  CHECK(a.empty());
}

TEST_CASE("tls certificate: a critical subjectAltName is read like any other",
          "[dpi][tls]") {
  Bytes der = MakeCertificate("first.example.test", {"san.example.test"}, true);
  TlsFacts t;
  DpiAnomalies a;
  CHECK(ParseTlsCertificateMessage(CertificateBody({der}), &t, &a));
  CHECK(t.certificate_cn == "first.example.test");
  CHECK(t.certificate_names == std::vector<std::string>{"san.example.test"});
  CHECK(a.empty());
}

TEST_CASE("tls certificate: an empty list (no certificate) is legal and sets nothing",
          "[dpi][tls]") {
  TlsFacts t;
  DpiAnomalies a;
  CHECK(ParseTlsCertificateMessage(CertificateBody({}), &t, &a));
  CHECK(t.certificate_cn.empty());
  CHECK(a.empty());
}

TEST_CASE("tls certificate: tls_certificate_list_malformed: lengths past the message",
          "[dpi][tls]") {
  const Bytes good = CertificateBody({MakeCertificate("a.test", {"a.test"})});
  for (size_t cut : {size_t{0}, size_t{2}, size_t{5}, good.size() / 2, good.size() - 1}) {
    TlsFacts t;
    DpiAnomalies a;
    CHECK_FALSE(ParseTlsCertificateMessage(std::span<const uint8_t>(good).first(cut), &t, &a));
    CHECK(a["tls_certificate_list_malformed"] == 1);
    CHECK(t.certificate_cn.empty());
  }
  // Bytes after the list.
  Bytes trailing = good;
  trailing.push_back(0);
  TlsFacts t;
  DpiAnomalies a;
  CHECK_FALSE(ParseTlsCertificateMessage(trailing, &t, &a));
  CHECK(a["tls_certificate_list_malformed"] == 1);
}

TEST_CASE("tls certificate: tls_certificate_der_malformed: DER that is not a certificate",
          "[dpi][tls]") {
  Bytes der = MakeCertificate("a.test", {"a.test"});
  SECTION("garbage") {
    Bytes junk(200, 0x30);
    TlsFacts t;
    DpiAnomalies a;
    CHECK_FALSE(ParseTlsCertificateMessage(CertificateBody({junk}), &t, &a));
    CHECK(a["tls_certificate_der_malformed"] == 1);
  }
  SECTION("a certificate cut short inside its own list entry") {
    der.resize(der.size() - 10);
    TlsFacts t;
    DpiAnomalies a;
    CHECK_FALSE(ParseTlsCertificateMessage(CertificateBody({der}), &t, &a));
    CHECK(a["tls_certificate_der_malformed"] == 1);
  }
  SECTION("every single-byte corruption: never a crash, names or a count") {
    for (size_t i = 0; i < der.size(); i += 3) {
      Bytes bad = der;
      bad[i] ^= 0x5a;
      TlsFacts t;
      DpiAnomalies a;
      const bool ok = ParseTlsCertificateMessage(CertificateBody({bad}), &t, &a);
      CHECK((ok || !a.empty()));
    }
  }
}

TEST_CASE("tls certificate: a server that skips its Certificate (ServerHelloDone) ends",
          "[dpi][tls]") {
  Bytes hello;
  testing::Put16(hello, 0x0303);
  hello.insert(hello.end(), 32, 0x44);
  testing::Put8(hello, 0);
  testing::Put16(hello, 0x00a6);  // An anonymous DH suite.
  testing::Put8(hello, 0);
  Bytes messages = Handshake(2, hello);
  testing::PutBytes(messages, Handshake(12, Bytes(40, 1)));  // ServerKeyExchange.
  testing::PutBytes(messages, Handshake(14, {}));
  auto d = MakeTlsDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, ClientFlight()}, {false, testing::TlsRecords(messages)}},
                             Split::kByteByByte, &r, &a) == ParseState::kDone);
  CHECK(r.tls->cipher_suite == "0x00a6");
  CHECK(r.tls->certificate_names.empty());
  CHECK(a.empty());
}

}  // namespace
}  // namespace rustnet
