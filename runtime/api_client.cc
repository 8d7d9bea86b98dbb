#include "runtime/api_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/fs.h"
#include "runtime/api_protocol.h"

namespace strata::runtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

Result<json::value> ParseJsonBody(const std::string& text) {
  if (text.empty()) return json::value(nullptr);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error(EPROTO, "stratad sent a body that is not JSON: " + ec.message());
  return v;
}

bool IsNdjson(std::string_view content_type) {
  return content_type.substr(0, content_type.find(';')) == kNdjsonContentType;
}

}  // namespace

Error ApiResponse::error() const { return ErrorFromJson(body, status); }

ApiClient::ApiClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}
ApiClient::~ApiClient() = default;

Result<unsigned> ApiClient::Exchange(std::string_view method, std::string_view target,
                                     const json::value& body, const HeaderFn& on_header) {
  auto transport = [&](const boost::system::error_code& ec) {
    return Error(ec.value() != 0 ? ec.value() : EPROTO,
                 "talking to stratad at " + socket_path_ + ": " + ec.message());
  };
  if (socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error::Invalid("cannot reach stratad at " + socket_path_ + ": socket path too long");
  }

  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path_), ec);
  if (ec) {
    return Error(ec.value(), "cannot reach stratad at " + socket_path_ + ": " + ec.message() +
                                 " (is stratad running?)");
  }

  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown)
    return Error::Invalid("unknown HTTP method " + std::string(method));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "stratad");
  req.set(http::field::user_agent, "strata/" + std::string(StrataVersion()));
  req.keep_alive(false);
  if (!body.is_null()) {
    req.set(http::field::content_type, kJsonContentType);
    req.body() = json::serialize(body);
  }
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec) return transport(ec);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // streams are unbounded; sinks bound what they keep
  http::read_header(socket, buffer, parser, ec);
  if (ec) return transport(ec);
  unsigned status = parser.get().result_int();
  DataFn sink = on_header(status, parser.get()[http::field::content_type]);

  char chunk[64 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some, not read: read() would hold the body back until the
    // buffer is full, and progress lines must arrive as they are sent.
    http::read_some(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return transport(ec);
    size_t n = sizeof chunk - parser.get().body().size;
    if (n > 0) RETURN_IF_ERROR(sink(std::string_view(chunk, n)));
  }
  return status;
}

Result<ApiResponse> ApiClient::Request(std::string_view method, std::string_view target,
                                       const json::value& body) {
  std::string text;
  auto collect = [&text](std::string_view data) -> Status {
    if (text.size() + data.size() > kMaxMessageBytes * 16) {
      return Error(EPROTO, "response from stratad is too large");
    }
    text.append(data);
    return Ok();
  };
  ASSIGN_OR_RETURN(unsigned status,
                   Exchange(method, target, body,
                            [&](unsigned, std::string_view) -> DataFn { return collect; }));
  ASSIGN_OR_RETURN(json::value parsed, ParseJsonBody(text));
  return ApiResponse{status, std::move(parsed)};
}

Result<ApiResponse> ApiClient::Stream(std::string_view method, std::string_view target,
                                      const json::value& body, const LineFn& on_line) {
  std::string text;
  NdjsonSplitter splitter;
  bool streamed = false;
  auto on_header = [&](unsigned status, std::string_view content_type) -> DataFn {
    streamed = status == 200 && IsNdjson(content_type);
    if (streamed) {
      return [&](std::string_view data) { return splitter.Feed(data, on_line); };
    }
    return [&](std::string_view data) -> Status {
      if (text.size() + data.size() > kMaxMessageBytes) {
        return Error(EPROTO, "response from stratad is too large");
      }
      text.append(data);
      return Ok();
    };
  };
  ASSIGN_OR_RETURN(unsigned status, Exchange(method, target, body, on_header));
  if (streamed) {
    if (splitter.has_partial_line()) {
      return Error(EPROTO, "stratad at " + socket_path_ + " ended a stream mid-line");
    }
    return ApiResponse{status, nullptr};
  }
  ASSIGN_OR_RETURN(json::value parsed, ParseJsonBody(text));
  return ApiResponse{status, std::move(parsed)};
}

Result<ApiResponse> ApiClient::RunOperation(std::string_view method, std::string_view target,
                                            const json::value& body,
                                            const ProgressFn& on_progress) {
  std::optional<ApiResponse> final_line;
  auto on_line = [&](const json::value& line) -> Status {
    const json::object* o = line.if_object();
    if (o == nullptr) return Error(EPROTO, "stratad sent a stream line that is not an object");
    if (final_line) return Error(EPROTO, "stratad sent a line after the final one");
    if (const json::value* p = o->if_contains("progress")) {
      if (on_progress && p->is_object()) on_progress(p->as_object());
    } else if (const json::value* r = o->if_contains("result")) {
      final_line = ApiResponse{200, *r};
    } else if (o->contains("error")) {
      Error e = ErrorFromJson(line, 500);
      final_line = ApiResponse{StatusForErrno(e.code()), line};
    }
    // Other lines are from a newer stratad; skip them.
    return Ok();
  };
  ASSIGN_OR_RETURN(ApiResponse response, Stream(method, target, body, on_line));
  if (!response.ok() || !response.body.is_null()) return response;  // answered without a stream
  if (!final_line) {
    return Error(EPROTO, "stratad at " + socket_path_ + " ended the operation without a result");
  }
  return std::move(*final_line);
}

Result<ApiClient::Upgraded> ApiClient::Upgrade(std::string_view method, std::string_view target,
                                               const json::value& body) {
  // Plain sockets rather than Beast: nothing past the header may be read
  // into a buffer the caller would not see.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) {
    return Error::Invalid("cannot reach stratad at " + socket_path_ + ": socket path too long");
  }
  socket_path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    return Error(err, "cannot reach stratad at " + socket_path_ + ": " + std::strerror(err) +
                          " (is stratad running?)");
  }
  std::string payload = body.is_null() ? "" : json::serialize(body);
  std::string request = std::string(method) + " " + std::string(target) +
                        " HTTP/1.1\r\nHost: stratad\r\nUser-Agent: strata/" +
                        std::string(StrataVersion()) +
                        "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n";
  if (!payload.empty()) request += "Content-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
  RETURN_IF_ERROR(WriteAll(fd.get(), request));

  // The header, a byte at a time (it is short), up to the blank line.
  std::string header;
  while (header.size() < 16384 && header.find("\r\n\r\n") == std::string::npos) {
    char ch;
    ssize_t n = ::read(fd.get(), &ch, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error(EPROTO, "stratad at " + socket_path_ + " closed the connection");
    header.push_back(ch);
  }
  unsigned status = 0;
  if (header.rfind("HTTP/1.", 0) == 0 && header.size() > 12) {
    status = static_cast<unsigned>(std::strtoul(header.c_str() + 9, nullptr, 10));
  }
  if (status == 101) return Upgraded{ApiResponse{101, nullptr}, std::move(fd)};

  // An ordinary answer (an error): its body, by Content-Length or to EOF.
  std::string lower = header;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string rest;
  size_t at = lower.find("content-length:");
  long length = at == std::string::npos ? -1 : std::strtol(lower.c_str() + at + 15, nullptr, 10);
  char buf[4096];
  while (length < 0 || static_cast<long>(rest.size()) < length) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.append(buf, static_cast<size_t>(n));
  }
  ASSIGN_OR_RETURN(json::value parsed, ParseJsonBody(rest));
  return Upgraded{ApiResponse{status, std::move(parsed)}, UniqueFd()};
}

}  // namespace strata::runtime
