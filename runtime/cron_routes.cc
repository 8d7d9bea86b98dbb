// ApiRouter: the routes of scheduled jobs, over CronScheduler. The shapes
// are documented in docs/api.md and docs/cron.md.
#include <boost/json.hpp>

#include "runtime/api_call.h"
#include "runtime/cron_scheduler.h"
#include "runtime/json_fields.h"

namespace strata::runtime {
namespace json = boost::json;
using namespace jsonf;

namespace {

json::object JobToJson(const CronJobStatus& s) {
  json::object o = CronJobToJson(s.job);
  o.erase("next_seq");
  o["kind"] = s.job.container.empty() ? "run" : "exec";
  o["next_run"] = s.next_run;
  o["running"] = s.running;
  if (s.last_run) {
    json::object last = CronRunToJson(*s.last_run);
    last.erase("output");
    o["last_run"] = std::move(last);
  } else {
    o["last_run"] = nullptr;
  }
  return o;
}

}  // namespace

Result<CronScheduler*> ApiRouter::Cron() {
  if (cron_ == nullptr) return Error(ENOTSUP, "this stratad runs no scheduled jobs");
  return cron_;
}

Status ApiRouter::ListCronJobs(Call& call) {
  ASSIGN_OR_RETURN(CronScheduler * cron, Cron());
  json::array out;
  for (const auto& s : cron->List()) out.push_back(JobToJson(s));
  call.Reply(200, json::object{{"jobs", std::move(out)}});
  return Ok();
}

Status ApiRouter::AddCronJob(Call& call) {
  ASSIGN_OR_RETURN(CronScheduler * cron, Cron());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  CronJob job;
  ASSIGN_OR_RETURN(job.name, GetStr(body, "name"));
  ASSIGN_OR_RETURN(job.schedule, GetStr(body, "schedule"));
  ASSIGN_OR_RETURN(job.tz, GetStr(body, "tz"));
  ASSIGN_OR_RETURN(job.container, GetStr(body, "container"));
  ASSIGN_OR_RETURN(job.image, GetStr(body, "image"));
  ASSIGN_OR_RETURN(job.cmd, GetStrs(body, "cmd"));
  ASSIGN_OR_RETURN(job.timeout, GetInt(body, "timeout"));
  ASSIGN_OR_RETURN(std::string overlap, GetStr(body, "overlap"));
  ASSIGN_OR_RETURN(job.overlap, ParseCronOverlap(overlap));
  ASSIGN_OR_RETURN(job.catch_up, GetBool(body, "catch_up"));
  if (job.name.empty()) return Error::Invalid("missing \"name\"");
  if (job.schedule.empty()) return Error::Invalid("missing \"schedule\"");
  ASSIGN_OR_RETURN(CronJobStatus status, cron->Add(std::move(job)));
  call.Reply(201, JobToJson(status));
  return Ok();
}

Status ApiRouter::InspectCronJob(Call& call) {
  ASSIGN_OR_RETURN(CronScheduler * cron, Cron());
  ASSIGN_OR_RETURN(CronJobStatus status, cron->Inspect(call.ref()));
  call.Reply(200, JobToJson(status));
  return Ok();
}

Status ApiRouter::RemoveCronJob(Call& call) {
  ASSIGN_OR_RETURN(CronScheduler * cron, Cron());
  RETURN_IF_ERROR(cron->Remove(call.ref()));
  call.Reply(200, json::object{{"removed", call.ref()}});
  return Ok();
}

Status ApiRouter::CronJobHistory(Call& call) {
  ASSIGN_OR_RETURN(CronScheduler * cron, Cron());
  ASSIGN_OR_RETURN(std::vector<CronRun> runs, cron->History(call.ref()));
  json::array out;
  for (const auto& r : runs) out.push_back(CronRunToJson(r));
  call.Reply(200, json::object{{"runs", std::move(out)}});
  return Ok();
}

}  // namespace strata::runtime
