#include "runtime/container_commands.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <functional>
#include <optional>
#include <ostream>

#include <boost/json.hpp>

#include "common/base64.h"
#include "runtime/api_protocol.h"
#include "runtime/attach_session.h"
#include "runtime/cli_format.h"
#include "runtime/detach_keys.h"
#include "runtime/json_fields.h"
#include "runtime/log_time.h"
#include "runtime/security_options.h"
#include "runtime/signal_proxy.h"

namespace strata::runtime {
namespace json = boost::json;
using namespace jsonf;

namespace {

constexpr int kExitNotCreated = 125;

Error WithContext(Error error, const std::string& what) {
  error.Context(what);
  return error;
}

Result<json::value> Call(CommandContext& ctx, std::string_view method, const std::string& target,
                         const json::value& body, const std::string& what) {
  ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request(method, target, body));
  if (!response.ok()) return WithContext(response.error(), what);
  return std::move(response.body);
}

const json::object& AsObject(const json::value& v) {
  static const json::object kEmpty;
  return v.is_object() ? v.get_object() : kEmpty;
}

const json::array& ArrayOf(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  const json::value* a = AsObject(v).if_contains(key);
  return a != nullptr && a->is_array() ? a->get_array() : kEmpty;
}

// Reports every failure but the last at once (main prints the last).
class FailureList {
 public:
  explicit FailureList(std::ostream& err) : err_(err) {}
  void Add(Error e) {
    if (last_) err_ << "strata: " << last_->message() << "\n";
    last_ = std::move(e);
  }
  Status Result() { return last_ ? Status(std::move(*last_)) : Ok(); }

 private:
  std::ostream& err_;
  std::optional<Error> last_;
};

// Runs verb on each ref; prints the ref after each success.
Status EachRef(CommandContext& ctx, const std::vector<std::string>& refs, const std::string& verb,
               const std::function<Status(const std::string&)>& fn) {
  FailureList failures(ctx.err);
  for (const auto& ref : refs) {
    Status s = fn(ref);
    if (s.ok()) {
      ctx.out << ref << "\n" << std::flush;
    } else {
      failures.Add(WithContext(s.error(), verb + " " + ref));
    }
  }
  return failures.Result();
}

Status Post(CommandContext& ctx, const std::string& target, const json::value& body) {
  ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request("POST", target, body));
  if (!response.ok()) return response.error();
  return Ok();
}

