#include "registry/http_transfer.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "common/log.h"

namespace strata::registry {

namespace {

constexpr size_t kMaxBuffered = 1 << 20;
constexpr long kReceiveBuffer = 512 << 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

TransferFailure Classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransferFailure::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return TransferFailure::kTls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransferFailure::kNetwork;
    default:
      return TransferFailure::kOther;
  }
}

int ErrnoFor(TransferFailure f) {
  switch (f) {
    case TransferFailure::kConnect:
      return ECONNREFUSED;
    case TransferFailure::kTls:
      return EPROTO;
    case TransferFailure::kNetwork:
      return ECONNRESET;
    default:
      return EIO;
  }
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

struct HttpTransfer::Curl {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {0};
  ~Curl() {
    if (multi && easy) curl_multi_remove_handle(multi, easy);
    if (easy) curl_easy_cleanup(easy);
    if (multi) curl_multi_cleanup(multi);
    if (headers) curl_slist_free_all(headers);
  }
};

HttpTransfer::~HttpTransfer() = default;

Result<std::unique_ptr<HttpTransfer>> HttpTransfer::Start(const HttpRequest& request) {
  GlobalInit();
  std::unique_ptr<HttpTransfer> t(new HttpTransfer());
  t->request_ = request;
  t->curl_ = std::make_unique<Curl>();
  Curl& c = *t->curl_;
  c.multi = curl_multi_init();
  c.easy = curl_easy_init();
  if (!c.multi || !c.easy) return Error(ENOMEM, "curl: cannot create a handle");
  CURL* e = c.easy;
  const HttpRequest& r = t->request_;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c.error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, r.connect_timeout_s);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, r.stall_timeout_s);
  if (r.timeout_s > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT, r.timeout_s);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "strata/0.1");
  // Bodies (layer blobs) are received in 512 KiB reads rather than curl's
  // default 16 KiB: a 50 MB layer took ~3,200 recv + poll rounds.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  if (!r.verify_tls) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (r.trust) {
    r.trust->ApplyTo(e);
  }
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HttpTransfer::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpTransfer::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  // A 100-continue round trip per upload only adds latency here.
  c.headers = curl_slist_append(c.headers, "Expect:");
  for (const auto& h : r.headers) c.headers = curl_slist_append(c.headers, h.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c.headers);

  const bool has_body = r.body_fd >= 0 || !r.body.empty();
  if (r.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &HttpTransfer::OnUpload);
    curl_easy_setopt(e, CURLOPT_READDATA, t.get());
    curl_off_t length = r.body_fd >= 0 ? static_cast<curl_off_t>(r.body_length)
                                       : static_cast<curl_off_t>(r.body.size());
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, length);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  if (curl_multi_add_handle(c.multi, e) != CURLM_OK) {
    return Error(EIO, "curl: cannot start the request");
  }
  return t;
}

