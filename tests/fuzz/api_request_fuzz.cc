// Fuzzes what stratad reads from an API request (runtime/api_protocol.h,
// the route handlers' body parsing): the bytes of one HTTP request go
// through Beast's parser configured as ApiServer configures it, then the
// target is split into decoded segments and queried as the routes query it,
// and the body is read as the container routes read theirs, down to the
// pure checks a create request goes through (volume and tmpfs specs, name,
// restart policy, network, signal). Input that is not an HTTP request is
// split at its first newline into a target and a body, so both are fuzzed
// also without the framing.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "runtime/api_protocol.h"
#include "runtime/container_record.h"
#include "runtime/json_fields.h"
#include "runtime/oci/signal_names.h"
#include "runtime/restart_policy.h"

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace strata::runtime;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

// Beast's parser, as ApiServer::Serve sets it up; false if the bytes are
// not one complete request.
bool ParseHttp(std::string_view bytes, std::string* target, std::string* body) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(kMaxMessageBytes);
  boost::system::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) return false;
    if (ec) return false;
    if (n == 0) return false;
    used += n;
  }
  if (!parser.is_done()) return false;
  const auto& req = parser.get();
  *target = std::string(req.target());
  *body = req.body();
  return true;
}

void FuzzTarget(std::string_view target) {
  auto segments = SplitTarget(target);
  if (segments.ok()) {
    // Segments are non-empty and NUL-free; encoded again they split back
    // to themselves.
    std::vector<std::string_view> views;
    for (const auto& s : *segments) {
      Require(!s.empty() && s.find('\0') == std::string::npos);
      views.push_back(s);
    }
    if (!views.empty()) {
      // BuildTarget adds the "/v1" prefix.
      auto again = SplitTarget(BuildTarget(views));
      Require(again.ok() && again->size() == segments->size() + 1);
      Require(std::equal(segments->begin(), segments->end(), again->begin() + 1));
    }
  } else {
    Require(segments.error().code() == EINVAL);
  }
  for (const char* key : {"all", "force", "follow", "tail", "t", "signal", "attach", "start"}) {
    std::string value = QueryParameter(target, key);
    if (std::string_view(key) == "signal" && !value.empty()) (void)oci::ParseSignal(value);
  }
}

// The create request's fields, checked as ContainerManager::Create checks
// them before it looks at the store.
void FuzzCreate(const json::object& b) {
  auto volumes = jsonf::GetStrs(b, "volumes");
  if (volumes.ok()) {
    for (const auto& spec : *volumes) {
      auto m = ParseVolumeSpec(spec);
      if (!m.ok()) continue;
      Require(!m->destination.empty() && m->destination.front() == '/' && m->destination != "/");
      Require(m->destination.find('\0') == std::string::npos);
      Require(m->source.find('\0') == std::string::npos);
      if (m->type == Mount::Type::kVolume) Require(ValidateVolumeName(m->source).ok());
    }
  }
  auto tmpfs = jsonf::GetStrs(b, "tmpfs");
  if (tmpfs.ok()) {
    for (const auto& spec : *tmpfs) {
      auto m = ParseTmpfsSpec(spec);
      if (!m.ok()) continue;
      Require(!m->destination.empty() && m->destination.front() == '/' && m->destination != "/");
      Require(m->destination.find('\0') == std::string::npos);
      Require(m->tmpfs_options.find('\0') == std::string::npos);
    }
  }
  auto name = jsonf::GetStr(b, "name");
  if (name.ok() && !name->empty()) (void)ValidateContainerName(*name);
  auto restart = jsonf::GetStr(b, "restart");
  if (restart.ok()) {
    auto policy = RestartPolicy::Parse(*restart);
    if (policy.ok()) {
      auto again = RestartPolicy::Parse(policy->str());
      Require(again.ok() && *again == *policy);
    }
  }
  auto network = jsonf::GetStr(b, "network");
  if (network.ok()) (void)ParseNetworkMode(*network);
  (void)jsonf::GetStrs(b, "cmd");
  (void)jsonf::GetStrs(b, "env");
  (void)jsonf::GetStrMap(b, "labels");
  (void)jsonf::GetInt(b, "memory");
  (void)jsonf::GetInt(b, "pids_limit");
  (void)jsonf::GetDouble(b, "cpus");
  (void)jsonf::GetBool(b, "tty");
}

void FuzzBody(std::string_view text) {
  auto body = ParseRequestBody(text);
  if (!body.ok()) {
    Require(body.error().code() == EINVAL);
    return;
  }
  FuzzCreate(*body);
  auto signal = jsonf::GetStr(*body, "signal");
  if (signal.ok() && !signal->empty()) {
    auto number = oci::ParseSignal(*signal);
    if (number.ok()) Require(*number > 0 && *number < 65);
  }
  auto timeout = jsonf::GetInt(*body, "timeout", 10);
  (void)timeout;
  (void)jsonf::GetStrs(*body, "tags");
  (void)jsonf::GetStr(*body, "path");
  (void)jsonf::GetStr(*body, "platform");
  (void)jsonf::GetStr(*body, "format");
  (void)ErrorFromJson(json::value(*body), 400);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string target, body;
  if (!ParseHttp(input, &target, &body)) {
    size_t nl = input.find('\n');
    target = std::string(input.substr(0, nl));
    body = nl == std::string_view::npos ? std::string() : std::string(input.substr(nl + 1));
  }
  FuzzTarget(target);
  FuzzBody(body);
  return 0;
}
