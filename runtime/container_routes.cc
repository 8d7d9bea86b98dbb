// ApiRouter: the container and volume routes, over ContainerManager. The
// shapes are documented in docs/api.md.
#include <boost/json.hpp>

#include "common/base64.h"
#include "common/log.h"
#include "runtime/api_call.h"
#include "runtime/api_protocol.h"
#include "runtime/container_manager.h"
#include "runtime/cron_scheduler.h"
#include "runtime/json_fields.h"
#include "runtime/log_time.h"
#include "runtime/oci/signal_names.h"

namespace strata::runtime {
namespace json = boost::json;
using namespace jsonf;

namespace {

// What inspect and ps show of a container: its record (container_record.h)
// as the API names it, without what only the service uses, plus where its
// root is and its state.
json::object ContainerToJson(const ContainerRecord& r, const std::string& root) {
  const ContainerConfig& c = r.config;
  const ContainerState& s = r.state;
  json::object o = ConfigToJson(c);
  for (std::string_view internal : {"chain", "stop_signal", "stop_timeout", "restart"}) {
    o.erase(internal);
  }
  o["restart_policy"] = c.restart.str();
  o["command"] = ToArray(c.Args());
  // The profile itself can be long: only which kind it is.
  o["seccomp"] = c.seccomp.empty() || c.seccomp == "unconfined" ? c.seccomp : "custom";
  o["root"] = root + "/mnt/containers/" + c.id;
  o["state"] = json::object{
      {"status", StatusName(s.status)},
      {"running", s.status == ContainerStatus::kRunning || s.status == ContainerStatus::kPaused},
      {"paused", s.status == ContainerStatus::kPaused},
      {"restarting", s.status == ContainerStatus::kRestarting},
      {"pid", s.pid},
      {"exit_code", s.exit_code},
      {"oom_killed", s.oom_killed},
      {"started_at", s.started_at},
      {"finished_at", s.finished_at},
      {"restart_count", s.restart_count},
      {"error", s.error},
  };
  return o;
}

json::object VolumeToJson(const VolumeUsage& v) {
  return json::object{{"name", v.info.name},
                      {"mountpoint", v.info.mountpoint},
                      {"created", v.info.created},
                      {"labels", ToObject(v.info.labels)},
                      {"containers", ToArray(v.containers)}};
}

Result<CreateRequest> ParseCreate(const json::object& b) {
  CreateRequest r;
  ASSIGN_OR_RETURN(r.image, GetStr(b, "image"));
  if (r.image.empty()) return Error::Invalid("missing \"image\"");
  ASSIGN_OR_RETURN(r.name, GetStr(b, "name"));
  ASSIGN_OR_RETURN(r.cmd, GetStrs(b, "cmd"));
  ASSIGN_OR_RETURN(r.env, GetStrs(b, "env"));
  ASSIGN_OR_RETURN(r.workdir, GetStr(b, "workdir"));
  ASSIGN_OR_RETURN(r.user, GetStr(b, "user"));
  ASSIGN_OR_RETURN(r.hostname, GetStr(b, "hostname"));
  ASSIGN_OR_RETURN(r.labels, GetStrMap(b, "labels"));
  ASSIGN_OR_RETURN(r.restart, GetStr(b, "restart"));
  ASSIGN_OR_RETURN(r.volumes, GetStrs(b, "volumes"));
  ASSIGN_OR_RETURN(r.tmpfs, GetStrs(b, "tmpfs"));
  ASSIGN_OR_RETURN(r.memory, GetInt(b, "memory"));
  ASSIGN_OR_RETURN(r.pids_limit, GetInt(b, "pids_limit"));
  ASSIGN_OR_RETURN(r.cpus, GetDouble(b, "cpus"));
  ASSIGN_OR_RETURN(r.log_max_size, GetInt(b, "log_max_size"));
  if (b.contains("log_max_files")) {
    ASSIGN_OR_RETURN(r.log_max_files, GetInt(b, "log_max_files"));
  }
  ASSIGN_OR_RETURN(r.tty, GetBool(b, "tty"));
  ASSIGN_OR_RETURN(r.interactive, GetBool(b, "interactive"));
  ASSIGN_OR_RETURN(r.auto_remove, GetBool(b, "auto_remove"));
  ASSIGN_OR_RETURN(r.network, GetStr(b, "network"));
  ASSIGN_OR_RETURN(r.privileged, GetBool(b, "privileged"));
  ASSIGN_OR_RETURN(r.security_opt, GetStrs(b, "security_opt"));
  return r;
}

// An optional {"timeout": seconds} (or ?t=seconds).
Result<std::optional<int>> Timeout(const json::object& body, const std::string& query) {
  if (!query.empty()) {
    char* end = nullptr;
    long t = std::strtol(query.c_str(), &end, 10);
    // Above INT_MAX the cast would wrap (2^32 s would become 0: no grace).
    if (*end != '\0' || t < 0 || t > INT_MAX) {
      return Error::Invalid("timeout must be a number of seconds");
    }
    return std::optional<int>(static_cast<int>(t));
  }
  if (!body.contains("timeout")) return std::optional<int>();
  ASSIGN_OR_RETURN(int64_t t, GetInt(body, "timeout", 10));
  if (t < 0 || t > INT_MAX) return Error::Invalid("timeout must be 0 to 2147483647 seconds");
  return std::optional<int>(static_cast<int>(t));
}

json::value LogEntryToJson(const LogEntry& e) {
  return json::object{{"time", e.time}, {"stream", e.stream}, {"log", e.log}};
}

}  // namespace

Result<ContainerManager*> ApiRouter::Containers() {
  if (containers_ == nullptr) return Error(ENOTSUP, "this stratad runs no containers");
  return containers_;
}

Status ApiRouter::ListContainers(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(std::vector<ContainerRecord> all, m->List(call.QueryFlag("all")));
  json::array out;
  for (const auto& r : all) out.push_back(ContainerToJson(r, store_.root()));
  call.Reply(200, json::object{{"containers", std::move(out)}});
  return Ok();
}

Status ApiRouter::CreateContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(CreateRequest request, ParseCreate(body));
  if (cron_ != nullptr) RETURN_IF_ERROR(CronScheduler::CheckLabels(request.labels));
  ASSIGN_OR_RETURN(ContainerRecord r, m->Create(request));
  if (cron_ != nullptr) {
    // Jobs from strata.cron.* labels live and die with the container.
    if (Status s = cron_->AddLabelJobs(r.config); !s.ok()) {
      cron_->RemoveContainerJobs(r.config.id);
      (void)m->Remove(r.config.id, true);
      return s;
    }
  }
  call.Reply(201, json::object{{"id", r.config.id}, {"name", r.config.name}});
  return Ok();
}

