#include "registry/registry_client.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#include <boost/json.hpp>

#include "registry/reference.h"

namespace strata::registry {

namespace json = boost::json;
using storage::Digest;

namespace {

constexpr const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// The first error code and message of a registry's JSON error body.
std::pair<std::string, std::string> RegistryError(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* errors = v.as_object().if_contains("errors");
  if (!errors || !errors->is_array() || errors->as_array().empty()) return {};
  const json::value& first = errors->as_array().front();
  if (!first.is_object()) return {};
  auto str = [&](const char* k) {
    const json::value* s = first.as_object().if_contains(k);
    return s && s->is_string() ? std::string(s->as_string()) : std::string();
  };
  return {str("code"), str("message")};
}

bool Retryable(TransferFailure f) {
  return f == TransferFailure::kConnect || f == TransferFailure::kNetwork;
}

}  // namespace

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(const ClientOptions& options) {
  if (options.tokens == nullptr) return Error::Invalid("registry client without a token cache");
  std::unique_ptr<RegistryClient> c(new RegistryClient(options));
  Reference probe;
  probe.registry = options.registry;
  c->endpoint_ = probe.Endpoint();
  RETURN_IF_ERROR(c->ChooseScheme());
  return c;
}

Status RegistryClient::ChooseScheme() {
  if (!options_.insecure) return Ok();
  // https first, without certificate checks; http if the server does not
  // speak TLS at all.
  HttpRequest request;
  request.url = "https://" + endpoint_ + "/v2/";
  request.verify_tls = false;
  request.timeout_s = kDocumentTimeoutS;
  ASSIGN_OR_RETURN(auto t, HttpTransfer::Start(request));
  Status st = t->WaitHeaders();
  if (st.ok()) {
    (void)t->ReadAll(1 << 20);
    return Ok();
  }
  if (t->failure() == TransferFailure::kConnect) return st;
  scheme_ = "http";
  return Ok();
}

std::string RegistryClient::Url(const std::string& path) const {
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) return path;
  return scheme_ + "://" + endpoint_ + path;
}

std::string RegistryClient::Scope(const std::string& repository) const {
  return "repository:" + repository + ":" + options_.actions;
}

Result<std::string> RegistryClient::AuthorizationFor(const std::string& scope) {
  std::optional<Challenge> challenge;
  {
    std::lock_guard lock(mu_);
    challenge = challenge_;
  }
  if (!challenge) return std::string();
  if (challenge->scheme == "basic") {
    if (options_.credentials.empty()) return std::string();
    return "Authorization: " + BasicAuthorization(options_.credentials);
  }
  if (challenge->scheme == "bearer") {
    ASSIGN_OR_RETURN(std::string token, FetchToken(*challenge, scope, options_.credentials,
                                                   *options_.tokens, options_.trust));
    return "Authorization: Bearer " + token;
  }
  return std::string();
}

Status RegistryClient::Learn(const std::string& www_authenticate) {
  if (www_authenticate.empty()) {
    return Error(EACCES, "authentication refused by " + options_.registry);
  }
  ASSIGN_OR_RETURN(Challenge c, ParseChallenge(www_authenticate));
  if (c.scheme != "basic" && c.scheme != "bearer") {
    return Error(ENOTSUP, options_.registry + " asks for unsupported authentication " + c.scheme);
  }
  if (c.scheme == "basic" && options_.credentials.empty()) {
    return Error(EACCES,
                 options_.registry + " requires a login (strata login " + options_.registry + ")");
  }
  std::lock_guard lock(mu_);
  challenge_ = std::move(c);
  return Ok();
}

Result<RegistryClient::Sent> RegistryClient::Send(HttpRequest request, const std::string& scope) {
  request.url = Url(request.url);
  request.trust = options_.trust;
  if (scheme_ == "https" && options_.insecure) request.verify_tls = false;
  const size_t base_headers = request.headers.size();
  for (int attempt = 0;; ++attempt) {
    request.headers.resize(base_headers);
    ASSIGN_OR_RETURN(std::string auth, AuthorizationFor(scope));
    if (!auth.empty()) request.headers.push_back(auth);
    ++requests_;
    ASSIGN_OR_RETURN(auto transfer, HttpTransfer::Start(request));
    RETURN_IF_ERROR(transfer->WaitHeaders());
    Sent sent{std::move(transfer), 0};
    sent.status = sent.transfer->status();
    if (sent.status != 401) return sent;
    if (attempt > 0 || (!auth.empty() && auth.rfind("Authorization: Basic", 0) == 0)) {
      return Error(EACCES, "authentication refused by " + options_.registry);
    }
    (void)sent.transfer->ReadAll(1 << 16);
    RETURN_IF_ERROR(Learn(sent.transfer->Header("www-authenticate")));
  }
}