json::object CreateBody(const ContainerCreateArgs& a) {
  json::array env;
  for (const auto& e : a.env) {
    if (e.find('=') != std::string::npos) {
      env.emplace_back(e);
    } else if (const char* v = std::getenv(e.c_str()); v != nullptr) {
      env.emplace_back(e + "=" + v);  // `-e NAME`: the client's value, as Docker
    }
  }
  json::object labels;
  for (const auto& l : a.labels) {
    size_t eq = l.find('=');
    labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  json::object body{{"image", a.image},
                    {"cmd", ToArray(a.cmd)},
                    {"env", std::move(env)},
                    {"volumes", ToArray(a.volumes)},
                    {"tmpfs", ToArray(a.tmpfs)},
                    {"labels", std::move(labels)},
                    {"memory", a.memory},
                    {"pids_limit", a.pids_limit},
                    {"cpus", a.cpus},
                    {"log_max_size", a.log_max_size},
                    {"log_max_files", a.log_max_files},
                    {"tty", a.tty},
                    {"interactive", a.interactive},
                    {"auto_remove", a.auto_remove}};
  if (!a.name.empty()) body["name"] = a.name;
  if (!a.workdir.empty()) body["workdir"] = a.workdir;
  if (!a.user.empty()) body["user"] = a.user;
  if (!a.hostname.empty()) body["hostname"] = a.hostname;
  if (!a.restart.empty()) body["restart"] = a.restart;
  if (!a.network.empty()) body["network"] = a.network;
  if (a.privileged) body["privileged"] = true;
  if (!a.security_opt.empty()) body["security_opt"] = ToArray(a.security_opt);
  return body;
}

// A bind source given relative ("-v ./data:/data") is resolved here, where
// the user's working directory is known.
std::vector<std::string> AbsoluteBinds(const std::vector<std::string>& specs) {
  std::vector<std::string> out;
  for (const auto& spec : specs) {
    if (spec.rfind("./", 0) == 0 || spec.rfind("../", 0) == 0 || spec == "." ||
        spec.rfind(".:", 0) == 0) {
      char cwd[4096];
      if (::getcwd(cwd, sizeof cwd) != nullptr) {
        out.push_back(std::string(cwd) + "/" + spec);
        continue;
      }
    }
    out.push_back(spec);
  }
  return out;
}

Result<std::string> Create(CommandContext& ctx, const ContainerCreateArgs& args) {
  ContainerCreateArgs a = args;
  a.volumes = AbsoluteBinds(args.volumes);
  ASSIGN_OR_RETURN(a.security_opt, ReadSecurityOptFiles(args.security_opt));
  ASSIGN_OR_RETURN(ApiResponse response,
                   ctx.client.Request("POST", BuildTarget({"containers"}), CreateBody(a)));
  if (!response.ok()) return WithContext(response.error(), "create");
  return Str(AsObject(response.body), "id");
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string Ago(const std::string& when, int64_t now) {
  auto t = ParseRfc3339(when);
  return t ? HumanDuration(now - *t) : "";
}

// Docker's STATUS column.
std::string StatusText(const json::object& state, int64_t now) {
  std::string status = Str(state, "status");
  std::string code = std::to_string(Int(state, "exit_code"));
  if (status == "running") return "Up " + Ago(Str(state, "started_at"), now);
  if (status == "paused") return "Up " + Ago(Str(state, "started_at"), now) + " (Paused)";
  if (status == "restarting") {
    return "Restarting (" + code + ") " + Ago(Str(state, "finished_at"), now) + " ago";
  }
  if (status == "exited") {
    if (Str(state, "finished_at").empty()) return "Exited (" + code + ")";
    return "Exited (" + code + ") " + Ago(Str(state, "finished_at"), now) + " ago";
  }
  if (status == "dead") return "Dead";
  return "Created";
}

std::string CommandText(const json::object& c) {
  std::string cmd;
  for (const auto& a : Strs(c, "command")) cmd += (cmd.empty() ? "" : " ") + a;
  return "\"" + Truncate(cmd, 20) + "\"";
}

// One log entry to stdout or stderr, as the container wrote it.
void PrintEntry(CommandContext& ctx, const json::object& o, bool timestamps) {
  std::string text = Str(o, "log");
  if (timestamps) text = Str(o, "time") + " " + text;
  if (Str(o, "stream") == "stderr") {
    ctx.out << std::flush;
    ctx.err << text << std::flush;
  } else {
    ctx.out << text << std::flush;
  }
}

// A container that could not start: Docker's 126/127 when its command could
// not be run (stratad records them in the state), else 125; a --rm one goes.
Status StartFailed(CommandContext& ctx, const ContainerCreateArgs& args, const std::string& id,
                   Error error, int* exit_code) {
  auto inspect = ctx.client.Request("GET", BuildTarget({"containers", id}));
  if (inspect.ok() && inspect->ok()) {
    int code = static_cast<int>(Int(Obj(AsObject(inspect->body), "state"), "exit_code"));
    if (code == 126 || code == 127) *exit_code = code;
  }
  if (args.auto_remove) {
    (void)ctx.client.Request("DELETE", BuildTarget({"containers", id}) + "?force=1");
  }
  return WithContext(std::move(error), "start " + args.image);
}

// Follows the container's log to stdout/stderr until it ends.
Status StreamLogs(CommandContext& ctx, const std::string& ref, bool follow, long tail,
                  bool timestamps, const std::string& since = "") {
  std::string target = BuildTarget({"containers", ref, "logs"});
  target += "?follow=" + std::string(follow ? "1" : "0");
  if (tail >= 0) target += "&tail=" + std::to_string(tail);
  if (!since.empty()) {
    // Durations count back from the client's now; what goes out is the
    // stored form (digits, '-', ':', 'T', '.', 'Z': nothing to escape).
    ASSIGN_OR_RETURN(std::string from, ParseLogTime(since, std::chrono::system_clock::now()));
    target += "&since=" + from;
  }
  std::optional<Error> stream_error;
  auto on_line = [&](const json::value& line) -> Status {
    const json::object& o = AsObject(line);
    if (o.contains("error")) {
      stream_error = ErrorFromJson(line, 500);
      return Ok();
    }
    PrintEntry(ctx, o, timestamps);
    return Ok();
  };
  ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Stream("GET", target, nullptr, on_line));
  if (!response.ok()) return WithContext(response.error(), "logs " + ref);
  if (stream_error) return WithContext(*stream_error, "logs " + ref);
  return Ok();
}

Result<int> WaitFor(CommandContext& ctx, const std::string& ref) {
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "POST", BuildTarget({"containers", ref, "wait"}),
                                       nullptr, "wait " + ref));
  return static_cast<int>(Int(AsObject(v), "exit_code"));
}

