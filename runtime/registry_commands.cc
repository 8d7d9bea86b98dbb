#include "runtime/registry_commands.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <ostream>

#include <boost/json.hpp>

#include "registry/credential_store.h"
#include "registry/reference.h"
#include "runtime/api_protocol.h"
#include "runtime/cli_format.h"
#include "runtime/json_fields.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

using jsonf::Str;

// A count or size; missing or negative reads as 0.
uint64_t Num(const json::object& o, std::string_view key) {
  return static_cast<uint64_t>(std::max<int64_t>(0, jsonf::Int(o, key)));
}

// "https://index.docker.io/v1/" -> "docker.io"; "localhost:5000/" -> "localhost:5000".
std::string RegistryHost(std::string text) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (text.rfind(scheme, 0) == 0) text.erase(0, scheme.size());
  }
  text = text.substr(0, text.find('/'));
  if (text.empty() || text == "index.docker.io" || text == "registry-1.docker.io") {
    return std::string(registry::kDockerHub);
  }
  return text;
}

// The credentials for a registry from the user's file or credential helper,
// as a request member.
Result<json::value> AuthFor(const std::string& registry_host) {
  ASSIGN_OR_RETURN(auto credentials, registry::CredentialStore::Default().Lookup(registry_host));
  if (!credentials) return json::value(nullptr);
  return json::value(
      json::object{{"username", credentials->username}, {"password", credentials->password}});
}

// Per-layer lines on a terminal, redrawn in place.
class LayerDisplay {
 public:
  LayerDisplay(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~LayerDisplay() { err_ << std::flush; }

  void Update(const json::object& progress) {
    if (!enabled_) return;
    const json::value* layers = progress.if_contains("layers");
    if (!layers || !layers->is_array()) return;
    if (drawn_ > 0) err_ << "\033[" << drawn_ << "A";
    size_t n = 0;
    for (const json::value& item : layers->get_array()) {
      if (!item.is_object()) continue;
      const json::object& l = item.get_object();
      std::string line = Str(l, "id") + ": " + Str(l, "state");
      uint64_t size = Num(l, "size");
      uint64_t bytes = Num(l, "bytes");
      if (Str(l, "state") == "downloading" || Str(l, "state") == "uploading") {
        line += " " + HumanSize(bytes) + (size > 0 ? " / " + HumanSize(size) : "");
      }
      err_ << "\r\033[K" << line << "\n";
      ++n;
    }
    drawn_ = n;
    err_ << std::flush;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  size_t drawn_ = 0;
};

Result<json::object> RunTransfer(CommandContext& ctx, const std::string& target,
                                 const json::value& body, const std::string& what) {
  LayerDisplay display(ctx.err, ctx.show_progress);
  ASSIGN_OR_RETURN(ApiResponse response,
                   ctx.client.RunOperation("POST", target, body,
                                           [&](const json::object& p) { display.Update(p); }));
  if (!response.ok()) {
    Error e = response.error();
    // stratad's message starts with the operation already ("pull x: ...").
    if (e.message().rfind(what.substr(0, what.find(' ')) + " ", 0) != 0) e.Context(what);
    return e;
  }
  if (!response.body.is_object())
    return Error(EPROTO, "stratad sent a result that is not an object");
  return std::move(response.body.as_object());
}

Result<std::string> ReadPassword(const LoginArgs& args, std::ostream& err) {
  if (!args.password.empty()) return args.password;
  std::string password;
  if (args.password_stdin) {
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return password;
  }
  if (!::isatty(STDIN_FILENO)) {
    return Error::Invalid("no password: use --password-stdin or -p, or run on a terminal");
  }
  err << "Password: " << std::flush;
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, password);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  err << "\n";
  return password;
}

}  // namespace

Status Pull(CommandContext& ctx, const PullArgs& args) {
  const std::string what = "pull " + args.ref;
  auto ref = registry::Reference::Parse(args.ref);
  if (!ref.ok()) return std::move(ref).error().Context(what);
  auto auth = AuthFor(ref->registry);
  if (!auth.ok()) return std::move(auth).error().Context(what);
  json::object body{{"ref", args.ref}, {"auth", *auth}};
  if (!args.platform.empty()) body["platform"] = args.platform;
  ASSIGN_OR_RETURN(json::object r, RunTransfer(ctx, BuildTarget({"images", "pull"}), body, what));
  ctx.out << Str(r, "reference") << ": " << Num(r, "layers_fetched") << " layers fetched ("
          << HumanSize(Num(r, "bytes_fetched")) << "), " << Num(r, "layers_reused")
          << " already present";
  if (uint64_t resumes = Num(r, "resumes"); resumes > 0) ctx.out << ", " << resumes << " resumed";
  ctx.out << "\nDigest: " << Str(r, "manifest") << "\n" << Str(r, "id") << "\n";
  return Ok();
}

Status Push(CommandContext& ctx, const PushArgs& args) {
  std::string target_text = args.target.empty() ? args.image : args.target;
  const std::string what = "push " + target_text;
  auto target = registry::Reference::Parse(target_text);
  if (!target.ok()) return std::move(target).error().Context(what);
  auto auth = AuthFor(target->registry);
  if (!auth.ok()) return std::move(auth).error().Context(what);
  json::object body{{"target", target_text}, {"auth", *auth}};
  if (!args.compression.empty()) body["compression"] = args.compression;
  if (args.chunk_size >= 0) body["chunk_size"] = args.chunk_size;
  ASSIGN_OR_RETURN(json::object r,
                   RunTransfer(ctx, BuildTarget({"images", args.image, "push"}), body, what));
  ctx.out << Str(r, "reference") << ": " << Num(r, "layers_uploaded") << " layers uploaded ("
          << HumanSize(Num(r, "bytes_uploaded")) << "), " << Num(r, "layers_existing")
          << " already there, " << Num(r, "layers_mounted") << " mounted\n"
          << "Digest: " << Str(r, "manifest") << "\n";
  return Ok();
}

Status Login(CommandContext& ctx, const LoginArgs& args) {
  const std::string host = RegistryHost(args.registry);
  const std::string what = "login " + host;
  if (args.username.empty()) return Error::Invalid(what + ": a username is required (-u)");
  auto password = ReadPassword(args, ctx.err);
  if (!password.ok()) return std::move(password).error().Context(what);
  json::object body{{"registry", host}, {"username", args.username}, {"password", *password}};
  ASSIGN_OR_RETURN(ApiResponse response,
                   ctx.client.Request("POST", BuildTarget({"registry", "login"}), body));
  if (!response.ok()) {
    Error e = response.error();
    if (e.message().rfind("login ", 0) != 0) e.Context(what);
    return e;
  }
  Status stored = registry::CredentialStore::Default().Store(host, {args.username, *password});
  if (!stored.ok()) return std::move(stored).error().Context(what + ": store credentials");
  ctx.out << "Login Succeeded\n";
  return Ok();
}

Status Logout(CommandContext& ctx, const std::string& registry_text) {
  const std::string host = RegistryHost(registry_text);
  auto erased = registry::CredentialStore::Default().Erase(host);
  if (!erased.ok()) return std::move(erased).error().Context("logout " + host);
  if (!*erased) return Error::NotFound("logout " + host + ": not logged in to " + host);
  ctx.out << "Removing login credentials for " << host << "\n";
  return Ok();
}

}  // namespace strata::runtime