Status ApiRouter::InspectContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(ContainerRecord r, m->Inspect(call.ref()));
  call.Reply(200, ContainerToJson(r, store_.root()));
  return Ok();
}

Status ApiRouter::RemoveContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(std::string id, m->Remove(call.ref(), call.QueryFlag("force")));
  if (cron_ != nullptr) cron_->RemoveContainerJobs(id);
  call.Reply(200, json::object{{"removed", id}});
  return Ok();
}

Status ApiRouter::StartContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  if (call.QueryFlag("attach")) return StartAttached(call, *m);
  RETURN_IF_ERROR(m->Start(call.ref()));
  call.Reply(200, json::object{{"started", call.ref()}});
  return Ok();
}

Status ApiRouter::StopContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::optional<int> timeout, Timeout(body, call.Query("t")));
  RETURN_IF_ERROR(m->Stop(call.ref(), timeout));
  call.Reply(200, json::object{{"stopped", call.ref()}});
  return Ok();
}

Status ApiRouter::RestartContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::optional<int> timeout, Timeout(body, call.Query("t")));
  RETURN_IF_ERROR(m->Restart(call.ref(), timeout));
  call.Reply(200, json::object{{"restarted", call.ref()}});
  return Ok();
}

Status ApiRouter::KillContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string signal, GetStr(body, "signal"));
  if (signal.empty()) signal = call.Query("signal");
  if (signal.empty()) signal = "KILL";
  ASSIGN_OR_RETURN(int number, oci::ParseSignal(signal));
  RETURN_IF_ERROR(m->Kill(call.ref(), number));
  call.Reply(200, json::object{{"killed", call.ref()}, {"signal", number}});
  return Ok();
}

Status ApiRouter::PauseContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  RETURN_IF_ERROR(m->Pause(call.ref()));
  call.Reply(200, json::object{{"paused", call.ref()}});
  return Ok();
}

Status ApiRouter::ResumeContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  RETURN_IF_ERROR(m->Resume(call.ref()));
  call.Reply(200, json::object{{"resumed", call.ref()}});
  return Ok();
}

Status ApiRouter::WaitContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(int code, m->Wait(call.ref()));
  call.Reply(200, json::object{{"exit_code", code}});
  return Ok();
}

Status ApiRouter::ResetContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  RETURN_IF_ERROR(m->Reset(call.ref()));
  call.Reply(200, json::object{{"reset", call.ref()}});
  return Ok();
}

Status ApiRouter::CommitContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  CommitRequest request;
  ASSIGN_OR_RETURN(request.tag, GetStr(body, "tag"));
  ASSIGN_OR_RETURN(request.comment, GetStr(body, "comment"));
  ASSIGN_OR_RETURN(request.author, GetStr(body, "author"));
  ASSIGN_OR_RETURN(storage::Digest id, m->Commit(call.ref(), request));
  ASSIGN_OR_RETURN(std::string tag, storage::Store::NormalizeTag(request.tag));
  call.Reply(201, json::object{{"id", id.str()}, {"tag", tag}});
  return Ok();
}

