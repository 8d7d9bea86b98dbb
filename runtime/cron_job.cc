#include "runtime/cron_job.h"

#include <cctype>

#include <boost/json.hpp>

#include "runtime/cron_schedule.h"
#include "runtime/json_fields.h"

namespace strata::runtime {
namespace json = boost::json;
using namespace jsonf;

std::string_view CronOverlapName(CronOverlap overlap) {
  return overlap == CronOverlap::kAllow ? "allow" : "skip";
}

Result<CronOverlap> ParseCronOverlap(std::string_view text) {
  if (text.empty() || text == "skip") return CronOverlap::kSkip;
  if (text == "allow") return CronOverlap::kAllow;
  return Error::Invalid("invalid overlap policy \"" + std::string(text) + "\" (skip or allow)");
}

std::string_view CronResultName(CronResult result) {
  switch (result) {
    case CronResult::kSucceeded:
      return "succeeded";
    case CronResult::kFailed:
      return "failed";
    case CronResult::kSkipped:
      return "skipped";
    case CronResult::kTimedOut:
      return "timed_out";
  }
  return "failed";
}

Result<CronResult> ParseCronResult(std::string_view text) {
  for (CronResult r :
       {CronResult::kSucceeded, CronResult::kFailed, CronResult::kSkipped, CronResult::kTimedOut}) {
    if (text == CronResultName(r)) return r;
  }
  return Error::Corrupt("unknown cron run result \"" + std::string(text) + "\"");
}

Status ValidateCronJobName(std::string_view name) {
  auto ok_first = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto ok = [&](char c) { return ok_first(c) || c == '_' || c == '.' || c == '-'; };
  bool valid = !name.empty() && name.size() <= 128 && ok_first(name[0]);
  for (char c : name) valid = valid && ok(c);
  if (!valid) {
    return Error::Invalid("invalid job name \"" + std::string(name) +
                          "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 128");
  }
  return Ok();
}

json::object CronJobToJson(const CronJob& job) {
  json::object o{{"name", job.name},
                 {"schedule", job.schedule},
                 {"tz", job.tz},
                 {"container", job.container},
                 {"image", job.image},
                 {"cmd", ToArray(job.cmd)},
                 {"timeout", job.timeout},
                 {"overlap", CronOverlapName(job.overlap)},
                 {"catch_up", job.catch_up},
                 {"owner", job.owner},
                 {"created", job.created},
                 {"last_scheduled", job.last_scheduled},
                 {"next_seq", job.next_seq}};
  return o;
}

Result<CronJob> CronJobFromJson(const json::object& o) {
  CronJob job;
  job.name = Str(o, "name");
  job.schedule = Str(o, "schedule");
  job.tz = Str(o, "tz");
  job.container = Str(o, "container");
  job.image = Str(o, "image");
  job.cmd = Strs(o, "cmd");
  job.timeout = Int(o, "timeout");
  ASSIGN_OR_RETURN(job.overlap, ParseCronOverlap(Str(o, "overlap")));
  job.catch_up = Bool(o, "catch_up");
  job.owner = Str(o, "owner");
  job.created = Str(o, "created");
  job.last_scheduled = Int(o, "last_scheduled");
  job.next_seq = static_cast<uint64_t>(Int(o, "next_seq", 1));
  if (job.name.empty()) return Error::Corrupt("cron job without a name");
  return job;
}

json::object CronRunToJson(const CronRun& run) {
  return json::object{{"seq", run.seq},
                      {"scheduled", run.scheduled},
                      {"started", run.started},
                      {"duration", run.duration},
                      {"result", CronResultName(run.result)},
                      {"exit_code", run.exit_code},
                      {"message", run.message},
                      {"output", run.output},
                      {"output_truncated", run.output_truncated}};
}

Result<CronRun> CronRunFromJson(const json::object& o) {
  CronRun run;
  run.seq = static_cast<uint64_t>(Int(o, "seq"));
  run.scheduled = Double(o, "scheduled");
  run.started = Double(o, "started");
  run.duration = Double(o, "duration");
  ASSIGN_OR_RETURN(run.result, ParseCronResult(Str(o, "result")));
  run.exit_code = static_cast<int>(Int(o, "exit_code", -1));
  run.message = Str(o, "message");
  run.output = Str(o, "output");
  run.output_truncated = Bool(o, "output_truncated");
  return run;
}

std::string CronJobKey(std::string_view name) {
  std::string key(kCronJobPrefix);
  key.append(name);
  return key;
}

std::string CronRunPrefix(std::string_view name) {
  std::string key("r\0", 2);
  key.append(name);
  key.push_back('\0');
  return key;
}

std::string CronRunKey(std::string_view name, uint64_t seq) {
  std::string key = CronRunPrefix(name);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(seq >> shift));
  return key;
}

