// ApiRouter::Call: one request being answered — its captured path
// parameters, its body and query, and whether an answer has been given.
// Internal to the router's .cc files (api_router.cc, container_routes.cc).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "runtime/api_router.h"

namespace strata::runtime {

class ApiRouter::Call {
 public:
  Call(const ApiRequest& request, std::vector<std::string> params, ResponseWriter& writer)
      : request_(request), params_(std::move(params)), writer_(writer) {}

  // The {ref} segment, decoded.
  const std::string& ref() const { return params_.at(0); }
  // The body as a JSON object ({} when empty); EINVAL if it is not one.
  Result<boost::json::object> Body() const;
  const ApiRequest& request() const { return request_; }
  bool answered() const { return answered_; }

  // The value of a query parameter ("?follow=1&tail=10"), percent-decoded;
  // "" when absent.
  std::string Query(std::string_view key) const;
  // A boolean query parameter: "1", "true" or "yes".
  bool QueryFlag(std::string_view key) const;

  void Reply(unsigned status, const boost::json::value& body) {
    answered_ = true;
    writer_.Reply(status, body);
  }

  // Streams a long operation: progress lines, then its result or error.
  // Validation belongs before this call, so that it gets a plain 4xx.
  void Stream(const std::function<Result<boost::json::value>(const storage::ProgressFn&)>& op);

  // A plain NDJSON stream, for routes whose lines are their own (logs,
  // exec): StartStream once, lines, FinishStream.
  void StartStream() {
    answered_ = true;
    writer_.StartStream();
  }
  void StreamLine(const boost::json::value& line) { writer_.StreamLine(line); }
  void FinishStream() { writer_.FinishStream(); }
  bool PeerGone() const { return writer_.PeerGone(); }

  // The connection itself, for an upgraded request (attach); see
  // ResponseWriter::Hijack.
  ResponseWriter& writer() { return writer_; }
  void MarkAnswered() { answered_ = true; }

 private:
  const ApiRequest& request_;
  std::vector<std::string> params_;
  ResponseWriter& writer_;
  bool answered_ = false;
};

}  // namespace strata::runtime