// ?attach=1: the output of the run as NDJSON log entries, then
// {"exit_code": N}. A failed start is a plain error, before any stream.
Status ApiRouter::StartAttached(Call& call, ContainerManager& m) {
  bool streaming = false;
  auto start = [&] {
    if (!streaming) call.StartStream();
    streaming = true;
  };
  Result<int> code = m.StartAttached(call.ref(), [&](const LogEntry& e) {
    start();
    call.StreamLine(LogEntryToJson(e));
    return true;
  });
  if (!code.ok() && !streaming) return std::move(code).error();
  start();
  call.StreamLine(code.ok() ? json::value(json::object{{"exit_code", *code}})
                            : ErrorToJson(code.error()));
  call.FinishStream();
  return Ok();
}

// The stream starts with the first line, so that an error found before any
// output (no such container, bad request) is a plain 4xx.
Status ApiRouter::ContainerLogs(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ContainerManager::LogsOptions options;
  options.follow = call.QueryFlag("follow");
  std::string tail = call.Query("tail");
  if (!tail.empty() && tail != "all") {
    char* end = nullptr;
    options.tail = std::strtol(tail.c_str(), &end, 10);
    if (*end != '\0' || options.tail < 0) return Error::Invalid("tail must be a number or \"all\"");
  }
  if (std::string since = call.Query("since"); !since.empty()) {
    ASSIGN_OR_RETURN(options.since, ParseLogTime(since, std::chrono::system_clock::now()));
  }
  ASSIGN_OR_RETURN(ContainerRecord r, m->Inspect(call.ref()));
  call.StartStream();
  Status s = m->Logs(r.config.id, options, [&](const LogEntry& e) {
    call.StreamLine(LogEntryToJson(e));
    return true;
  });
  if (!s.ok()) call.StreamLine(ErrorToJson(s.error()));
  call.FinishStream();
  return Ok();
}

Status ApiRouter::AttachContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  // The 101 goes out when the manager is ready for the session.
  return m->Attach(call.ref(), call.QueryFlag("start"), [&call] {
    call.MarkAnswered();
    return call.writer().Hijack();
  });
}

Status ApiRouter::ExecContainer(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ExecRequest request;
  ASSIGN_OR_RETURN(request.cmd, GetStrs(body, "cmd"));
  ASSIGN_OR_RETURN(request.env, GetStrs(body, "env"));
  ASSIGN_OR_RETURN(request.user, GetStr(body, "user"));
  ASSIGN_OR_RETURN(request.workdir, GetStr(body, "workdir"));
  ASSIGN_OR_RETURN(request.tty, GetBool(body, "tty"));
  ASSIGN_OR_RETURN(request.interactive, GetBool(body, "interactive"));
  if (request.tty || request.interactive) {
    return m->ExecAttached(call.ref(), request, [&call] {
      call.MarkAnswered();
      return call.writer().Hijack();
    });
  }
  bool streaming = false;
  auto start = [&] {
    if (!streaming) call.StartStream();
    streaming = true;
  };
  Result<int> code =
      m->Exec(call.ref(), request, [&](std::string_view stream, std::string_view data) {
        start();
        call.StreamLine(json::object{{"stream", stream}, {"data", Base64Encode(data)}});
      });
  if (!code.ok() && !streaming) return std::move(code).error();
  start();
  call.StreamLine(code.ok() ? json::value(json::object{{"exit_code", *code}})
                            : ErrorToJson(code.error()));
  call.FinishStream();
  return Ok();
}

Status ApiRouter::ListVolumes(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(std::vector<VolumeUsage> all, m->ListVolumes());
  json::array out;
  for (const auto& v : all) out.push_back(VolumeToJson(v));
  call.Reply(200, json::object{{"volumes", std::move(out)}});
  return Ok();
}

Status ApiRouter::CreateVolume(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string name, GetStr(body, "name"));
  if (name.empty()) return Error::Invalid("missing \"name\"");
  ASSIGN_OR_RETURN(auto labels, GetStrMap(body, "labels"));
  ASSIGN_OR_RETURN(VolumeUsage v, m->CreateVolume(name, labels));
  call.Reply(201, VolumeToJson(v));
  return Ok();
}

Status ApiRouter::InspectVolume(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  ASSIGN_OR_RETURN(VolumeUsage v, m->InspectVolume(call.ref()));
  call.Reply(200, VolumeToJson(v));
  return Ok();
}

Status ApiRouter::RemoveVolume(Call& call) {
  ASSIGN_OR_RETURN(ContainerManager * m, Containers());
  RETURN_IF_ERROR(m->RemoveVolume(call.ref()));
  call.Reply(200, json::object{{"removed", call.ref()}});
  return Ok();
}

}  // namespace strata::runtime