// Signals the client gets while attached without a terminal go to the
// container (Docker's sig-proxy); each on a connection of its own, since the
// session holds the client's.
std::unique_ptr<SignalProxy> ProxySignalsTo(CommandContext& ctx, const std::string& id) {
  std::string socket = ctx.client.socket_path();
  return std::make_unique<SignalProxy>([socket, id](int sig) {
    ApiClient client(socket);
    (void)client.Request("POST", BuildTarget({"containers", id, "kill"}),
                         json::object{{"signal", std::to_string(sig)}});
  });
}

// An attached session from here to the container's exit or a detach.
Result<AttachEnd> Attached(CommandContext& ctx, UniqueFd socket, bool tty, bool interactive,
                           const std::string& detach_keys) {
  ASSIGN_OR_RETURN(std::string keys, ParseDetachKeys(detach_keys));
  ctx.out << std::flush;
  return RunAttachSession(std::move(socket), {tty, interactive, 0, 1, 2, keys});
}

}  // namespace

Status ContainerCreate(CommandContext& ctx, const ContainerCreateArgs& args) {
  ASSIGN_OR_RETURN(std::string id, Create(ctx, args));
  ctx.out << id << "\n";
  return Ok();
}

Status ContainerRun(CommandContext& ctx, const ContainerCreateArgs& args, bool detach,
                    int* exit_code) {
  *exit_code = kExitNotCreated;
  ASSIGN_OR_RETURN(std::string id, Create(ctx, args));
  std::unique_ptr<SignalProxy> proxy;
  if (!detach && !args.tty) proxy = ProxySignalsTo(ctx, id);
  if (!detach && (args.tty || args.interactive)) {
    // An attached session: the terminal (or stdin) and the output, from
    // before the start to the exit.
    ASSIGN_OR_RETURN(ApiClient::Upgraded up,
                     ctx.client.Upgrade(
                         "POST", BuildTarget({"containers", id, "attach"}) + "?start=1", nullptr));
    if (up.response.status != 101) {
      return StartFailed(ctx, args, id, up.response.error(), exit_code);
    }
    auto end = Attached(ctx, std::move(up.socket), args.tty, args.interactive, args.detach_keys);
    if (!end.ok()) return WithContext(end.error(), "run " + args.image);
    *exit_code = end->exit_code;
    return Ok();
  }
  if (detach) {
    Status started = Post(ctx, BuildTarget({"containers", id, "start"}), nullptr);
    if (!started.ok()) return StartFailed(ctx, args, id, started.error(), exit_code);
    *exit_code = 0;
    ctx.out << id << "\n";
    return Ok();
  }
  // Started attached: the output of the run from its first byte, then its
  // exit code, in one stream (a --rm container may be gone right after).
  std::optional<Error> stream_error;
  std::optional<int> code;
  auto on_line = [&](const json::value& line) -> Status {
    const json::object& o = AsObject(line);
    if (o.contains("error")) {
      stream_error = ErrorFromJson(line, 500);
    } else if (o.contains("exit_code")) {
      code = static_cast<int>(Int(o, "exit_code"));
    } else {
      PrintEntry(ctx, o, false);
    }
    return Ok();
  };
  ASSIGN_OR_RETURN(ApiResponse response,
                   ctx.client.Stream("POST", BuildTarget({"containers", id, "start"}) + "?attach=1",
                                     nullptr, on_line));
  if (!response.ok()) return StartFailed(ctx, args, id, response.error(), exit_code);
  if (stream_error) return WithContext(*stream_error, "run " + args.image);
  if (!code) return Error(EPROTO, "run " + args.image + ": stratad sent no exit code");
  *exit_code = *code;
  return Ok();
}

