#include "registry/tls_trust.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/fs.h"

namespace strata::registry {

namespace {

std::string DirFor(const std::string& certs_dir, const std::string& registry) {
  return JoinPath(certs_dir, registry);
}

// curl calls this with the SSL_CTX it built with the system CAs loaded.
CURLcode AddCas(CURL*, void* ssl_ctx, void* self) {
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  for (X509* ca : *static_cast<const std::vector<X509*>*>(self)) {
    // A CA that is already there (the same file twice) is not an error.
    X509_STORE_add_cert(store, ca);
  }
  return CURLE_OK;
}

}  // namespace

bool TlsTrust::Configured(const std::string& certs_dir, const std::string& registry) {
  // A registry name is one path component ("HOST[:PORT]"), never "." or "..".
  if (certs_dir.empty() || registry.empty() || registry.front() == '.' ||
      registry.find('/') != std::string::npos) {
    return false;
  }
  struct stat st;
  return ::stat(DirFor(certs_dir, registry).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::shared_ptr<const TlsTrust>> TlsTrust::Load(const std::string& certs_dir,
                                                       const std::string& registry) {
  if (!Configured(certs_dir, registry)) return std::shared_ptr<const TlsTrust>();
  std::shared_ptr<TlsTrust> trust(new TlsTrust());
  trust->dir_ = DirFor(certs_dir, registry);
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(trust->dir_));
  auto ends = [](const std::string& name, std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  auto has = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const auto& name : names) {
    if (ends(name, ".cert") || ends(name, ".key")) {
      bool is_cert = ends(name, ".cert");
      std::string stem = name.substr(0, name.rfind('.'));
      std::string pair = stem + (is_cert ? ".key" : ".cert");
      if (!has(pair)) {
        return Error::Invalid(JoinPath(trust->dir_, name) + ": no " + pair + " beside it");
      }
      if (is_cert && trust->client_cert_.empty()) {
        trust->client_cert_ = JoinPath(trust->dir_, name);
        trust->client_key_ = JoinPath(trust->dir_, stem + ".key");
      }
      continue;
    }
    if (!ends(name, ".crt")) continue;
    std::string path = JoinPath(trust->dir_, name);
    ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) return Error(ENOMEM, path + ": cannot read it");
    size_t before = trust->cas_.size();
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      trust->cas_.push_back(cert);
    }
    BIO_free(bio);
    ERR_clear_error();  // the end of the PEM data reads as an error
    if (trust->cas_.size() == before) {
      return Error::Invalid(path + ": no PEM certificate in it");
    }
  }
  return std::shared_ptr<const TlsTrust>(std::move(trust));
}

TlsTrust::~TlsTrust() {
  for (X509* ca : cas_) X509_free(ca);
}

void TlsTrust::ApplyTo(void* curl_easy) const {
  CURL* e = static_cast<CURL*>(curl_easy);
  if (!cas_.empty()) {
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &AddCas);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, const_cast<std::vector<X509*>*>(&cas_));
  }
  if (!client_cert_.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, client_cert_.c_str());
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(e, CURLOPT_SSLKEY, client_key_.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
}

}  // namespace strata::registry
