#include "runtime/image_commands.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <ostream>
#include <set>

#include <boost/json.hpp>

#include "runtime/api_protocol.h"
#include "runtime/cli_format.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

// ---- reading stratad's JSON leniently: a missing member reads as empty ----

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

uint64_t Num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return v->get_int64() > 0 ? static_cast<uint64_t>(v->get_int64()) : 0;
  if (v->is_double()) return v->get_double() > 0 ? static_cast<uint64_t>(v->get_double()) : 0;
  return 0;
}

std::vector<std::string> Strs(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v && v->is_array()) {
    for (const json::value& s : v->get_array()) {
      if (s.is_string()) out.emplace_back(s.get_string());
    }
  }
  return out;
}

const json::array& ArrayMember(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  const json::object* o = v.if_object();
  const json::value* a = o ? o->if_contains(key) : nullptr;
  return a && a->is_array() ? a->get_array() : kEmpty;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

Result<std::string> AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return Error(ec.value(), "resolve " + path + ": " + ec.message());
  return abs.lexically_normal().string();
}

// ---- requests ----

// Adds what the command was doing to an error stratad reported, unless the
// message already starts with it (the Store says "import PATH: ..." itself).
Error WithContext(Error error, const std::string& what) {
  std::string verb = what.substr(0, what.find(' ')) + " ";
  if (error.message().rfind(verb, 0) == 0) return error;
  error.Context(what);
  return error;
}

// One request; an error stratad reports gets `what` as context.
Result<json::value> Call(CommandContext& ctx, std::string_view method, const std::string& target,
                         const json::value& body, const std::string& what) {
  ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request(method, target, body));
  if (!response.ok()) return WithContext(response.error(), what);
  return std::move(response.body);
}

// The one-line progress display on stderr: drawn only after kDelay, redrawn
// at most every kRedraw, erased when the operation ends.
class ProgressDisplay {
 public:
  static constexpr auto kDelay = std::chrono::seconds(2);
  static constexpr auto kRedraw = std::chrono::milliseconds(100);

  ProgressDisplay(std::ostream& err, bool enabled, std::string verb)
      : err_(err), enabled_(enabled), verb_(std::move(verb)) {}
  ~ProgressDisplay() { Clear(); }

  void Update(const json::object& p) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - start_ < kDelay || (shown_ && now - last_draw_ < kRedraw)) return;
    std::string phase = Str(p, "phase");
    std::string line = verb_ + ": " + phase;
    if (uint64_t layers = Num(p, "layers"); layers > 0 && phase == "layer") {
      line += " " + std::to_string(Num(p, "layer")) + "/" + std::to_string(layers);
    }
    if (uint64_t total = Num(p, "total_bytes"); total > 0) line += ", " + HumanSize(total);
    err_ << "\r\033[K" << line << std::flush;
    shown_ = true;
    last_draw_ = now;
  }

  void Clear() {
    if (!shown_) return;
    err_ << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  std::string verb_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

// A long operation with progress; returns its result object.
Result<json::value> Operation(CommandContext& ctx, const std::string& target,
                              const json::value& body, const std::string& verb,
                              const std::string& what) {
  ProgressDisplay display(ctx.err, ctx.show_progress, verb);
  ASSIGN_OR_RETURN(ApiResponse response,
                   ctx.client.RunOperation("POST", target, body,
                                           [&](const json::object& p) { display.Update(p); }));
  display.Clear();
  if (!response.ok()) return WithContext(response.error(), what);
  return std::move(response.body);
}

Result<const json::object*> ResultObject(const json::value& result) {
  if (const json::object* o = result.if_object()) return o;
  return Error(EPROTO, "stratad sent a result that is not an object");
}

// Reports every failure but the last at once; the last is returned for
// main() to print, so each failure is exactly one line.
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

void PrintJson(CommandContext& ctx, const json::value& v) { ctx.out << PrettyJson(v); }

}  // namespace

Status ImageImport(CommandContext& ctx, const ImageImportArgs& args) {
  ASSIGN_OR_RETURN(std::string path, AbsolutePath(args.path));
  json::object body{{"path", path}, {"tags", json::array(args.tags.begin(), args.tags.end())}};
  if (!args.platform.empty()) body["platform"] = args.platform;
  ASSIGN_OR_RETURN(json::value result, Operation(ctx, BuildTarget({"images", "import"}), body,
                                                 "importing", "import " + args.path));
  ASSIGN_OR_RETURN(const json::object* r, ResultObject(result));
  std::vector<std::string> tags = Strs(*r, "tags");
  for (const auto& tag : tags) ctx.out << "Loaded image: " << tag << "\n";
  if (tags.empty()) ctx.out << "Loaded image ID: " << Str(*r, "id") << "\n";
  return Ok();
}