Status ContainerAttach(CommandContext& ctx, const ContainerAttachArgs& args, int* exit_code) {
  *exit_code = 0;
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "GET", BuildTarget({"containers", args.ref}), nullptr,
                                       "attach " + args.ref));
  const json::object& c = AsObject(v);
  bool tty = Bool(c, "tty");
  bool interactive = Bool(c, "interactive") && !args.no_stdin;
  std::string id = Str(c, "id");
  std::unique_ptr<SignalProxy> proxy;
  if (!tty && args.sig_proxy) proxy = ProxySignalsTo(ctx, id);
  ASSIGN_OR_RETURN(ApiClient::Upgraded up,
                   ctx.client.Upgrade("POST", BuildTarget({"containers", id, "attach"}), nullptr));
  if (up.response.status != 101) return WithContext(up.response.error(), "attach " + args.ref);
  auto end = Attached(ctx, std::move(up.socket), tty, interactive, args.detach_keys);
  if (!end.ok()) return WithContext(end.error(), "attach " + args.ref);
  *exit_code = end->exit_code;
  return Ok();
}

Status ContainerStart(CommandContext& ctx, const std::vector<std::string>& refs) {
  return EachRef(ctx, refs, "start", [&](const std::string& ref) {
    return Post(ctx, BuildTarget({"containers", ref, "start"}), nullptr);
  });
}

Status ContainerStop(CommandContext& ctx, const std::vector<std::string>& refs, int timeout) {
  return EachRef(ctx, refs, "stop", [&](const std::string& ref) {
    json::object body;
    if (timeout >= 0) body["timeout"] = timeout;
    return Post(ctx, BuildTarget({"containers", ref, "stop"}), body);
  });
}

Status ContainerRestart(CommandContext& ctx, const std::vector<std::string>& refs, int timeout) {
  return EachRef(ctx, refs, "restart", [&](const std::string& ref) {
    json::object body;
    if (timeout >= 0) body["timeout"] = timeout;
    return Post(ctx, BuildTarget({"containers", ref, "restart"}), body);
  });
}

Status ContainerKill(CommandContext& ctx, const std::vector<std::string>& refs,
                     const std::string& signal) {
  return EachRef(ctx, refs, "kill", [&](const std::string& ref) {
    return Post(ctx, BuildTarget({"containers", ref, "kill"}), json::object{{"signal", signal}});
  });
}

Status ContainerPause(CommandContext& ctx, const std::vector<std::string>& refs) {
  return EachRef(ctx, refs, "pause", [&](const std::string& ref) {
    return Post(ctx, BuildTarget({"containers", ref, "pause"}), nullptr);
  });
}

Status ContainerResume(CommandContext& ctx, const std::vector<std::string>& refs) {
  return EachRef(ctx, refs, "resume", [&](const std::string& ref) {
    return Post(ctx, BuildTarget({"containers", ref, "resume"}), nullptr);
  });
}