namespace {
Result<json::object> ParseObject(std::string_view bytes, const char* what) {
  boost::system::error_code ec;
  json::value v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return Error::Corrupt(std::string("corrupt cron ") + what + " record");
  return std::move(v.get_object());
}
}  // namespace

std::string EncodeCronJob(const CronJob& job) { return json::serialize(CronJobToJson(job)); }

Result<CronJob> DecodeCronJob(std::string_view bytes) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(bytes, "job"));
  return CronJobFromJson(o);
}

std::string EncodeCronRun(const CronRun& run) { return json::serialize(CronRunToJson(run)); }

Result<CronRun> DecodeCronRun(std::string_view bytes) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(bytes, "run"));
  return CronRunFromJson(o);
}

Result<std::vector<CronJob>> CronJobsFromLabels(const std::string& container_name,
                                                const std::string& container_id,
                                                const std::map<std::string, std::string>& labels) {
  constexpr std::string_view kPrefix = "strata.cron.";
  std::map<std::string, std::map<std::string, std::string>> by_job;
  for (const auto& [key, value] : labels) {
    if (key.rfind(kPrefix, 0) != 0) continue;
    std::string_view rest = std::string_view(key).substr(kPrefix.size());
    size_t dot = rest.rfind('.');
    if (dot == std::string_view::npos || dot == 0) {
      return Error::Invalid("label " + key + ": expected strata.cron.NAME.schedule or .command");
    }
    by_job[std::string(rest.substr(0, dot))][std::string(rest.substr(dot + 1))] = value;
  }
  std::vector<CronJob> jobs;
  for (const auto& [name, fields] : by_job) {
    std::string label = "label strata.cron." + name;
    CronJob job;
    job.name = container_name + "." + name;
    RETURN_IF_ERROR_CTX(ValidateCronJobName(job.name), label);
    for (const auto& [field, value] : fields) {
      if (field == "schedule") {
        job.schedule = value;
      } else if (field == "command") {
        job.cmd = {"/bin/sh", "-c", value};
      } else if (field == "tz") {
        job.tz = value;
      } else if (field == "overlap") {
        ASSIGN_OR_RETURN(job.overlap, ParseCronOverlap(value));
      } else if (field == "timeout") {
        char* end = nullptr;
        long t = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || t < 0) {
          return Error::Invalid(label + ".timeout: \"" + value + "\" is not a number of seconds");
        }
        job.timeout = t;
      } else {
        return Error::Invalid(label + "." + field +
                              ": unknown field (schedule, command, timeout, overlap, tz)");
      }
    }
    if (job.schedule.empty()) return Error::Invalid(label + ".schedule is missing");
    if (job.cmd.empty() || job.cmd.back().empty()) {
      return Error::Invalid(label + ".command is missing");
    }
    auto schedule = CronSchedule::Parse(job.schedule, job.tz);
    if (!schedule.ok()) {
      return Error::Invalid(label + ".schedule: invalid schedule \"" + job.schedule +
                            "\": " + schedule.error().message());
    }
    job.container = container_name;
    job.owner = container_id;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace strata::runtime