Status ImageImportRootfs(CommandContext& ctx, const std::string& path, const std::string& tag) {
  ASSIGN_OR_RETURN(std::string abs, AbsolutePath(path));
  json::object body{{"path", abs}, {"tag", tag}};
  ASSIGN_OR_RETURN(json::value result, Operation(ctx, BuildTarget({"images", "import-rootfs"}),
                                                 body, "importing", "import-rootfs " + path));
  ASSIGN_OR_RETURN(const json::object* r, ResultObject(result));
  ctx.out << Str(*r, "id") << "\n";
  return Ok();
}

Status ImageList(CommandContext& ctx, OutputFormat format, bool quiet) {
  ASSIGN_OR_RETURN(json::value v,
                   Call(ctx, "GET", BuildTarget({"images"}), nullptr, "list images"));
  std::vector<json::object> images;
  for (const json::value& i : ArrayMember(v, "images")) {
    if (i.is_object()) images.push_back(i.get_object());
  }
  // Newest first, like `docker image ls`.
  auto created = [](const json::object& o) {
    return ParseRfc3339(Str(o, "created")).value_or(static_cast<int64_t>(Num(o, "imported")));
  };
  std::stable_sort(images.begin(), images.end(),
                   [&](const auto& a, const auto& b) { return created(a) > created(b); });

  if (format == OutputFormat::kJson) {
    PrintJson(ctx, json::array(images.begin(), images.end()));
    return Ok();
  }
  if (quiet) {
    std::set<std::string> seen;
    for (const auto& i : images) {
      std::string id = ShortId(Str(i, "id"));
      if (seen.insert(id).second) ctx.out << id << "\n";
    }
    return Ok();
  }
  Table table({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  int64_t now = Now();
  for (const auto& i : images) {
    std::vector<std::string> tags = Strs(i, "tags");
    std::sort(tags.begin(), tags.end());
    if (tags.empty()) tags.push_back("<none>:<none>");
    for (const auto& tag : tags) {
      auto [repo, name] = SplitTag(tag);
      table.AddRow({repo, name, ShortId(Str(i, "id")), TimeAgo(Str(i, "created"), now),
                    HumanSize(Num(i, "size"))});
    }
  }
  ctx.out << table.Render();
  return Ok();
}

Status ImageInspect(CommandContext& ctx, const std::vector<std::string>& refs) {
  json::array found;
  FailureList failures(ctx.err);
  for (const auto& ref : refs) {
    ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request("GET", BuildTarget({"images", ref})));
    if (response.ok()) {
      found.push_back(std::move(response.body));
    } else {
      failures.Add(WithContext(response.error(), "inspect " + ref));
    }
  }
  PrintJson(ctx, found);
  return failures.Result();
}

Status ImageHistory(CommandContext& ctx, const std::string& ref, OutputFormat format) {
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "GET", BuildTarget({"images", ref, "history"}), nullptr,
                                       "history " + ref));
  const json::array& history = ArrayMember(v, "history");
  if (format == OutputFormat::kJson) {
    PrintJson(ctx, history);
    return Ok();
  }
  std::string id = v.is_object() ? Str(v.get_object(), "id") : "";
  Table table({"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"});
  int64_t now = Now();
  bool top = true;
  for (const json::value& item : history) {
    if (!item.is_object()) continue;
    const json::object& h = item.get_object();
    table.AddRow({top ? ShortId(id) : "<missing>", TimeAgo(Str(h, "created"), now),
                  Truncate(Str(h, "created_by"), 45), HumanSize(Num(h, "size")),
                  Str(h, "comment")});
    top = false;
  }
  ctx.out << table.Render();
  return Ok();
}

Status ImageTag(CommandContext& ctx, const std::string& ref, const std::string& name) {
  json::object body{{"name", name}};
  RETURN_IF_ERROR(
      Call(ctx, "POST", BuildTarget({"images", ref, "tag"}), body, "tag " + ref + " as " + name));
  return Ok();
}

Status ImageRemove(CommandContext& ctx, const std::vector<std::string>& refs, bool force) {
  FailureList failures(ctx.err);
  for (const auto& ref : refs) {
    std::string target = BuildTarget({"images", ref}) + (force ? "?force=1" : "");
    ASSIGN_OR_RETURN(ApiResponse response, ctx.client.Request("DELETE", target));
    if (!response.ok()) {
      failures.Add(WithContext(response.error(), "rm " + ref));
      continue;
    }
    const json::object* o = response.body.if_object();
    for (const auto& removed : o ? Strs(*o, "removed") : std::vector<std::string>{}) {
      bool is_id = removed.rfind("sha256:", 0) == 0;
      ctx.out << (is_id ? "Deleted: " : "Untagged: ") << removed << "\n";
    }
  }
  return failures.Result();
}

