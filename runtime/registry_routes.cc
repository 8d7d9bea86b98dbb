// ApiRouter: the registry routes (pull, push, login) over registry/. The
// shapes are documented in docs/api.md and docs/registry.md.
//
// Credentials travel in the request ("auth": {"username", "password"}): the
// client reads them from its user's docker config.json, as docker's CLI
// does, so stratad keeps no user's secrets.
#include <chrono>
#include <mutex>

#include <boost/json.hpp>

#include "common/log.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/reference.h"
#include "registry/registries.h"
#include "runtime/api_call.h"
#include "runtime/api_protocol.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

Result<std::string> Field(const json::object& body, std::string_view key, bool required) {
  const json::value* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) return Error::Invalid("missing \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!v->is_string()) return Error::Invalid("\"" + std::string(key) + "\" must be a string");
  return std::string(v->as_string());
}

Result<registry::Credentials> AuthField(const json::object& body) {
  registry::Credentials c;
  const json::value* v = body.if_contains("auth");
  if (v == nullptr || v->is_null()) return c;
  if (!v->is_object()) return Error::Invalid("\"auth\" must be an object");
  ASSIGN_OR_RETURN(c.username, Field(v->as_object(), "username", false));
  ASSIGN_OR_RETURN(c.password, Field(v->as_object(), "password", false));
  return c;
}

json::array LayersToJson(const std::vector<registry::LayerProgress>& layers) {
  json::array out;
  for (const auto& l : layers) {
    out.push_back(
        json::object{{"id", l.digest}, {"state", l.state}, {"bytes", l.bytes}, {"size", l.size}});
  }
  return out;
}

// Progress lines {"progress": {"layers": [...]}}: on a change of a layer's
// state (at most every kStateGap), otherwise at most every kInterval. Each
// line lists every layer, so a line per change cost O(layers^2): a manifest
// of 8,000 tiny layers took 59 s of stratad's CPU instead of 6. Workers
// report from several threads, so lines are serialized here.
class TransferStream {
 public:
  static constexpr auto kInterval = std::chrono::milliseconds(200);
  static constexpr auto kStateGap = std::chrono::milliseconds(50);
  using LineFn = std::function<void(const json::value&)>;
  TransferStream(LineFn line, std::function<void()> finish)
      : line_(std::move(line)), finish_(std::move(finish)) {}

  registry::TransferProgressFn Fn() {
    return [this](const std::vector<registry::LayerProgress>& layers) { Report(layers); };
  }
  void Finish(const json::value& final_line) {
    std::lock_guard lock(mu_);
    closed_ = true;
    line_(final_line);
    finish_();
  }

 private:
  void Report(const std::vector<registry::LayerProgress>& layers) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    std::string states;
    for (const auto& l : layers) states += l.state + ",";
    auto now = std::chrono::steady_clock::now();
    if (now - last_sent_ < (states == last_states_ ? kInterval : kStateGap)) return;
    last_states_ = states;
    last_sent_ = now;
    line_(json::object{{"progress", json::object{{"layers", LayersToJson(layers)}}}});
  }

  LineFn line_;
  std::function<void()> finish_;
  std::mutex mu_;
  bool closed_ = false;
  std::string last_states_;
  std::chrono::steady_clock::time_point last_sent_{};
};

// Sends op's final line: its result or its error.
void Conclude(TransferStream& stream, Result<json::value> result, const std::string& request) {
  if (result.ok()) {
    stream.Finish(json::object{{"result", std::move(result).value()}});
  } else {
    LogWarning(request + ": " + result.error().message());
    stream.Finish(ErrorToJson(result.error()));
  }
}

}  // namespace

registry::Registries& ApiRouter::Registries() {
  if (registries_ != nullptr) return *registries_;
  static registry::Registries defaults({});
  return defaults;
}