Error RegistryClient::Unexpected(Sent& sent, const std::string& what,
                                 const std::string& repository) {
  auto body = sent.transfer->ReadAll(1 << 16);
  auto [code, message] = RegistryError(body.ok() ? *body : "");
  const std::string& host = options_.registry;
  if (code == "NAME_UNKNOWN" || (sent.status == 404 && code.empty() && what == "manifest")) {
    return Error::NotFound("repository " + repository + " not found on " + host);
  }
  if (code == "MANIFEST_UNKNOWN") return Error::NotFound(what + " not found in " + repository);
  if (code == "BLOB_UNKNOWN") return Error::NotFound(what + " not found in " + repository);
  if (code == "UNAUTHORIZED" || code == "DENIED" || sent.status == 403) {
    return Error(EACCES, "access to " + repository + " on " + host + " denied" +
                             (message.empty() ? "" : ": " + message));
  }
  std::string line = host + ": " + what + ": HTTP " + std::to_string(sent.status);
  if (!code.empty()) line += " " + code;
  if (!message.empty()) line += ": " + message;
  int err = sent.status >= 500 ? EIO : sent.status == 404 ? ENOENT : EPROTO;
  return Error(err, line);
}

Status RegistryClient::Ping() {
  HttpRequest request;
  request.url = "/v2/";
  request.timeout_s = kDocumentTimeoutS;
  ASSIGN_OR_RETURN(Sent sent, Send(request, ""));
  if (sent.status == 200) return Ok();
  return Unexpected(sent, "/v2/", "");
}

Result<Fetched> RegistryClient::GetManifest(const std::string& repository, const std::string& ref) {
  HttpRequest request;
  request.url = "/v2/" + repository + "/manifests/" + ref;
  request.headers.push_back(kManifestAccept);
  request.timeout_s = kDocumentTimeoutS;
  ASSIGN_OR_RETURN(Sent sent, Send(request, Scope(repository)));
  if (sent.status != 200) {
    Error e = Unexpected(sent, "manifest " + ref, repository);
    if (e.IsNotFound() && e.message().rfind("repository ", 0) != 0) {
      // Registries answer MANIFEST_UNKNOWN for a repository they do not
      // have either; its tag list tells the two apart.
      HttpRequest tags;
      tags.url = "/v2/" + repository + "/tags/list";
      tags.timeout_s = kDocumentTimeoutS;
      auto listed = Send(tags, Scope(repository));
      if (listed.ok() && listed->status == 404) {
        (void)listed->transfer->ReadAll(1 << 16);
        return Error::NotFound("repository " + repository + " not found on " + options_.registry);
      }
    }
    return e;
  }
  Fetched f;
  ASSIGN_OR_RETURN(f.body, sent.transfer->ReadAll(4 << 20));
  f.media_type = sent.transfer->Header("content-type");
  f.media_type = f.media_type.substr(0, f.media_type.find(';'));
  f.digest = sent.transfer->Header("docker-content-digest");
  return f;
}

Result<std::string> RegistryClient::GetBlob(const std::string& repository, const Digest& digest,
                                            uint64_t max_bytes) {
  HttpRequest request;
  request.url = "/v2/" + repository + "/blobs/" + digest.str();
  request.timeout_s = kDocumentTimeoutS;
  ASSIGN_OR_RETURN(Sent sent, Send(request, Scope(repository)));
  if (sent.status != 200) return Unexpected(sent, "blob " + digest.str(), repository);
  ASSIGN_OR_RETURN(std::string body, sent.transfer->ReadAll(max_bytes));
  if (storage::Sha256::Of(body) != digest) {
    return Error::Corrupt("blob " + digest.str() + " from " + options_.registry +
                          " does not match its digest");
  }
  return body;
}

Result<std::unique_ptr<RegistryClient::BlobStream>> RegistryClient::OpenBlob(
    const std::string& repository, const Digest& digest, uint64_t size,
    const std::atomic<bool>* cancel, std::function<void(uint64_t)> on_bytes) {
  std::unique_ptr<BlobStream> s(new BlobStream());
  s->client_ = this;
  s->repository_ = repository;
  s->digest_ = digest;
  s->size_ = size;
  s->cancel_ = cancel;
  s->on_bytes_ = std::move(on_bytes);
  RETURN_IF_ERROR(s->Open());
  return s;
}