Status ImageExport(CommandContext& ctx, const std::string& ref, const std::string& path,
                   const std::string& format) {
  ASSIGN_OR_RETURN(std::string abs, AbsolutePath(path));
  json::object body{{"path", abs}, {"format", format}};
  RETURN_IF_ERROR(
      Operation(ctx, BuildTarget({"images", ref, "export"}), body, "exporting", "export " + ref));
  return Ok();
}

Status DiskUsage(CommandContext& ctx, bool verbose, OutputFormat format) {
  ASSIGN_OR_RETURN(json::value v,
                   Call(ctx, "GET", BuildTarget({"system", "df"}), nullptr, "disk usage"));
  if (format == OutputFormat::kJson) {
    PrintJson(ctx, v);
    return Ok();
  }
  static const json::object kEmpty;
  const json::object& u = v.is_object() ? v.get_object() : kEmpty;
  const json::array& images = ArrayMember(v, "images");
  uint64_t stored = Num(u, "object_bytes");
  uint64_t logical = Num(u, "logical_bytes");
  uint64_t saved = logical > stored ? logical - stored : 0;
  int saved_pct = logical > 0 ? static_cast<int>(saved * 100 / logical) : 0;

  Table summary({"TYPE", "COUNT", "SIZE"});
  summary.AddRow({"Images", std::to_string(images.size()), HumanSize(logical)});
  summary.AddRow({"Layers", std::to_string(Num(u, "layers")), ""});
  summary.AddRow({"Chains", std::to_string(Num(u, "chains")), ""});
  summary.AddRow({"Objects", std::to_string(Num(u, "objects")), HumanSize(stored)});
  ctx.out << summary.Render();
  ctx.out << "Sharing saves " << HumanSize(saved) << " (" << saved_pct << "% of "
          << HumanSize(logical) << ")\n";
  if (!verbose) return Ok();

  Table table({"REPOSITORY", "TAG", "IMAGE ID", "SIZE", "SHARED SIZE", "UNIQUE SIZE"});
  for (const json::value& item : images) {
    if (!item.is_object()) continue;
    const json::object& i = item.get_object();
    std::vector<std::string> tags = Strs(i, "tags");
    std::sort(tags.begin(), tags.end());
    if (tags.empty()) tags.push_back("<none>:<none>");
    for (const auto& tag : tags) {
      auto [repo, name] = SplitTag(tag);
      table.AddRow({repo, name, ShortId(Str(i, "id")), HumanSize(Num(i, "total")),
                    HumanSize(Num(i, "shared")), HumanSize(Num(i, "unique"))});
    }
  }
  ctx.out << "\n" << table.Render();
  return Ok();
}

Status Version(CommandContext& ctx, OutputFormat format) {
  std::string client_version(StrataVersion());
  if (format == OutputFormat::kTable) ctx.out << "Client: strata " << client_version << "\n";
  ASSIGN_OR_RETURN(json::value v,
                   Call(ctx, "GET", BuildTarget({"version"}), nullptr, "server version"));
  if (format == OutputFormat::kJson) {
    PrintJson(ctx, json::object{{"client", json::object{{"version", client_version},
                                                        {"api_version", kApiVersion}}},
                                {"server", v}});
    return Ok();
  }
  const json::object* o = v.if_object();
  ctx.out << "Server: stratad " << (o ? Str(*o, "version") : "") << " (API "
          << (o ? Str(*o, "api_version") : "") << ", store " << (o ? Str(*o, "root") : "") << ")\n";
  return Ok();
}

Status ImageMount(CommandContext& ctx, const std::string& ref, const std::string& dir,
                  bool writable) {
  ASSIGN_OR_RETURN(std::string abs, AbsolutePath(dir));
  json::object body{{"image", ref}, {"path", abs}, {"writable", writable}};
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "POST", BuildTarget({"mounts"}), body,
                                       "mount " + ref + " at " + abs));
  (void)v;
  return Ok();
}

Status ImageUnmount(CommandContext& ctx, const std::string& dir) {
  ASSIGN_OR_RETURN(std::string abs, AbsolutePath(dir));
  ASSIGN_OR_RETURN(json::value v, Call(ctx, "DELETE", BuildTarget({"mounts", abs}), nullptr,
                                       "umount " + abs));
  (void)v;
  return Ok();
}

}  // namespace strata::runtime