size_t HttpTransfer::OnHeader(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<HttpTransfer*>(self);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a 100 or a redirect): forget the previous one.
    t->headers_.clear();
    return size * n;
  }
  if (line == "\r\n" || line == "\n") {
    long code = 0;
    curl_easy_getinfo(t->curl_->easy, CURLINFO_RESPONSE_CODE, &code);
    // Interim answers: 1xx, and redirects curl is about to follow.
    bool interim = code < 200 || (code >= 300 && code < 400 && t->headers_.count("location"));
    if (!interim) {
      t->status_ = code;
      t->headers_done_ = true;
      // stratad --debug: the protocol curl negotiated (no query: it may be signed).
      long v = 0;
      curl_easy_getinfo(t->curl_->easy, CURLINFO_HTTP_VERSION, &v);
      const char* version = v == CURL_HTTP_VERSION_2_0   ? "HTTP/2"
                            : v == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0"
                                                         : "HTTP/1.1";
      LogDebug(t->request_.method + " " + t->request_.url.substr(0, t->request_.url.find('?')) +
               ": " + version + " " + std::to_string(code));
    }
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->headers_[Lower(std::string(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t HttpTransfer::OnBody(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<HttpTransfer*>(self);
  if (t->buffer_.size() - t->buffer_pos_ >= kMaxBuffered) {
    t->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (t->buffer_pos_ > 0 && t->buffer_pos_ == t->buffer_.size()) {
    t->buffer_.clear();
    t->buffer_pos_ = 0;
  }
  t->buffer_.append(data, size * n);
  return size * n;
}

size_t HttpTransfer::OnUpload(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<HttpTransfer*>(self);
  const HttpRequest& r = t->request_;
  size_t want = size * n;
  if (r.body_fd < 0) {
    size_t left = r.body.size() - t->uploaded_;
    size_t take = std::min(want, left);
    std::copy_n(r.body.data() + t->uploaded_, take, data);
    t->uploaded_ += take;
    return take;
  }
  uint64_t left = r.body_length - t->uploaded_;
  size_t take = static_cast<size_t>(std::min<uint64_t>(want, left));
  if (take == 0) return 0;
  ssize_t got = ::pread(r.body_fd, data, take, static_cast<off_t>(r.body_offset + t->uploaded_));
  if (got <= 0) return CURL_READFUNC_ABORT;
  t->uploaded_ += static_cast<uint64_t>(got);
  if (r.on_upload) r.on_upload(t->uploaded_);
  return static_cast<size_t>(got);
}

Status HttpTransfer::Pump() {
  Curl& c = *curl_;
  int running = 0;
  if (curl_multi_perform(c.multi, &running) != CURLM_OK) {
    return Error(EIO, "curl: transfer failed");
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(c.multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    done_ = true;
    CURLcode code = msg->data.result;
    if (code != CURLE_OK) {
      failure_ = Classify(code);
      std::string what = c.error[0] ? c.error : curl_easy_strerror(code);
      std::string host = UrlHost(request_.url);
      switch (failure_) {
        case TransferFailure::kConnect:
          result_ = Error(ErrnoFor(failure_), "cannot reach " + host + ": " + what);
          break;
        case TransferFailure::kTls:
          // OpenSSL's words for a server that answered in plain HTTP.
          if (what.find("wrong version number") != std::string::npos) {
            what = "the server does not speak TLS (plain HTTP needs stratad --insecure-registry)";
          }
          result_ = Error(ErrnoFor(failure_), "TLS with " + host + " failed: " + what);
          break;
        default:
          result_ = Error(ErrnoFor(failure_), request_.method + " " + request_.url + ": " + what);
      }
    } else if (!headers_done_) {
      long code_now = 0;
      curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &code_now);
      status_ = code_now;
      headers_done_ = true;
    }
  }
  if (!done_ && running == 0) done_ = true;
  if (done_) return Ok();
  if (paused_) return Ok();
  int numfds = 0;
  curl_multi_poll(c.multi, nullptr, 0, 1000, &numfds);
  return Ok();
}

Status HttpTransfer::WaitHeaders() {
  while (!headers_done_ && !done_) RETURN_IF_ERROR(Pump());
  if (!result_.ok() && !headers_done_) return result_;
  return Ok();
}

Result<size_t> HttpTransfer::Read(char* buf, size_t n) {
  for (;;) {
    if (buffer_pos_ < buffer_.size()) {
      size_t take = std::min(n, buffer_.size() - buffer_pos_);
      std::copy_n(buffer_.data() + buffer_pos_, take, buf);
      buffer_pos_ += take;
      delivered_ += take;
      return take;
    }
    buffer_.clear();
    buffer_pos_ = 0;
    if (paused_) {
      paused_ = false;
      curl_easy_pause(curl_->easy, CURLPAUSE_CONT);
    }
    if (done_) {
      if (!result_.ok()) return result_.error();
      return size_t{0};
    }
    RETURN_IF_ERROR(Pump());
  }
}

Result<std::string> HttpTransfer::ReadAll(size_t max) {
  std::string out;
  char buf[1 << 15];
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, Read(buf, sizeof buf));
    if (got == 0) return out;
    if (out.size() + got > max) {
      return Error(EFBIG,
                   request_.url + ": response larger than " + std::to_string(max) + " bytes");
    }
    out.append(buf, got);
  }
}

std::string HttpTransfer::Header(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? std::string() : it->second;
}

std::string UrlHost(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string UrlEscape(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace strata::registry
