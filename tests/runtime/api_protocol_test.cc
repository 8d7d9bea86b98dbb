// The API's wire conventions: path-segment encoding of refs, request target
// splitting, errno -> HTTP status, error bodies, NDJSON framing.
#define BOOST_TEST_MODULE runtime_api_protocol
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "runtime/api_protocol.h"

namespace json = boost::json;
using namespace strata;
using namespace strata::runtime;

namespace {

std::vector<std::string> Split(std::string_view target) {
  auto r = SplitTarget(target);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
  return *r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(path_segments)

BOOST_AUTO_TEST_CASE(refs_with_slashes_and_colons_are_one_segment) {
  BOOST_TEST(EncodePathSegment("localhost:5000/app:v2") == "localhost%3A5000%2Fapp%3Av2");
  BOOST_TEST(EncodePathSegment("busybox") == "busybox");
  BOOST_TEST(EncodePathSegment("a-b_c.d~e") == "a-b_c.d~e");
  BOOST_TEST(EncodePathSegment("a b+c%") == "a%20b%2Bc%25");
}

BOOST_AUTO_TEST_CASE(decode_inverts_encode) {
  for (const std::string& s :
       std::vector<std::string>{"busybox:latest", "localhost:5000/app:v2", "sha256:0123abcd",
                                "a b+c%/?#", "ünïcødé", std::string("\x01\xff", 2)}) {
    auto d = DecodePathSegment(EncodePathSegment(s));
    BOOST_REQUIRE(d.ok());
    BOOST_TEST(*d == s);
  }
}

BOOST_AUTO_TEST_CASE(decode_takes_both_cases_and_plus_literally) {
  BOOST_TEST(*DecodePathSegment("a%2fb%2Fc") == "a/b/c");
  BOOST_TEST(*DecodePathSegment("a+b") == "a+b");
  BOOST_TEST(*DecodePathSegment("busybox:1.36") == "busybox:1.36");  // unescaped ':' is fine
}

BOOST_AUTO_TEST_CASE(decode_rejects_bad_escapes_nul_and_empty) {
  for (std::string_view bad : {"%", "%2", "a%zz", "%g0", "%00", "a%00b", ""}) {
    auto d = DecodePathSegment(bad);
    BOOST_TEST_CONTEXT("segment \"" << bad << "\"") {
      BOOST_TEST(!d.ok());
      if (!d.ok()) BOOST_TEST(d.error().code() == EINVAL);
    }
  }
}

// Found by tests/fuzz/api_request: a literal NUL passed where an escaped
// one was refused.
BOOST_AUTO_TEST_CASE(decode_rejects_a_literal_nul) {
  auto d = DecodePathSegment(std::string_view("a\0b", 3));
  BOOST_TEST(!d.ok());
  BOOST_TEST(!SplitTarget(std::string_view("/v1/mounts/x\0y", 15)).ok());
}

BOOST_AUTO_TEST_CASE(query_parameters) {
  std::string_view t = "/v1/containers/x/logs?follow&tail=10&t=a%2Fb&bad=%zz";
  BOOST_TEST(QueryParameter(t, "follow") == "1");
  BOOST_TEST(QueryParameter(t, "tail") == "10");
  BOOST_TEST(QueryParameter(t, "t") == "a/b");
  BOOST_TEST(QueryParameter(t, "bad") == "");
  BOOST_TEST(QueryParameter(t, "absent") == "");
  BOOST_TEST(QueryParameter("/v1/containers", "all") == "");
}

BOOST_AUTO_TEST_CASE(request_bodies_are_objects) {
  BOOST_TEST(ParseRequestBody("")->empty());
  BOOST_TEST(ParseRequestBody(R"({"a": 1})")->contains("a"));
  for (std::string_view bad : {"[]", "1", "{", "nul"}) {
    auto b = ParseRequestBody(bad);
    BOOST_TEST(!b.ok());
    if (!b.ok()) BOOST_TEST(b.error().code() == EINVAL);
  }
}

BOOST_AUTO_TEST_CASE(split_target_decodes_after_splitting) {
  using V = std::vector<std::string>;
  BOOST_TEST(Split("/v1/images") == (V{"v1", "images"}));
  BOOST_TEST(Split("/v1/images/localhost%3A5000%2Fapp%3Av2/history") ==
             (V{"v1", "images", "localhost:5000/app:v2", "history"}));
  BOOST_TEST(Split("/v1/images/busybox/?force=1") == (V{"v1", "images", "busybox"}));
  BOOST_TEST(Split("/") == V{});
}

BOOST_AUTO_TEST_CASE(split_target_rejects_malformed_targets) {
  for (std::string_view bad : {"", "v1/images", "//v1", "/v1//images", "/v1/images//",
                               "/v1/images/%zz", "http://host/v1"}) {
    BOOST_TEST_CONTEXT("target \"" << bad << "\"") {
      auto r = SplitTarget(bad);
      BOOST_TEST(!r.ok());
      if (!r.ok()) BOOST_TEST(r.error().code() == EINVAL);
    }
  }
}

BOOST_AUTO_TEST_CASE(build_target_round_trips) {
  std::string t = BuildTarget({"images", "localhost:5000/app:v2", "tag"});
  BOOST_TEST(t == "/v1/images/localhost%3A5000%2Fapp%3Av2/tag");
  BOOST_TEST(Split(t) ==
             (std::vector<std::string>{"v1", "images", "localhost:5000/app:v2", "tag"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(status_for_errno) {
  BOOST_TEST(StatusForErrno(ENOENT) == 404u);
  BOOST_TEST(StatusForErrno(EINVAL) == 400u);
  BOOST_TEST(StatusForErrno(EEXIST) == 409u);
  BOOST_TEST(StatusForErrno(EBUSY) == 409u);
  BOOST_TEST(StatusForErrno(EIO) == 500u);
  BOOST_TEST(StatusForErrno(EBADMSG) == 500u);
  BOOST_TEST(StatusForErrno(0) == 500u);
}

BOOST_AUTO_TEST_CASE(error_body_round_trips) {
  Error e = Error::NotFound("no such image: nope");
  json::value body = ErrorToJson(e);
  BOOST_TEST(json::serialize(body) == R"({"error":{"message":"no such image: nope","errno":)" +
                                          std::to_string(ENOENT) + "}}");
  Error back = ErrorFromJson(body, 404);
  BOOST_TEST(back.code() == ENOENT);
  BOOST_TEST(back.message() == "no such image: nope");
}

BOOST_AUTO_TEST_CASE(error_from_a_body_without_error_still_says_something) {
  for (const json::value& body : {json::value(nullptr), json::parse(R"({"message":"x"})"),
                                  json::parse(R"({"error":"x"})"), json::parse("[1]")}) {
    Error e = ErrorFromJson(body, 502);
    BOOST_TEST(e.code() == EIO);
    BOOST_TEST(e.message().find("502") != std::string::npos);
  }
  // A missing errno defaults to EIO but keeps the message.
  Error e = ErrorFromJson(json::parse(R"({"error":{"message":"boom"}})"), 500);
  BOOST_TEST(e.code() == EIO);
  BOOST_TEST(e.message() == "boom");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ndjson)

struct Collector {
  std::vector<std::string> lines;
  NdjsonSplitter::LineFn fn() {
    return [this](const json::value& v) {
      lines.push_back(json::serialize(v));
      return Ok();
    };
  }
};

BOOST_AUTO_TEST_CASE(a_line_is_compact_json_and_one_newline) {
  std::string line = NdjsonLine(json::parse(R"({"progress":{"phase":"layer\nwith newline"}})"));
  BOOST_TEST(line == "{\"progress\":{\"phase\":\"layer\\nwith newline\"}}\n");
  BOOST_TEST(std::count(line.begin(), line.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(lines_split_across_chunks_reassemble) {
  std::string stream = NdjsonLine(json::parse(R"({"progress":{"layer":1}})")) +
                       NdjsonLine(json::parse(R"({"progress":{"layer":2}})")) +
                       NdjsonLine(json::parse(R"({"result":{"id":"sha256:ab"}})"));
  // Every way of cutting the stream in two, and byte by byte.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    Collector c;
    NdjsonSplitter s;
    BOOST_REQUIRE(s.Feed(stream.substr(0, cut), c.fn()).ok());
    BOOST_REQUIRE(s.Feed(stream.substr(cut), c.fn()).ok());
    BOOST_TEST(c.lines.size() == 3u);
    BOOST_TEST(!s.has_partial_line());
  }
  Collector c;
  NdjsonSplitter s;
  for (char ch : stream) BOOST_REQUIRE(s.Feed(std::string_view(&ch, 1), c.fn()).ok());
  BOOST_TEST(c.lines.size() == 3u);
  BOOST_TEST(c.lines[2] == R"({"result":{"id":"sha256:ab"}})");
}

BOOST_AUTO_TEST_CASE(empty_and_crlf_lines_are_skipped) {
  Collector c;
  NdjsonSplitter s;
  BOOST_REQUIRE(s.Feed("\n{\"a\":1}\r\n\r\n\n{\"b\":2}\n", c.fn()).ok());
  BOOST_TEST(c.lines == (std::vector<std::string>{R"({"a":1})", R"({"b":2})"}));
}

BOOST_AUTO_TEST_CASE(a_truncated_last_line_is_reported) {
  Collector c;
  NdjsonSplitter s;
  BOOST_REQUIRE(s.Feed("{\"a\":1}\n{\"resu", c.fn()).ok());
  BOOST_TEST(c.lines.size() == 1u);
  BOOST_TEST(s.has_partial_line());
}

BOOST_AUTO_TEST_CASE(garbage_and_oversized_lines_fail) {
  Collector c;
  NdjsonSplitter s;
  auto st = s.Feed("not json\n", c.fn());
  BOOST_TEST(!st.ok());
  BOOST_TEST(st.error().code() == EBADMSG);

  NdjsonSplitter big;
  std::string chunk(1 << 20, 'x');
  Status last = Ok();
  for (size_t i = 0; i <= kMaxMessageBytes / chunk.size() && last.ok(); ++i) {
    last = big.Feed(chunk, c.fn());
  }
  BOOST_TEST(!last.ok());
  BOOST_TEST(last.error().code() == EBADMSG);
}

BOOST_AUTO_TEST_CASE(an_error_from_the_callback_stops_the_feed) {
  int calls = 0;
  NdjsonSplitter s;
  auto st = s.Feed("{}\n{}\n{}\n", [&](const json::value&) -> Status {
    ++calls;
    return calls == 2 ? Status(Error(ECANCELED, "stop")) : Ok();
  });
  BOOST_TEST(calls == 2);
  BOOST_TEST(!st.ok());
  BOOST_TEST(st.error().code() == ECANCELED);
}

BOOST_AUTO_TEST_SUITE_END()
