// Certificates made at test time with OpenSSL's C API (EC P-256 keys, so a
// test makes dozens in milliseconds): a CA, certificates it signs (valid,
// expired, with a password-protected key), PEM text, and files in a temp
// directory.
//
//   TestCa ca("Test CA");
//   TestCert server = ca.Issue("O=Strata,CN=localhost");
//   WriteTextFile(dir + "/server.pem", server.keystore_pem());
//   WriteTextFile(dir + "/ca.pem", ca.cert_pem());
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace strata::testing {

inline std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

struct TestCertOptions {
  int64_t serial = 2;
  // Validity, in seconds from now.
  int64_t not_before_s = -3600;
  int64_t not_after_s = 86400;
  bool is_ca = false;
  std::string key_password;  // non-empty: the key is written encrypted
};

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  // What a keystore file holds: the certificate, then its key.
  std::string keystore_pem() const { return cert_pem + key_pem; }
};

class TestCa {
 public:
  explicit TestCa(const std::string& cn) {
    key_ = NewKey();
    TestCertOptions o;
    o.serial = 1;
    o.is_ca = true;
    o.not_before_s = -86400;
    o.not_after_s = 10 * 86400;
    cert_ = Make("O=Strata Test,CN=" + cn, key_.get(), nullptr, nullptr, o);
  }
  TestCa(const TestCa&) = delete;
  ~TestCa() { X509_free(cert_); }

  std::string cert_pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(bio.get(), cert_);
    return BioText(bio.get());
  }

  // A certificate for `subject` ("O=Strata,CN=alice": RDNs in the order
  // they go in, the reverse of how RFC 2253 prints them) signed by this CA.
  TestCert Issue(const std::string& subject, TestCertOptions o = {}) const {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key = NewKey();
    X509* cert = Make(subject, key.get(), cert_, key_.get(), o);
    TestCert out;
    std::unique_ptr<BIO, decltype(&BIO_free)> c(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(c.get(), cert);
    out.cert_pem = BioText(c.get());
    X509_free(cert);
    std::unique_ptr<BIO, decltype(&BIO_free)> k(BIO_new(BIO_s_mem()), BIO_free);
    if (o.key_password.empty()) {
      PEM_write_bio_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PKCS8PrivateKey(k.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                    const_cast<char*>(o.key_password.c_str()));
    }
    out.key_pem = BioText(k.get());
    return out;
  }

 private:
  static std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> NewKey() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    EXPECT_NE(key, nullptr);
    return std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>(key, EVP_PKEY_free);
  }

  static void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    EXPECT_NE(ext, nullptr) << value;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  // Self-signed when `issuer` is null.
  static X509* Make(const std::string& subject, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                    const TestCertOptions& o) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set_int64(X509_get_serialNumber(cert), o.serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), o.not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(cert), o.not_after_s);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    for (absl::string_view rdn : absl::StrSplit(subject, ',')) {
      const size_t eq = rdn.find('=');
      const std::string field(rdn.substr(0, eq));
      const std::string value(rdn.substr(eq + 1));
      X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
    }
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : cert;
    if (o.is_ca) {
      AddExtension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
      AddExtension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
      AddExtension(cert, signer, NID_subject_key_identifier, "hash");
    } else {
      AddExtension(cert, signer, NID_basic_constraints, "CA:FALSE");
      AddExtension(cert, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
      AddExtension(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    EXPECT_GT(X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()), 0);
    return cert;
  }

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
  X509* cert_ = nullptr;
};

inline void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// A fresh directory under $TEST_TMPDIR (or /tmp), removed by the caller.
inline std::string MakeTempDir(const std::string& prefix) {
  const char* base = getenv("TEST_TMPDIR");
  std::string templ = std::string(base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  char* dir = mkdtemp(templ.data());
  EXPECT_NE(dir, nullptr);
  return templ;
}

}  // namespace strata::testing
