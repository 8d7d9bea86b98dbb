// RegistryClient: the OCI distribution protocol (v2) against one registry,
// with authentication handled underneath.
//
// Scheme: https with the system CAs and `trust`'s. A registry in `insecure`
// (registries.h: --insecure-registry, loopback) is also reached over
// plain http: https is tried first (without certificate checks) and http is
// used when the server does not speak TLS, as docker does.
//
// Auth: each request goes first with what the client already holds for its
// scope (basic credentials once the registry asked for them; a cached bearer
// token); a 401 is answered once (auth.h) and the request repeated. A second
// 401 is EACCES "authentication refused by HOST".
//
// Errors are one line: "cannot reach HOST: ..." (ECONNREFUSED), "TLS with
// HOST failed: ..." (EPROTO), "repository R not found on HOST" (ENOENT),
// "manifest R:TAG not found" (ENOENT), "authentication refused by HOST"
// (EACCES), "HOST: HTTP 500 ...".
//
// Thread safety: methods may be called from several threads at once (each
// request is its own transfer); the TokenCache is shared.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/result.h"
#include "registry/auth.h"
#include "registry/http_transfer.h"
#include "storage/byte_source.h"
#include "storage/digest.h"

namespace strata::registry {

struct ClientOptions {
  std::string registry;  // host[:port] as in the reference ("docker.io" allowed)
  bool insecure = false;
  Credentials credentials;
  // certs.d CAs trusted besides the system's, for every request (may be null).
  std::shared_ptr<const TlsTrust> trust;
  TokenCache* tokens = nullptr;  // required
  // Actions the client's token scope asks for: "pull" or "pull,push".
  std::string actions = "pull";
  // How long a blob download keeps retrying (resuming with Range) through
  // connection failures and 5xx answers before the pull fails.
  std::chrono::seconds resume_window = std::chrono::seconds(60);
};

struct Fetched {
  std::string body;
  std::string media_type;  // Content-Type
  std::string digest;      // Docker-Content-Digest, may be empty
};

class RegistryClient {
 public:
  static Result<std::unique_ptr<RegistryClient>> Create(const ClientOptions& options);

  // GET /v2/ with the credentials: for `login`; EACCES if refused.
  Status Ping();

  Result<Fetched> GetManifest(const std::string& repository, const std::string& ref);
  // A whole small blob (config), verified against digest.
  Result<std::string> GetBlob(const std::string& repository, const storage::Digest& digest,
                              uint64_t max_bytes);

  // A blob as a stream; the bytes are not verified here (the reader hashes
  // them). Interruptions are resumed with Range from the byte the reader
  // has, within resume_window; resumes() counts them. Read fails with
  // ECANCELED once *cancel becomes true. on_bytes gets the running count.
  class BlobStream : public storage::ByteSource {
   public:
    Result<size_t> Read(char* buf, size_t n) override;
    uint64_t resumes() const { return resumes_; }

   private:
    friend class RegistryClient;
    Status Open();
    Error TooLarge() const;  // more bytes than the manifest's size
    RegistryClient* client_ = nullptr;
    std::string repository_;
    storage::Digest digest_;
    uint64_t size_ = 0;
    uint64_t offset_ = 0;
    uint64_t skip_ = 0;  // bytes to drop after a server ignored Range
    uint64_t resumes_ = 0;
    const std::atomic<bool>* cancel_ = nullptr;
    std::function<void(uint64_t)> on_bytes_;
    std::unique_ptr<HttpTransfer> transfer_;
  };
  Result<std::unique_ptr<BlobStream>> OpenBlob(const std::string& repository,
                                               const storage::Digest& digest, uint64_t size,
                                               const std::atomic<bool>* cancel,
                                               std::function<void(uint64_t)> on_bytes);

  // HEAD: the blob's size if the repository has it.
  Result<std::optional<uint64_t>> BlobExists(const std::string& repository,
                                             const storage::Digest& digest);
  // Cross-repository mount; false when the registry started an upload
  // instead (the upload is abandoned) or refused.
  Result<bool> MountBlob(const std::string& repository, const storage::Digest& digest,
                         const std::string& from_repository);
  // Uploads size bytes of fd (from offset 0) as digest: one PUT when
  // chunk_size is 0 or size <= chunk_size, else PATCHes of chunk_size.
  // on_bytes (optional) gets the bytes sent so far.
  Status UploadBlob(const std::string& repository, const storage::Digest& digest, int fd,
                    uint64_t size, uint64_t chunk_size,
                    const std::function<void(uint64_t)>& on_bytes = nullptr);
  Status UploadBlob(const std::string& repository, const storage::Digest& digest,
                    const std::string& data);
  Status PutManifest(const std::string& repository, const std::string& ref,
                     const std::string& media_type, const std::string& body);

  const std::string& registry() const { return options_.registry; }
  // Requests sent (for tests and progress), and those that were uploads.
  uint64_t requests() const { return requests_; }

 private:
  explicit RegistryClient(const ClientOptions& options) : options_(options) {}
  struct Sent {
    std::unique_ptr<HttpTransfer> transfer;
    long status = 0;
  };
  // Sends path (below the base URL, or an absolute URL) with auth for scope
  // (the repositories' "repository:R:ACTIONS" list), waits for headers.
  Result<Sent> Send(HttpRequest request, const std::string& scope);
  Result<std::string> AuthorizationFor(const std::string& scope);
  // Records the scheme a 401 asked for.
  Status Learn(const std::string& www_authenticate);
  std::string Url(const std::string& path) const;
  std::string Scope(const std::string& repository) const;
  // One line for an unexpected answer to what.
  Error Unexpected(Sent& sent, const std::string& what, const std::string& repository);
  Status ChooseScheme();

  ClientOptions options_;
  std::string endpoint_;  // host the requests go to
  std::string scheme_ = "https";
  std::mutex mu_;
  std::optional<Challenge> challenge_;  // what the registry asked for
  std::atomic<uint64_t> requests_{0};
};

}  // namespace strata::registry