Status ContainerRemove(CommandContext& ctx, const std::vector<std::string>& refs, bool force) {
  return EachRef(ctx, refs, "rm", [&](const std::string& ref) -> Status {
    std::string target = BuildTarget({"containers", ref}) + (force ? "?force=1" : "");
    ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request("DELETE", target));
    if (!response.ok()) return response.error();
    return Ok();
  });
}

Status ContainerReset(CommandContext& ctx, const std::vector<std::string>& refs) {
  return EachRef(ctx, refs, "reset", [&](const std::string& ref) {
    return Post(ctx, BuildTarget({"containers", ref, "reset"}), nullptr);
  });
}

Status ContainerWait(CommandContext& ctx, const std::vector<std::string>& refs) {
  FailureList failures(ctx.err);
  for (const auto& ref : refs) {
    auto code = WaitFor(ctx, ref);
    if (code.ok()) {
      ctx.out << *code << "\n" << std::flush;
    } else {
      failures.Add(code.error());
    }
  }
  return failures.Result();
}

Status ContainerList(CommandContext& ctx, bool all, OutputFormat format, bool quiet) {
  std::string target = BuildTarget({"containers"}) + (all ? "?all=1" : "");
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "GET", target, nullptr, "list containers"));
  const json::array& containers = ArrayOf(v, "containers");
  if (format == OutputFormat::kJson) {
    ctx.out << PrettyJson(containers);
    return Ok();
  }
  if (quiet) {
    for (const auto& c : containers) ctx.out << Str(AsObject(c), "id").substr(0, 12) << "\n";
    return Ok();
  }
  Table table({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"});
  int64_t now = Now();
  for (const auto& item : containers) {
    const json::object& c = AsObject(item);
    std::string image = Str(c, "image_ref");
    if (image.empty()) image = ShortId(Str(c, "image"));
    table.AddRow({Str(c, "id").substr(0, 12), image, CommandText(c),
                  Ago(Str(c, "created"), now) + " ago", StatusText(Obj(c, "state"), now),
                  Str(c, "name")});
  }
  ctx.out << table.Render();
  return Ok();
}

Status ContainerInspect(CommandContext& ctx, const std::vector<std::string>& refs) {
  json::array found;
  FailureList failures(ctx.err);
  for (const auto& ref : refs) {
    ASSIGN_OR_RETURN(ApiResponse response,
                     ctx.client.Request("GET", BuildTarget({"containers", ref})));
    if (response.ok()) {
      found.push_back(std::move(response.body));
    } else {
      failures.Add(WithContext(response.error(), "inspect " + ref));
    }
  }
  ctx.out << PrettyJson(found);
  return failures.Result();
}

Status ContainerLogs(CommandContext& ctx, const std::string& ref, bool follow, long tail,
                     bool timestamps, const std::string& since) {
  return StreamLogs(ctx, ref, follow, tail, timestamps, since);
}

Status ContainerExec(CommandContext& ctx, const ContainerExecArgs& args, int* exit_code) {
  *exit_code = 0;
  json::object body{{"cmd", ToArray(args.cmd)}, {"env", ToArray(args.env)}};
  if (!args.user.empty()) body["user"] = args.user;
  if (!args.workdir.empty()) body["workdir"] = args.workdir;
  if (args.tty || args.interactive) {
    body["tty"] = args.tty;
    body["interactive"] = args.interactive;
    ASSIGN_OR_RETURN(
        ApiClient::Upgraded up,
        ctx.client.Upgrade("POST", BuildTarget({"containers", args.ref, "exec"}), body));
    if (up.response.status != 101) return WithContext(up.response.error(), "exec " + args.ref);
    auto end = Attached(ctx, std::move(up.socket), args.tty, args.interactive, args.detach_keys);
    if (!end.ok()) return WithContext(end.error(), "exec " + args.ref);
    *exit_code = end->exit_code;
    return Ok();
  }
  std::optional<Error> stream_error;
  std::optional<int> code;
  auto on_line = [&](const json::value& line) -> Status {
    const json::object& o = AsObject(line);
    if (o.contains("error")) {
      stream_error = ErrorFromJson(line, 500);
    } else if (o.contains("exit_code")) {
      code = static_cast<int>(Int(o, "exit_code"));
    } else {
      auto data = Base64Decode(Str(o, "data"));
      if (!data) return Error(EPROTO, "stratad sent exec output that is not base64");
      if (Str(o, "stream") == "stderr") {
        ctx.out << std::flush;
        ctx.err << *data << std::flush;
      } else {
        ctx.out << *data << std::flush;
      }
    }
    return Ok();
  };
  ASSIGN_OR_RETURN(
      ApiResponse response,
      ctx.client.Stream("POST", BuildTarget({"containers", args.ref, "exec"}), body, on_line));
  if (!response.ok()) return WithContext(response.error(), "exec " + args.ref);
  if (stream_error) return WithContext(*stream_error, "exec " + args.ref);
  if (!code) return Error(EPROTO, "exec " + args.ref + ": stratad sent no exit code");
  *exit_code = *code;
  return Ok();
}

Status ContainerCommit(CommandContext& ctx, const std::string& ref, const std::string& tag,
                       const std::string& message, const std::string& author) {
  json::object body{{"tag", tag}};
  if (!message.empty()) body["comment"] = message;
  if (!author.empty()) body["author"] = author;
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "POST", BuildTarget({"containers", ref, "commit"}),
                                       body, "commit " + ref));
  ctx.out << Str(AsObject(v), "id") << "\n";
  return Ok();
}

