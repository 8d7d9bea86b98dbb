#include "runtime/cron_commands.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <ostream>

#include <boost/json.hpp>

#include "runtime/api_protocol.h"
#include "runtime/cli_format.h"
#include "runtime/json_fields.h"

namespace strata::runtime {
namespace json = boost::json;
using namespace jsonf;

namespace {

Result<json::value> Call(CommandContext& ctx, std::string_view method, const std::string& target,
                         const json::value& body, const std::string& what) {
  ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request(method, target, body));
  if (!response.ok()) {
    Error e = response.error();
    e.Context(what);
    return e;
  }
  return std::move(response.body);
}

const json::object& AsObject(const json::value& v) {
  static const json::object kEmpty;
  return v.is_object() ? v.get_object() : kEmpty;
}

// Unix seconds as "2024-05-01 12:00:00Z".
std::string UtcText(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%SZ", &tm);
  return out;
}

std::string Seconds(double s) {
  char out[32];
  std::snprintf(out, sizeof out, s < 10 ? "%.2fs" : "%.0fs", s);
  return out;
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

Status CronAdd(CommandContext& ctx, const CronAddArgs& a) {
  json::object body{{"name", a.name},
                    {"schedule", a.schedule},
                    {"cmd", ToArray(a.cmd)},
                    {"timeout", a.timeout},
                    {"catch_up", a.catch_up}};
  if (!a.tz.empty()) body["tz"] = a.tz;
  if (!a.container.empty()) body["container"] = a.container;
  if (!a.image.empty()) body["image"] = a.image;
  if (!a.overlap.empty()) body["overlap"] = a.overlap;
  ASSIGN_OR_RETURN(json::value v,
                   Call(ctx, "POST", BuildTarget({"cron"}), body, "cron add " + a.name));
  const json::object& job = AsObject(v);
  ctx.out << Str(job, "name") << " (next run " << UtcText(Double(job, "next_run")) << ")\n";
  return Ok();
}

Status CronList(CommandContext& ctx, OutputFormat format, bool quiet) {
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "GET", BuildTarget({"cron"}), nullptr, "cron ls"));
  const json::value* jobs = AsObject(v).if_contains("jobs");
  static const json::array kNone;
  const json::array& all = jobs != nullptr && jobs->is_array() ? jobs->get_array() : kNone;
  if (format == OutputFormat::kJson) {
    ctx.out << PrettyJson(all);
    return Ok();
  }
  if (quiet) {
    for (const auto& j : all) ctx.out << Str(AsObject(j), "name") << "\n";
    return Ok();
  }
  Table table({"NAME", "SCHEDULE", "TARGET", "COMMAND", "NEXT RUN", "LAST RUN"});
  for (const auto& item : all) {
    const json::object& j = AsObject(item);
    std::string schedule = Str(j, "schedule");
    if (!Str(j, "tz").empty()) schedule += " (" + Str(j, "tz") + ")";
    std::string target = Str(j, "container").empty() ? "image " + Str(j, "image")
                                                     : "container " + Str(j, "container");
    std::string last = "-";
    if (const json::value* l = j.if_contains("last_run"); l != nullptr && l->is_object()) {
      const json::object& run = l->get_object();
      last = Str(run, "result") + " " + UtcText(Double(run, "started"));
    }
    if (Int(j, "running") > 0) last = "running";
    table.AddRow({Str(j, "name"), schedule, target,
                  "\"" + Truncate(Joined(Strs(j, "cmd")), 30) + "\"",
                  UtcText(Double(j, "next_run")), last});
  }
  ctx.out << table.Render();
  return Ok();
}

Status CronInspect(CommandContext& ctx, const std::vector<std::string>& names) {
  json::array found;
  Status last = Ok();
  for (const auto& name : names) {
    auto v = Call(ctx, "GET", BuildTarget({"cron", name}), nullptr, "cron inspect " + name);
    if (v.ok()) {
      found.push_back(std::move(v).value());
    } else {
      if (!last.ok()) ctx.err << "strata: " << last.error().message() << "\n";
      last = std::move(v).error();
    }
  }
  ctx.out << PrettyJson(found);
  return last;
}

Status CronRemove(CommandContext& ctx, const std::vector<std::string>& names) {
  Status last = Ok();
  for (const auto& name : names) {
    auto v = Call(ctx, "DELETE", BuildTarget({"cron", name}), nullptr, "cron rm " + name);
    if (v.ok()) {
      ctx.out << name << "\n";
    } else {
      if (!last.ok()) ctx.err << "strata: " << last.error().message() << "\n";
      last = std::move(v).error();
    }
  }
  return last;
}

Status CronHistory(CommandContext& ctx, const std::string& name, OutputFormat format) {
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "GET", BuildTarget({"cron", name, "history"}), nullptr,
                                       "cron history " + name));
  const json::value* runs = AsObject(v).if_contains("runs");
  static const json::array kNone;
  const json::array& all = runs != nullptr && runs->is_array() ? runs->get_array() : kNone;
  if (format == OutputFormat::kJson) {
    ctx.out << PrettyJson(all);
    return Ok();
  }
  for (const auto& item : all) {
    const json::object& r = AsObject(item);
    std::string result = Str(r, "result");
    ctx.out << "#" << Int(r, "seq") << "  " << UtcText(Double(r, "started")) << "  " << result;
    if (result != "skipped") {
      ctx.out << "  " << Seconds(Double(r, "duration"));
      if (Int(r, "exit_code", -1) >= 0) ctx.out << "  exit " << Int(r, "exit_code");
    }
    if (!Str(r, "message").empty()) ctx.out << "  (" << Str(r, "message") << ")";
    ctx.out << "\n";
    std::string output = Str(r, "output");
    if (Bool(r, "output_truncated")) ctx.out << "    [... earlier output dropped]\n";
    size_t pos = 0;
    while (pos < output.size()) {
      size_t nl = output.find('\n', pos);
      if (nl == std::string::npos) nl = output.size();
      ctx.out << "    " << output.substr(pos, nl - pos) << "\n";
      pos = nl + 1;
    }
  }
  return Ok();
}

}  // namespace strata::runtime