Status RegistryClient::BlobStream::Open() {
  HttpRequest request;
  request.url = "/v2/" + repository_ + "/blobs/" + digest_.str();
  if (offset_ > 0) request.headers.push_back("Range: bytes=" + std::to_string(offset_) + "-");
  ASSIGN_OR_RETURN(Sent sent, client_->Send(request, client_->Scope(repository_)));
  if (sent.status == 206 && offset_ > 0) {
    // "bytes START-END/TOTAL": the range must start where the reader is.
    std::string range = sent.transfer->Header("content-range");
    size_t space = range.find(' ');
    uint64_t start =
        std::strtoull(range.c_str() + (space == std::string::npos ? 0 : space + 1), nullptr, 10);
    if (start != offset_) {
      return Error(EPROTO, "blob " + digest_.str() + ": asked for bytes from " +
                               std::to_string(offset_) + ", got " + range);
    }
    skip_ = 0;
  } else if (sent.status == 200) {
    skip_ = offset_;  // Range ignored: drop what the reader already has
    std::string length = sent.transfer->Header("content-length");
    if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > size_) return TooLarge();
  } else {
    return client_->Unexpected(sent, "blob " + digest_.str(), repository_);
  }
  transfer_ = std::move(sent.transfer);
  return Ok();
}

Error RegistryClient::BlobStream::TooLarge() const {
  return Error::Corrupt("blob " + digest_.str() + " is larger than the " + std::to_string(size_) +
                        " bytes the manifest says");
}

Result<size_t> RegistryClient::BlobStream::Read(char* buf, size_t n) {
  auto deadline = std::chrono::steady_clock::time_point::max();
  auto backoff = std::chrono::milliseconds(250);
  for (;;) {
    if (cancel_ && cancel_->load()) return Error(ECANCELED, "cancelled");
    Status failed = Ok();
    bool retry = false;
    if (transfer_) {
      Result<size_t> got = transfer_->Read(buf, n);
      if (got.ok() && *got > 0) {
        size_t len = *got;
        if (skip_ > 0) {
          size_t drop = static_cast<size_t>(std::min<uint64_t>(skip_, len));
          skip_ -= drop;
          if (drop == len) continue;
          std::memmove(buf, buf + drop, len - drop);
          len -= drop;
        }
        // Checked here, not at the end: an endless blob would otherwise be
        // hashed (and whatever it inflates to, stored) until the disk fills.
        if (len > size_ - offset_) return TooLarge();
        offset_ += len;
        if (on_bytes_) on_bytes_(offset_);
        return len;
      }
      if (got.ok()) {
        if (offset_ >= size_) return size_t{0};
        // The server closed early: resume from here.
        failed = Error(ECONNRESET, "blob " + digest_.str() + ": connection closed after " +
                                       std::to_string(offset_) + " of " + std::to_string(size_) +
                                       " bytes");
        retry = true;
      } else {
        failed = got.error();
        retry = Retryable(transfer_->failure());
      }
      transfer_.reset();
    } else {
      Status opened = Open();
      if (opened.ok()) continue;
      failed = opened;
      int code = opened.error().code();
      retry = code == ECONNREFUSED || code == ECONNRESET || code == EIO;
    }
    if (!retry) return failed.error();
    auto now = std::chrono::steady_clock::now();
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      deadline = now + client_->options_.resume_window;
    }
    if (now >= deadline) {
      return std::move(failed).error().Context(
          "gave up resuming after " + std::to_string(client_->options_.resume_window.count()) +
          " s");
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    ++resumes_;
  }
}

Result<std::optional<uint64_t>> RegistryClient::BlobExists(const std::string& repository,
                                                           const Digest& digest) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = "/v2/" + repository + "/blobs/" + digest.str();
  ASSIGN_OR_RETURN(Sent sent, Send(request, Scope(repository)));
  if (sent.status == 404) return std::optional<uint64_t>();
  if (sent.status != 200) return Unexpected(sent, "blob " + digest.str(), repository);
  std::string length = sent.transfer->Header("content-length");
  return std::optional<uint64_t>(std::strtoull(length.c_str(), nullptr, 10));
}

Result<bool> RegistryClient::MountBlob(const std::string& repository, const Digest& digest,
                                       const std::string& from_repository) {
  HttpRequest request;
  request.method = "POST";
  request.url = "/v2/" + repository + "/blobs/uploads/?mount=" + UrlEscape(digest.str()) +
                "&from=" + UrlEscape(from_repository);
  std::string scope = Scope(repository) + " repository:" + from_repository + ":pull";
  ASSIGN_OR_RETURN(Sent sent, Send(request, scope));
  (void)sent.transfer->ReadAll(1 << 16);
  if (sent.status == 201) return true;
  if (sent.status == 202) {
    // An upload was started instead; abandon it.
    std::string location = sent.transfer->Header("location");
    if (!location.empty()) {
      HttpRequest cancel;
      cancel.method = "DELETE";
      cancel.url =
          location.rfind("/", 0) == 0 || location.rfind("http", 0) == 0 ? location : "/" + location;
      auto done = Send(cancel, Scope(repository));
      if (done.ok()) (void)done->transfer->ReadAll(1 << 16);
    }
  }
  return false;
}

