// TlsTrust: the certificate authorities a registry's TLS connections trust
// besides the system's, from Docker's certs.d convention:
//
//   CERTS_DIR/HOST[:PORT]/*.crt    CA certificates (PEM, one or more each)
//   CERTS_DIR/HOST[:PORT]/X.cert   a client certificate (PEM) for registries
//                        + X.key   that ask for one, with its key
//
// CERTS_DIR is stratad's --registry-certs-dir (default /etc/docker/certs.d,
// where docker users already keep them); the directory is named as the
// registry is in references ("registry.example.com:5000"). The CAs are added
// to the system CAs for that registry's requests (and its token server's),
// not put in their place. A .cert without its .key (or the other way round)
// is an error, as in docker; of several pairs, the first by name is used
// (curl presents one).
//
// Loaded once per operation, so a file added there applies to the next pull
// or push without a restart.
//
// Thread safety: immutable once loaded; shared by the transfers of one
// operation on any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

typedef struct x509_st X509;

namespace strata::registry {

class TlsTrust {
 public:
  // The trust of registry below certs_dir; nullptr when certs_dir/registry
  // does not exist. A .crt that cannot be read or holds no certificate is
  // an error naming it.
  static Result<std::shared_ptr<const TlsTrust>> Load(const std::string& certs_dir,
                                                      const std::string& registry);
  // Whether certs_dir has a directory for registry.
  static bool Configured(const std::string& certs_dir, const std::string& registry);
  ~TlsTrust();
  TlsTrust(const TlsTrust&) = delete;
  TlsTrust& operator=(const TlsTrust&) = delete;

  const std::string& dir() const { return dir_; }
  size_t size() const { return cas_.size(); }
  // The client certificate and key files; empty when there is none.
  const std::string& client_cert() const { return client_cert_; }
  const std::string& client_key() const { return client_key_; }

  // Has a curl easy handle (OpenSSL backend) trust these CAs as well as the
  // system's, and present the client certificate. The TlsTrust must outlive
  // the handle's transfers.
  void ApplyTo(void* curl_easy) const;

 private:
  TlsTrust() = default;
  std::string dir_;
  std::vector<X509*> cas_;
  std::string client_cert_;
  std::string client_key_;
};

}  // namespace strata::registry
