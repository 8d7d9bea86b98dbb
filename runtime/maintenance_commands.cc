#include "runtime/maintenance_commands.h"

#include <ostream>

#include <boost/json.hpp>

#include "runtime/api_protocol.h"
#include "runtime/cli_format.h"
#include "runtime/json_fields.h"
#include "runtime/store_helper.h"

namespace strata::runtime {
namespace json = boost::json;
using jsonf::Str;

namespace {

uint64_t Num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return v->get_int64() > 0 ? static_cast<uint64_t>(v->get_int64()) : 0;
  return 0;
}

const json::array& Array(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : kEmpty;
}

Result<json::object> Post(CommandContext& ctx, const std::string& target, json::value body,
                          const std::string& what) {
  ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request("POST", target, body));
  if (!response.ok()) return response.error().Context(what);
  if (!response.body.is_object()) return Error(EPROTO, what + ": stratad sent no object");
  return std::move(response.body.as_object());
}

void PrintGc(CommandContext& ctx, const json::object& r) {
  const bool dry = jsonf::Bool(r, "dry_run");
  for (const json::value& item : Array(r, "items")) {
    if (!item.is_object()) continue;
    const json::object& i = item.get_object();
    ctx.out << (dry ? "would remove " : "removed ") << Str(i, "kind") << " " << Str(i, "name");
    if (uint64_t b = Num(i, "bytes"); b > 0) ctx.out << " (" << HumanSize(b) << ")";
    ctx.out << "\n";
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", jsonf::Double(r, "seconds"));
  ctx.out << (dry ? "Would reclaim " : "Reclaimed ") << HumanSize(Num(r, "bytes_reclaimed")) << " ("
          << Num(r, "bytes_reclaimed") << " bytes): " << Num(r, "objects") << " objects, "
          << Num(r, "layers") << " layers, " << Num(r, "chains") << " chains, " << Num(r, "blobs")
          << " blobs, " << Num(r, "tmp_entries") << " tmp entries, " << Num(r, "container_dirs")
          << " container dirs, " << Num(r, "leases_expired") << " expired leases; "
          << Num(r, "objects_kept") << " objects kept; " << seconds << " s\n";
}

void PrintFsck(CommandContext& ctx, const json::object& r) {
  for (const json::value& p : Array(r, "problems")) {
    if (!p.is_object()) continue;
    const json::object& o = p.get_object();
    ctx.out << (jsonf::Bool(o, "repaired") ? "repaired: " : "problem: ") << Str(o, "kind") << ": "
            << Str(o, "what") << "\n";
  }
  for (const json::value& h : Array(r, "images_hurt")) {
    if (h.is_string()) ctx.out << "damaged image: " << h.get_string().c_str() << "\n";
  }
  const json::array& orphans = Array(r, "orphans");
  if (!orphans.empty()) {
    ctx.out << orphans.size() << " orphans (debris gc collects)"
            << (jsonf::Bool(r, "orphans_removed") ? ", removed" : "") << "\n";
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", jsonf::Double(r, "seconds"));
  std::string verdict = jsonf::Bool(r, "clean")      ? "clean"
                        : jsonf::Bool(r, "repaired") ? "repaired"
                                                     : "damaged";
  ctx.out << "checked " << Num(r, "objects_checked") << " objects ("
          << HumanSize(Num(r, "object_bytes_checked")) << "), " << Num(r, "layers_checked")
          << " layers, " << Num(r, "views_checked") << " views, " << Num(r, "images_checked")
          << " images in " << seconds << " s: " << verdict << "\n";
}

}  // namespace

Status GarbageCollect(CommandContext& ctx, const GcArgs& args) {
  json::object report;
  if (!args.root.empty()) {
    std::vector<std::string> argv = {"gc"};
    if (args.dry_run) argv.push_back("--dry-run");
    argv.push_back(args.root);
    ASSIGN_OR_RETURN(report, RunStoreHelper(argv));
  } else {
    ASSIGN_OR_RETURN(report,
                     Post(ctx, BuildTarget({"system", "gc"}),
                          json::object{{"dry_run", args.dry_run}, {"list", args.dry_run}}, "gc"));
  }
  if (args.format == OutputFormat::kJson) {
    ctx.out << PrettyJson(report);
  } else {
    PrintGc(ctx, report);
  }
  return Ok();
}

Status Fsck(CommandContext& ctx, const FsckArgs& args, int* exit_code) {
  json::object report;
  if (!args.root.empty()) {
    std::vector<std::string> argv = {"fsck", "--threads", std::to_string(args.threads)};
    if (args.repair) argv.push_back("--repair");
    argv.push_back(args.root);
    ASSIGN_OR_RETURN(report, RunStoreHelper(argv));
  } else {
    ASSIGN_OR_RETURN(report, Post(ctx, BuildTarget({"system", "fsck"}), json::object{}, "fsck"));
  }
  if (args.format == OutputFormat::kJson) {
    ctx.out << PrettyJson(report);
  } else {
    PrintFsck(ctx, report);
  }
  *exit_code = jsonf::Bool(report, "clean")      ? 0
               : jsonf::Bool(report, "repaired") ? kFsckRepaired
                                                 : kFsckDamaged;
  return Ok();
}

Status ImagePrune(CommandContext& ctx, bool dry_run, OutputFormat format) {
  ASSIGN_OR_RETURN(json::object r, Post(ctx, BuildTarget({"images", "prune"}),
                                        json::object{{"dry_run", dry_run}}, "image prune"));
  if (format == OutputFormat::kJson) {
    ctx.out << PrettyJson(r);
    return Ok();
  }
  const json::array& removed = Array(r, "removed");
  for (const json::value& id : removed) {
    if (id.is_string()) {
      ctx.out << (dry_run ? "would remove " : "removed ") << id.get_string().c_str() << "\n";
    }
  }
  ctx.out << (dry_run ? "Would remove " : "Removed ") << removed.size()
          << " untagged images; 'strata gc' reclaims their space\n";
  return Ok();
}

Status ImageSquash(CommandContext& ctx, const std::string& ref, const std::string& tag,
                   OutputFormat format) {
  ASSIGN_OR_RETURN(json::object r, Post(ctx, BuildTarget({"images", ref, "squash"}),
                                        json::object{{"tag", tag}}, "squash " + ref));
  if (format == OutputFormat::kJson) {
    ctx.out << PrettyJson(r);
    return Ok();
  }
  ctx.out << Str(r, "id") << "\n";
  return Ok();
}

Status PrintContainerUsage(CommandContext& ctx) {
  ASSIGN_OR_RETURN(ApiResponse response,
                   ctx.client.Request("GET", BuildTarget({"system", "df", "containers"})));
  if (!response.ok()) return response.error().Context("disk usage");
  if (!response.body.is_object()) return Ok();
  const json::object& u = response.body.get_object();
  Table table({"CONTAINER ID", "NAME", "IMAGE", "SIZE"});
  for (const json::value& item : Array(u, "containers")) {
    if (!item.is_object()) continue;
    const json::object& c = item.get_object();
    // A walk cut short (runtime/tree_usage.h) gives a lower bound.
    const json::value* partial = c.if_contains("upper_partial");
    bool more = partial != nullptr && partial->is_bool() && partial->get_bool();
    table.AddRow({ShortId(Str(c, "id")), Str(c, "name"), Str(c, "image_ref"),
                  (more ? ">" : "") + HumanSize(Num(c, "upper_bytes"))});
  }
  ctx.out << "\n" << table.Render();
  const json::value* rec = u.if_contains("reclaimable");
  if (rec != nullptr && rec->is_object()) {
    ctx.out << "\nGC would reclaim " << HumanSize(Num(rec->get_object(), "bytes")) << " ("
            << Num(rec->get_object(), "objects") << " objects)\n";
  }
  return Ok();
}

}  // namespace strata::runtime
