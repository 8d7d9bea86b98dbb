#include "runtime/api_protocol.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#ifndef STRATA_VERSION
#define STRATA_VERSION "unknown"
#endif

namespace strata::runtime {
namespace json = boost::json;

namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view StrataVersion() { return STRATA_VERSION; }

std::string EncodePathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char ch : segment) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<std::string> DecodePathSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '%') {
      bool complete = i + 2 < segment.size();
      int hi = complete ? HexValue(segment[i + 1]) : -1;
      int lo = complete ? HexValue(segment[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Error::Invalid("bad percent-escape in path segment \"" + std::string(segment) +
                              "\"");
      }
      c = static_cast<char>(hi << 4 | lo);
      i += 2;
    }
    // Escaped or not: a name with a NUL is not the name a system call sees.
    if (c == '\0') return Error::Invalid("path segment contains a NUL byte");
    out.push_back(c);
  }
  if (out.empty()) return Error::Invalid("empty path segment");
  return out;
}

Result<std::vector<std::string>> SplitTarget(std::string_view target) {
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target.empty() || target.front() != '/') {
    return Error::Invalid("request target must start with '/'");
  }
  target.remove_prefix(1);
  if (!target.empty() && target.back() == '/') target.remove_suffix(1);
  std::vector<std::string> segments;
  while (!target.empty()) {
    size_t slash = target.find('/');
    std::string_view raw = target.substr(0, slash);
    if (raw.empty()) return Error::Invalid("empty segment in request target");
    ASSIGN_OR_RETURN(std::string decoded, DecodePathSegment(raw));
    segments.push_back(std::move(decoded));
    if (slash == std::string_view::npos) break;
    target.remove_prefix(slash + 1);
    if (target.empty()) return Error::Invalid("empty segment in request target");
  }
  return segments;
}

std::string QueryParameter(std::string_view target, std::string_view key) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    if (eq == std::string_view::npos) return "1";  // "?follow" alone
    auto decoded = DecodePathSegment(pair.substr(eq + 1));
    return decoded.ok() ? *decoded : "";
  }
  return "";
}

Result<boost::json::object> ParseRequestBody(std::string_view body) {
  if (body.empty()) return boost::json::object{};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return Error::Invalid("request body is not JSON: " + ec.message());
  if (!v.is_object()) return Error::Invalid("request body must be a JSON object");
  return std::move(v.as_object());
}

std::string BuildTarget(const std::vector<std::string_view>& segments) {
  std::string target(kApiPrefix);
  for (std::string_view s : segments) {
    target.push_back('/');
    target += EncodePathSegment(s);
  }
  return target;
}

unsigned StatusForErrno(int err) {
  switch (err) {
    case ENOENT:
      return 404;
    case EINVAL:
      return 400;
    case EEXIST:
    case EBUSY:
      return 409;
    default:
      return 500;
  }
}

json::value ErrorToJson(const Error& error) {
  return json::object{
      {"error", json::object{{"message", error.message()}, {"errno", error.code()}}}};
}

Error ErrorFromJson(const json::value& body, unsigned http_status) {
  const json::object* outer = body.if_object();
  const json::value* inner = outer ? outer->if_contains("error") : nullptr;
  const json::object* err = inner ? inner->if_object() : nullptr;
  const json::value* message = err ? err->if_contains("message") : nullptr;
  if (message && message->is_string()) {
    int code = EIO;
    if (const json::value* n = err->if_contains("errno"); n && n->is_int64()) {
      code = static_cast<int>(n->as_int64());
    }
    return Error(code, std::string(message->as_string()));
  }
  return Error(
      EIO, "stratad answered HTTP " + std::to_string(http_status) + " without an error message");
}

std::string NdjsonLine(const json::value& value) {
  std::string line = json::serialize(value);
  line.push_back('\n');
  return line;
}

Status NdjsonSplitter::Feed(std::string_view data, const LineFn& fn) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view part = data.substr(0, nl);
    if (pending_.size() + part.size() > kMaxMessageBytes) {
      return Error::Corrupt("NDJSON line longer than " + std::to_string(kMaxMessageBytes) +
                            " bytes");
    }
    pending_.append(part);
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);

    std::string line = std::move(pending_);
    pending_.clear();
    if (line.empty() || line == "\r") continue;
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (ec) return Error::Corrupt("malformed NDJSON line: " + ec.message());
    RETURN_IF_ERROR(fn(value));
  }
  return Ok();
}

}  // namespace strata::runtime
