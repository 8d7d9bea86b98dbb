// HttpTransfer: one HTTP request over libcurl whose response body is read
// as a pull stream, so a blob can flow from the network into the importer
// without being written anywhere first.
//
// Start() begins the request; WaitHeaders() runs the transfer until the
// final response's status and headers are in; Read() then hands out body
// bytes as they arrive (0 at the end). Curl runs only inside these calls, on
// the caller's thread (a private multi handle), and at most ~1 MiB of body is
// buffered: a slow reader pauses the transfer.
//
// TLS uses the system CAs (and the request's TlsTrust); HTTP/2 is
// negotiated over TLS when the server offers it (each final response is a
// debug log line with the HTTP version). Redirects are followed (blob downloads are often sent to a
// storage host) without passing the Authorization header to another host.
//
// Errors: a transport failure is an Error whose message says what happened
// in one line (kind() tells retryable ones apart); an HTTP error status is
// not an Error here: callers read status().
//
// Thread safety: one transfer belongs to one thread at a time; transfers on
// different threads are independent (curl_global_init runs once, first).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/tls_trust.h"

namespace strata::registry {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // The request body: `body`, or when body_fd >= 0, body_length bytes of that
  // file from body_offset (read with pread; the fd stays the caller's).
  std::string body;
  int body_fd = -1;
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  // Called with the bytes of the body sent so far (optional).
  std::function<void(uint64_t)> on_upload;
  bool verify_tls = true;  // false only for --insecure-registry hosts
  // CAs trusted besides the system's (certs.d; may be null).
  std::shared_ptr<const TlsTrust> trust;
  long connect_timeout_s = 10;
  // Abort when fewer than 1 byte/s arrive for this long (a hung server).
  long stall_timeout_s = 30;
  // The whole transfer, headers and body; 0: none (blobs, uploads).
  long timeout_s = 0;
};

// The timeout_s of whole documents (manifests, configs, tokens, /v2/): a
// server trickling a byte a second passes the stall check forever.
constexpr long kDocumentTimeoutS = 60;

enum class TransferFailure {
  kNone,
  kConnect,  // refused, unreachable, DNS: the registry is down or absent
  kTls,      // handshake or certificate verification
  kNetwork,  // reset, timeout, truncated body: worth a retry
  kOther,
};

class HttpTransfer {
 public:
  static Result<std::unique_ptr<HttpTransfer>> Start(const HttpRequest& request);
  ~HttpTransfer();
  HttpTransfer(const HttpTransfer&) = delete;
  HttpTransfer& operator=(const HttpTransfer&) = delete;

  // Runs until the final status line and headers have arrived.
  Status WaitHeaders();
  long status() const { return status_; }
  // Lower-case header name -> value of the final response (the last one
  // wins for repeated names).
  const std::map<std::string, std::string>& headers() const { return headers_; }
  std::string Header(const std::string& lower_name) const;

  // Body bytes; 0 at the end of a complete body. A transfer that fails
  // midway is an Error (failure() says what kind).
  Result<size_t> Read(char* buf, size_t n);
  // Reads the rest of the body (at most max bytes, else EFBIG).
  Result<std::string> ReadAll(size_t max = 16 << 20);

  TransferFailure failure() const { return failure_; }
  uint64_t body_bytes() const { return delivered_; }

 private:
  HttpTransfer() = default;
  struct Curl;
  Status Pump();  // one round of curl work; sets done_ when finished
  static size_t OnHeader(char* data, size_t size, size_t n, void* self);
  static size_t OnBody(char* data, size_t size, size_t n, void* self);
  static size_t OnUpload(char* data, size_t size, size_t n, void* self);

  std::unique_ptr<Curl> curl_;
  HttpRequest request_;
  uint64_t uploaded_ = 0;
  std::string buffer_;  // received, not yet read
  size_t buffer_pos_ = 0;
  bool paused_ = false;
  bool headers_done_ = false;
  bool done_ = false;
  Status result_;  // the transfer's outcome once done_
  long status_ = 0;
  std::map<std::string, std::string> headers_;
  TransferFailure failure_ = TransferFailure::kNone;
  uint64_t delivered_ = 0;
};

// Host part of a URL ("https://a.b:5000/x" -> "a.b:5000").
std::string UrlHost(const std::string& url);

// Percent-encodes a query value.
std::string UrlEscape(const std::string& value);

}  // namespace strata::registry
