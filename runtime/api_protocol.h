// The wire conventions of stratad's API, shared by the server and the client.
//
// Transport: HTTP/1.1 over a Unix socket; bodies are JSON. Every route sits
// under the version prefix "/v1". docs/api.md lists the routes.
//
// Path segments: a variable segment (an image reference) is percent-encoded
// as ONE segment, because references contain '/' and ':'
// ("localhost:5000/app:v2" -> "localhost%3A5000%2Fapp%3Av2"). The encoder
// escapes every byte outside RFC 3986's unreserved set; the decoder accepts
// any %XX (either case) and takes every other byte literally ('+' is a plus,
// not a space). Segments are split on '/' BEFORE decoding, so an encoded
// "%2F" never splits a reference.
//
// Errors: a non-2xx status whose body is
//   {"error": {"message": "...", "errno": N}}
// with the status chosen from errno by StatusForErrno.
//
// Long operations (import, export) answer 200 with a chunked body of
// newline-delimited JSON (Content-Type application/x-ndjson): zero or more
//   {"progress": {...}}
// lines, then exactly one final line, either
//   {"result": {...}}   or   {"error": {"message": "...", "errno": N}}
//
// Everything here is a pure function or a single-threaded value; no I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/result.h"

namespace strata::runtime {

inline constexpr std::string_view kApiPrefix = "/v1";
inline constexpr std::string_view kApiVersion = "v1";
inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kNdjsonContentType = "application/x-ndjson";
// Upper bound of a request body and of one NDJSON line.
inline constexpr size_t kMaxMessageBytes = 4 << 20;

// The version of strata both binaries report (meson's project version).
std::string_view StrataVersion();

// Escapes every byte outside [A-Za-z0-9-._~] as %XX (upper-case hex).
std::string EncodePathSegment(std::string_view segment);

// Decodes %XX escapes. Fails with EINVAL on a truncated or non-hex escape, on
// a NUL byte (escaped or not), and on an empty result.
Result<std::string> DecodePathSegment(std::string_view segment);

// Splits the path of a request target into decoded segments:
// "/v1/images/a%2Fb/tag?x=1" -> {"v1", "images", "a/b", "tag"}. The query
// (after '?') is ignored; one trailing '/' is ignored. Fails with EINVAL on a
// target that does not start with '/', an empty segment ("//"), or a bad
// escape.
Result<std::vector<std::string>> SplitTarget(std::string_view target);

// The value of the query parameter key in a request target
// ("/v1/containers/x/logs?follow=1&tail=10"), percent-decoded; "1" for a
// key given without a value ("?follow"); "" when absent or badly escaped.
std::string QueryParameter(std::string_view target, std::string_view key);

// A request body as a JSON object ({} when the body is empty). Fails with
// EINVAL when it is not JSON or not an object.
Result<boost::json::object> ParseRequestBody(std::string_view body);

// The target for a route: kApiPrefix followed by each segment, encoded.
// BuildTarget({"images", "busybox:1.36", "history"})
//   -> "/v1/images/busybox%3A1.36/history".
std::string BuildTarget(const std::vector<std::string_view>& segments);

// ENOENT -> 404, EINVAL -> 400, EEXIST and EBUSY -> 409, anything else
// (including 0) -> 500.
unsigned StatusForErrno(int err);

// {"error": {"message": ..., "errno": N}}
boost::json::value ErrorToJson(const Error& error);

// The inverse of ErrorToJson for a body received with a non-2xx status (or
// an NDJSON error line). A body that is not in that shape yields an Error
// carrying the status (errno EIO) so the caller always has a message.
Error ErrorFromJson(const boost::json::value& body, unsigned http_status);

// One NDJSON line: the compact serialization of value followed by '\n'.
// (Boost.JSON never emits a raw newline inside a value: control characters
// in strings are escaped.)
std::string NdjsonLine(const boost::json::value& value);

// Reassembles NDJSON lines from arbitrary chunks of a byte stream.
class NdjsonSplitter {
 public:
  using LineFn = std::function<Status(const boost::json::value& line)>;

  // Appends data and calls fn once per complete line, in order, with the
  // parsed value. Empty lines are skipped. Fails with EBADMSG on a line that
  // is not JSON or longer than kMaxMessageBytes; fn's error stops the feed
  // and is returned.
  Status Feed(std::string_view data, const LineFn& fn);

  // Bytes received after the last newline (a truncated final line).
  bool has_partial_line() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace strata::runtime