Status VolumeCreate(CommandContext& ctx, const std::string& name,
                    const std::vector<std::string>& labels) {
  json::object l;
  for (const auto& label : labels) {
    size_t eq = label.find('=');
    l[label.substr(0, eq)] = eq == std::string::npos ? "" : label.substr(eq + 1);
  }
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "POST", BuildTarget({"volumes"}),
                                       json::object{{"name", name}, {"labels", std::move(l)}},
                                       "volume create " + name));
  ctx.out << Str(AsObject(v), "name") << "\n";
  return Ok();
}

Status VolumeList(CommandContext& ctx, OutputFormat format, bool quiet) {
  ASSIGN_OR_RETURN(json::value v,
                   Call(ctx, "GET", BuildTarget({"volumes"}), nullptr, "list volumes"));
  const json::array& volumes = ArrayOf(v, "volumes");
  if (format == OutputFormat::kJson) {
    ctx.out << PrettyJson(volumes);
    return Ok();
  }
  if (quiet) {
    for (const auto& item : volumes) ctx.out << Str(AsObject(item), "name") << "\n";
    return Ok();
  }
  Table table({"VOLUME NAME", "CONTAINERS", "MOUNTPOINT"});
  for (const auto& item : volumes) {
    const json::object& o = AsObject(item);
    std::string users;
    for (const auto& u : Strs(o, "containers")) users += (users.empty() ? "" : ",") + u;
    table.AddRow({Str(o, "name"), users.empty() ? "-" : users, Str(o, "mountpoint")});
  }
  ctx.out << table.Render();
  return Ok();
}

Status VolumeInspect(CommandContext& ctx, const std::vector<std::string>& names) {
  json::array found;
  FailureList failures(ctx.err);
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(ApiResponse response,
                     ctx.client.Request("GET", BuildTarget({"volumes", name})));
    if (response.ok()) {
      found.push_back(std::move(response.body));
    } else {
      failures.Add(WithContext(response.error(), "volume inspect " + name));
    }
  }
  ctx.out << PrettyJson(found);
  return failures.Result();
}

Status VolumeRemove(CommandContext& ctx, const std::vector<std::string>& names) {
  return EachRef(ctx, names, "volume rm", [&](const std::string& name) -> Status {
    ASSIGN_OR_RETURN(ApiResponse response,
                     ctx.client.Request("DELETE", BuildTarget({"volumes", name})));
    if (!response.ok()) return response.error();
    return Ok();
  });
}

}  // namespace strata::runtime
