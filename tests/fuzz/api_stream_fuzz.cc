// Fuzzes the two stream framings of stratad's API: NDJSON lines
// (runtime/api_protocol.h: progress, results, errors, log entries) and the
// frames of an attached session (runtime/attach_protocol.h), which the
// service reads from clients (stdin, resize). The input is fed in chunks
// whose sizes come from its first bytes; the frames and lines decoded must
// not depend on how the stream was cut.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "runtime/api_protocol.h"
#include "runtime/attach_protocol.h"

using namespace strata::runtime;
using strata::Ok;
using strata::Status;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

// The chunks: sizes from the header bytes (1..256), cycling.
std::vector<std::string_view> Chop(std::string_view header, std::string_view data) {
  std::vector<std::string_view> chunks;
  size_t i = 0;
  while (!data.empty()) {
    size_t n = header.empty() ? data.size() : static_cast<uint8_t>(header[i++ % header.size()]) + 1;
    n = std::min(n, data.size());
    chunks.push_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return chunks;
}

struct Frames {
  std::vector<std::pair<int, std::string>> frames;
  bool failed = false;
};

Frames DecodeFrames(const std::vector<std::string_view>& chunks) {
  Frames out;
  FrameDecoder decoder;
  for (std::string_view c : chunks) {
    Status s = decoder.Feed(c, [&](FrameType type, std::string_view payload) -> Status {
      Require(payload.size() <= kMaxFrame);
      out.frames.emplace_back(static_cast<int>(type), std::string(payload));
      if (type == FrameType::kResize) {
        auto body = ParseRequestBody(payload);
        (void)body;
      }
      return Ok();
    });
    if (!s.ok()) {
      Require(s.error().code() == EPROTO);
      out.failed = true;
      break;
    }
  }
  return out;
}

struct Lines {
  std::vector<std::string> lines;
  bool failed = false;
};

Lines DecodeLines(const std::vector<std::string_view>& chunks) {
  Lines out;
  NdjsonSplitter splitter;
  for (std::string_view c : chunks) {
    Status s = splitter.Feed(c, [&](const boost::json::value& line) -> Status {
      out.lines.push_back(boost::json::serialize(line));
      // What the client makes of a line that is an error.
      if (line.is_object() && line.as_object().contains("error")) {
        (void)ErrorFromJson(line, 200);
      }
      return Ok();
    });
    if (!s.ok()) {
      Require(s.error().code() == EBADMSG);
      out.failed = true;
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view header = input.substr(0, std::min<size_t>(4, input.size()));
  std::string_view stream = input.substr(header.size());

  std::vector<std::string_view> whole{stream};
  std::vector<std::string_view> chopped = Chop(header, stream);

  // Up to a failure, the same frames and lines whatever the cuts.
  Frames a = DecodeFrames(whole), b = DecodeFrames(chopped);
  Require(a.failed == b.failed && a.frames == b.frames);
  Lines x = DecodeLines(whole), y = DecodeLines(chopped);
  Require(x.failed == y.failed && x.lines == y.lines);

  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(stream, ec);
  if (!ec) (void)ErrorFromJson(body, 500);
  return 0;
}