namespace {

// Location headers may be absolute or relative; query strings are kept.
std::string WithQuery(const std::string& location, const std::string& query) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + query;
}

}  // namespace

Status RegistryClient::UploadBlob(const std::string& repository, const Digest& digest, int fd,
                                  uint64_t size, uint64_t chunk_size,
                                  const std::function<void(uint64_t)>& on_bytes) {
  const std::string scope = Scope(repository);
  const std::string what = "upload of " + digest.str();
  HttpRequest start;
  start.method = "POST";
  start.url = "/v2/" + repository + "/blobs/uploads/";
  ASSIGN_OR_RETURN(Sent sent, Send(start, scope));
  if (sent.status != 202) return Unexpected(sent, what, repository);
  (void)sent.transfer->ReadAll(1 << 16);
  std::string location = sent.transfer->Header("location");
  if (location.empty()) return Error(EPROTO, options_.registry + ": upload without a Location");

  uint64_t offset = 0;
  if (chunk_size > 0 && size > chunk_size) {
    while (offset < size) {
      uint64_t len = std::min(chunk_size, size - offset);
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = location;
      patch.headers = {
          "Content-Type: application/octet-stream",
          "Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + len - 1)};
      patch.body_fd = fd;
      patch.body_offset = offset;
      patch.body_length = len;
      if (on_bytes)
        patch.on_upload = [&, base = offset](uint64_t done_bytes) { on_bytes(base + done_bytes); };
      ASSIGN_OR_RETURN(Sent chunk, Send(patch, scope));
      if (chunk.status != 202) return Unexpected(chunk, what, repository);
      (void)chunk.transfer->ReadAll(1 << 16);
      location = chunk.transfer->Header("location");
      if (location.empty()) return Error(EPROTO, options_.registry + ": upload without a Location");
      offset += len;
    }
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = WithQuery(location, "digest=" + UrlEscape(digest.str()));
  put.headers = {"Content-Type: application/octet-stream"};
  if (offset < size) {
    put.body_fd = fd;
    put.body_offset = offset;
    put.body_length = size - offset;
    if (on_bytes)
      put.on_upload = [&, base = offset](uint64_t done_bytes) { on_bytes(base + done_bytes); };
  }
  ASSIGN_OR_RETURN(Sent done, Send(put, scope));
  if (done.status != 201) return Unexpected(done, what, repository);
  (void)done.transfer->ReadAll(1 << 16);
  return Ok();
}

Status RegistryClient::UploadBlob(const std::string& repository, const Digest& digest,
                                  const std::string& data) {
  const std::string scope = Scope(repository);
  const std::string what = "upload of " + digest.str();
  HttpRequest start;
  start.method = "POST";
  start.url = "/v2/" + repository + "/blobs/uploads/";
  ASSIGN_OR_RETURN(Sent sent, Send(start, scope));
  if (sent.status != 202) return Unexpected(sent, what, repository);
  (void)sent.transfer->ReadAll(1 << 16);
  std::string location = sent.transfer->Header("location");
  if (location.empty()) return Error(EPROTO, options_.registry + ": upload without a Location");
  HttpRequest put;
  put.method = "PUT";
  put.url = WithQuery(location, "digest=" + UrlEscape(digest.str()));
  put.headers = {"Content-Type: application/octet-stream"};
  put.body = data;
  ASSIGN_OR_RETURN(Sent done, Send(put, scope));
  if (done.status != 201) return Unexpected(done, what, repository);
  (void)done.transfer->ReadAll(1 << 16);
  return Ok();
}

Status RegistryClient::PutManifest(const std::string& repository, const std::string& ref,
                                   const std::string& media_type, const std::string& body) {
  HttpRequest put;
  put.method = "PUT";
  put.url = "/v2/" + repository + "/manifests/" + ref;
  put.headers = {"Content-Type: " + media_type};
  put.body = body;
  ASSIGN_OR_RETURN(Sent sent, Send(put, Scope(repository)));
  if (sent.status != 201) return Unexpected(sent, "manifest " + ref, repository);
  (void)sent.transfer->ReadAll(1 << 16);
  return Ok();
}

}  // namespace strata::registry