Status ApiRouter::PullImage(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string text, Field(body, "ref", true));
  ASSIGN_OR_RETURN(registry::Reference ref, registry::Reference::Parse(text));
  ASSIGN_OR_RETURN(registry::Credentials credentials, AuthField(body));
  registry::PullOptions options;
  ASSIGN_OR_RETURN(std::string platform, Field(body, "platform", false));
  if (!platform.empty()) options.platform = platform;
  options.parallel = Registries().parallel();
  const std::string what = "pull " + ref.Familiar();

  call.StartStream();
  // A client that went away (strata pull interrupted) cancels the pull: a
  // registry trickling a blob would otherwise hold it, and GC, for as long
  // as it likes. Noticed when a progress line cannot be written.
  std::atomic<bool> client_gone{false};
  options.cancel = &client_gone;
  TransferStream stream(
      [&](const json::value& line) {
        call.StreamLine(line);
        if (call.PeerGone()) client_gone = true;
      },
      [&] { call.FinishStream(); });
  auto op = [&](const registry::TransferProgressFn& progress) -> Result<json::value> {
    options.progress = progress;
    auto client = Registries().Connect(ref.registry, credentials, "pull");
    if (!client.ok()) return std::move(client).error().Context(what);
    auto r = registry::PullImage(store_, **client, ref, options);
    if (!r.ok()) return std::move(r).error().Context(what);
    LogInfo("pulled " + r->image_id.str() + " from " + ref.Familiar() + " (" +
            std::to_string(r->layers_fetched) + " layers fetched, " + std::to_string(r->resumes) +
            " resumed)");
    return json::value(json::object{{"id", r->image_id.str()},
                                    {"tag", r->tag},
                                    {"reference", ref.Familiar()},
                                    {"manifest", r->manifest_digest.str()},
                                    {"layers", r->layers},
                                    {"layers_fetched", r->layers_fetched},
                                    {"layers_reused", r->layers_reused},
                                    {"bytes_fetched", r->bytes_fetched},
                                    {"resumes", r->resumes}});
  };
  Conclude(stream, op(stream.Fn()), call.request().method + " " + call.request().target);
  return Ok();
}

Status ApiRouter::PushImage(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string text, Field(body, "target", false));
  if (text.empty()) text = call.ref();
  ASSIGN_OR_RETURN(registry::Reference target, registry::Reference::Parse(text));
  if (target.digest) return Error::Invalid("push to a digest: name a tag instead");
  ASSIGN_OR_RETURN(registry::Credentials credentials, AuthField(body));
  registry::PushOptions options;
  ASSIGN_OR_RETURN(std::string compression, Field(body, "compression", false));
  ASSIGN_OR_RETURN(options.compression, registry::ParseCompression(compression));
  if (const json::value* chunk = body.if_contains("chunk_size"); chunk && !chunk->is_null()) {
    if (!chunk->is_int64() && !chunk->is_uint64()) {
      return Error::Invalid("\"chunk_size\" must be a number of bytes");
    }
    options.chunk_size = chunk->to_number<uint64_t>();
  }
  options.parallel = Registries().parallel();
  // Resolve before streaming, so a missing image is a plain 404.
  ASSIGN_OR_RETURN(storage::Digest id, store_.ResolveImage(call.ref()));
  const std::string what = "push " + target.Familiar();

  call.StartStream();
  TransferStream stream([&](const json::value& line) { call.StreamLine(line); },
                        [&] { call.FinishStream(); });
  auto op = [&](const registry::TransferProgressFn& progress) -> Result<json::value> {
    options.progress = progress;
    auto client = Registries().Connect(target.registry, credentials, "pull,push");
    if (!client.ok()) return std::move(client).error().Context(what);
    auto r = registry::PushImage(store_, **client, id.str(), target, options);
    if (!r.ok()) return std::move(r).error().Context(what);
    LogInfo("pushed " + id.str() + " to " + r->reference + " (" +
            std::to_string(r->layers_uploaded) + " layers uploaded)");
    return json::value(json::object{{"id", r->image_id.str()},
                                    {"reference", r->reference},
                                    {"manifest", r->manifest_digest.str()},
                                    {"layers", r->layers},
                                    {"layers_uploaded", r->layers_uploaded},
                                    {"layers_existing", r->layers_existing},
                                    {"layers_mounted", r->layers_mounted},
                                    {"bytes_uploaded", r->bytes_uploaded}});
  };
  Conclude(stream, op(stream.Fn()), call.request().method + " " + call.request().target);
  return Ok();
}

Status ApiRouter::RegistryLogin(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string host, Field(body, "registry", true));
  registry::Credentials credentials;
  ASSIGN_OR_RETURN(credentials.username, Field(body, "username", true));
  ASSIGN_OR_RETURN(credentials.password, Field(body, "password", true));
  ASSIGN_OR_RETURN(auto client, Registries().Connect(host, credentials, "pull"));
  RETURN_IF_ERROR_CTX(client->Ping(), "login " + host);
  LogInfo("login to " + host + " as " + credentials.username + " accepted");
  call.Reply(200, json::object{{"status", "Login Succeeded"}});
  return Ok();
}

}  // namespace strata::runtime
