// ApiClient: a synchronous client of stratad's API (api_protocol.h) over its
// Unix socket, one connection per request.
//
// Two kinds of failure are kept apart so a caller can word them:
//   - transport failures (no socket, refused, connection lost, a reply that
//     is not HTTP/JSON) are the Error of the returned Result; a socket that
//     cannot be reached reads
//       "cannot reach stratad at PATH: <why> (is stratad running?)"
//   - answers from stratad, including errors, are an ApiResponse; a non-2xx
//     status carries {"error": {...}} and error() turns it into an Error.
//
// Thread safety: an ApiClient may be used by one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime {

struct ApiResponse {
  unsigned status = 0;
  boost::json::value body;  // null when the response had no body

  bool ok() const { return status >= 200 && status < 300; }
  // The error stratad reported (meaningful when !ok()).
  Error error() const;
};

class ApiClient {
 public:
  explicit ApiClient(std::string socket_path);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const std::string& socket_path() const { return socket_path_; }

  // method: "GET", "POST", "DELETE"; target: from BuildTarget(); a null body
  // sends none. The response body is parsed as JSON.
  Result<ApiResponse> Request(std::string_view method, std::string_view target,
                              const boost::json::value& body = nullptr);

  // For routes that answer with an NDJSON stream: calls on_line for each
  // line as it arrives (an error from on_line aborts and is returned). If
  // stratad answers without a stream (a 4xx before the operation began), the
  // parsed body is returned instead and on_line is never called. Otherwise
  // returns status 200 with a null body.
  using LineFn = std::function<Status(const boost::json::value& line)>;
  Result<ApiResponse> Stream(std::string_view method, std::string_view target,
                             const boost::json::value& body, const LineFn& on_line);

  // A long operation, interpreted: passes each {"progress": P} line's P to
  // on_progress (may be empty), and returns the final line as a response:
  // {"result": R} -> status 200, body R; {"error": E} -> the status
  // StatusForErrno gives E's errno, body {"error": E}. A stream that ends
  // without a final line is a transport failure (EPROTO).
  using ProgressFn = std::function<void(const boost::json::object& progress)>;
  Result<ApiResponse> RunOperation(std::string_view method, std::string_view target,
                                   const boost::json::value& body, const ProgressFn& on_progress);

  // For routes that upgrade the connection (attached sessions): sends the
  // request with "Connection: Upgrade", and on "101" returns the socket,
  // positioned right after the response's header. Any other answer is
  // returned as a response (error set from its body) with an invalid fd.
  struct Upgraded {
    ApiResponse response;  // status 101 on success
    UniqueFd socket;
  };
  Result<Upgraded> Upgrade(std::string_view method, std::string_view target,
                           const boost::json::value& body);

 private:
  using DataFn = std::function<Status(std::string_view data)>;
  // Given the status and Content-Type, says where the body goes.
  using HeaderFn = std::function<DataFn(unsigned status, std::string_view content_type)>;
  // Sends one request on a new connection and reads the whole response,
  // passing its body in pieces to the sink on_header chose; returns the status.
  Result<unsigned> Exchange(std::string_view method, std::string_view target,
                            const boost::json::value& body, const HeaderFn& on_header);

  std::string socket_path_;
};

}  // namespace strata::runtime
