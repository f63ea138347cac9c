// bench_dpi_names: what the DPI names of issue 19 cost per message, each
// beside a baseline measured in the same run:
//  - ParseDnsMessage on a response with 7 name-carrying answers (CNAME, SRV,
//    MX, NS, PTR, HTTPS, TXT) vs one with 7 A answers (what was parsed
//    before);
//  - ParseTlsCertificateMessage on a 2-certificate chain (EC P-256 leaf
//    with 3 SAN names) vs ParseClientHello (what every TLS flow pays).
// Interleaved REPS rounds; prints the median ns per call of each.
//
// Usage: bench_dpi_names [REPS]
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "daemon/dpi/dns.h"
#include "daemon/dpi/tls.h"
#include "daemon/dpi/tls_certificate.h"

namespace rustnet {
namespace {

using Bytes = std::vector<uint8_t>;

void Put8(Bytes& b, unsigned v) { b.push_back(static_cast<uint8_t>(v)); }
void Put16(Bytes& b, unsigned v) {
  Put8(b, v >> 8);
  Put8(b, v & 0xff);
}
void Put24(Bytes& b, size_t v) {
  Put8(b, static_cast<unsigned>(v >> 16));
  Put16(b, static_cast<unsigned>(v & 0xffff));
}
void PutName(Bytes& b, const std::string& name) {
  size_t start = name == "." ? 1 : 0;  // The root: no label.
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    Put8(b, static_cast<unsigned>(dot - start));
    b.insert(b.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  Put8(b, 0);
}

Bytes DnsResponse(bool named) {
  Bytes b;
  for (unsigned v : {0x1234u, 0x8180u, 1u, 7u, 0u, 0u}) Put16(b, v);
  PutName(b, "_sip._udp.example.net");
  Put16(b, 33);
  Put16(b, 1);
  auto rr = [&](unsigned type, const Bytes& rdata) {
    Put8(b, 0xc0);
    Put8(b, 12);
    Put16(b, type);
    Put16(b, 1);
    Put16(b, 0);
    Put16(b, 300);
    Put16(b, static_cast<unsigned>(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
  };
  if (!named) {
    for (unsigned i = 0; i < 7; ++i) rr(1, Bytes{192, 0, 2, static_cast<uint8_t>(i)});
    return b;
  }
  auto name = [](const std::string& n, std::vector<unsigned> prefix16 = {}) {
    Bytes r;
    for (unsigned v : prefix16) Put16(r, v);
    PutName(r, n);
    return r;
  };
  rr(5, name("alias.example.net"));
  rr(33, name("sip1.example.net", {10, 60, 5060}));
  rr(15, name("mx.example.net", {20}));
  rr(2, name("ns1.example.net"));
  rr(12, name("host-7.example.net"));
  Bytes https = name(".", {1});
  for (unsigned v : {1u, 6u}) Put16(https, v);
  for (uint8_t c : Bytes{2, 'h', '2', 2, 'h', '3'}) Put8(https, c);
  for (unsigned v : {3u, 2u, 8443u}) Put16(https, v);
  rr(65, https);
  rr(16, Bytes{11, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 'a', 'l', 'l'});
  return b;
}

Bytes Certificate(const std::string& cn, const std::vector<std::string>& sans) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, n);
  if (!sans.empty()) {
    std::string v;
    for (const std::string& s : sans) v += (v.empty() ? "DNS:" : ",DNS:") + s;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, v.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  Bytes out(der, der + std::max(len, 0));
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

Bytes CertificateBody() {
  Bytes list;
  for (const Bytes& c : {Certificate("www.example.net", {"www.example.net", "example.net",
                                                         "*.cdn.example.net"}),
                         Certificate("Example CA", {})}) {
    Put24(list, c.size());
    list.insert(list.end(), c.begin(), c.end());
  }
  Bytes body;
  Put24(body, list.size());
  body.insert(body.end(), list.begin(), list.end());
  return body;
}

// A typical ClientHello body: 16 suites, SNI, ALPN, versions, sigalgs.
Bytes ClientHelloBody() {
  Bytes b;
  Put16(b, 0x0303);
  b.insert(b.end(), 32, 0x11);
  Put8(b, 32);
  b.insert(b.end(), 32, 0x22);
  Put16(b, 32);
  for (unsigned i = 0; i < 16; ++i) Put16(b, 0xc000 + i);
  Put8(b, 1);
  Put8(b, 0);
  Bytes ext;
  auto add = [&](unsigned type, const Bytes& data) {
    Put16(ext, type);
    Put16(ext, static_cast<unsigned>(data.size()));
    ext.insert(ext.end(), data.begin(), data.end());
  };
  Bytes sni;
  Put16(sni, 14);
  Put8(sni, 0);
  Put16(sni, 11);
  for (char c : std::string("example.net")) Put8(sni, static_cast<uint8_t>(c));
  add(0, sni);
  add(16, Bytes{0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'});
  add(43, Bytes{4, 3, 4, 3, 3});
  add(13, Bytes{0, 8, 4, 3, 8, 4, 4, 1, 5, 3});
  Put16(b, static_cast<unsigned>(ext.size()));
  b.insert(b.end(), ext.begin(), ext.end());
  return b;
}

double NsPerCall(const std::function<void()>& f, int calls) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(end - start).count() / calls;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace rustnet

int main(int argc, char** argv) {
  using namespace rustnet;
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  const Bytes named = DnsResponse(true), plain = DnsResponse(false);
  const Bytes cert = CertificateBody(), hello = ClientHelloBody();
  std::vector<double> t_named, t_plain, t_cert, t_hello;
  size_t sink = 0;
  for (int r = 0; r < reps; ++r) {
    t_plain.push_back(NsPerCall([&] { sink += ParseDnsMessage(plain, nullptr)->answers.size(); },
                                20000));
    t_named.push_back(NsPerCall([&] { sink += ParseDnsMessage(named, nullptr)->records.size(); },
                                20000));
    t_hello.push_back(NsPerCall(
        [&] {
          TlsFacts t;
          sink += ParseClientHello(hello, false, &t, nullptr) ? t.alpn.size() : 0;
        },
        20000));
    t_cert.push_back(NsPerCall(
        [&] {
          TlsFacts t;
          sink += ParseTlsCertificateMessage(cert, &t, nullptr) ? t.certificate_names.size() : 0;
        },
        2000));
  }
  std::printf("DNS response, 7 A answers (baseline):      %8.0f ns\n", Median(t_plain));
  std::printf("DNS response, 7 name-carrying records:     %8.0f ns  (%.2fx)\n", Median(t_named),
              Median(t_named) / Median(t_plain));
  std::printf("TLS ClientHello (baseline, every flow):    %8.0f ns\n", Median(t_hello));
  std::printf("TLS 1.2 Certificate names (%zu-byte chain): %8.0f ns  (%.2fx)\n", cert.size(),
              Median(t_cert), Median(t_cert) / Median(t_hello));
  return sink == 0 ? 1 : 0;
}
