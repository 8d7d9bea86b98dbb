#include "runtime/api_router.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include <boost/json.hpp>

#include "common/log.h"
#include "runtime/api_call.h"
#include "runtime/api_protocol.h"
#include "runtime/container_manager.h"
#include "runtime/image_mounts.h"

namespace strata::runtime {
namespace json = boost::json;
using storage::Digest;

namespace {

// ---- Store values as JSON (the shapes docs/api.md documents) ----

json::array StringsToJson(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::object SummaryToJson(const storage::ImageSummary& s) {
  return json::object{
      {"id", s.id.str()},
      {"tags", StringsToJson(s.tags)},
      {"chain", s.chain.str()},
      {"layers", s.layers},
      {"size", s.size},
      {"created", s.created},
      {"architecture", s.architecture},
      {"os", s.os},
      {"imported", s.imported},
  };
}

json::object ImportResultToJson(const storage::ImportResult& r) {
  return json::object{
      {"id", r.image_id.str()},     {"tags", StringsToJson(r.tags)},
      {"layers", r.layers},         {"layers_reused", r.layers_reused},
      {"bytes_read", r.bytes_read}, {"objects_created", r.objects_created},
  };
}

json::object ProgressToJson(const storage::Progress& p) {
  return json::object{
      {"phase", p.phase},
      {"layer", p.layer},
      {"layers", p.layers},
      {"bytes", p.bytes},
      {"total_bytes", p.total_bytes},
  };
}

json::object UsageToJson(const storage::UsageReport& u) {
  json::array images;
  for (const auto& i : u.images) {
    images.push_back(json::object{
        {"id", i.id.str()},
        {"tags", StringsToJson(i.tags)},
        {"total", i.total},
        {"shared", i.shared},
        {"unique", i.unique},
    });
  }
  return json::object{
      {"images", std::move(images)},      {"objects", u.objects}, {"object_bytes", u.object_bytes},
      {"logical_bytes", u.logical_bytes}, {"layers", u.layers},   {"chains", u.chains},
  };
}

// ---- request bodies ----

// The string member key; "" when absent (and required is false).
Result<std::string> StringField(const json::object& body, std::string_view key, bool required) {
  const json::value* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) return Error::Invalid("missing \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!v->is_string()) return Error::Invalid("\"" + std::string(key) + "\" must be a string");
  return std::string(v->as_string());
}

Result<std::vector<std::string>> StringArrayField(const json::object& body, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  const std::string what = "\"" + std::string(key) + "\" must be an array of strings";
  if (!v->is_array()) return Error::Invalid(what);
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) return Error::Invalid(what);
    out.emplace_back(item.as_string());
  }
  return out;
}

// A path the service opens: absolute, so it never depends on stratad's cwd.
Result<std::string> PathField(const json::object& body) {
  ASSIGN_OR_RETURN(std::string path, StringField(body, "path", true));
  if (path.empty() || path.front() != '/') {
    return Error::Invalid("\"path\" must be absolute: " + path);
  }
  return path;
}

// Fails early (a plain 4xx, before any stream) when an import's source is
// missing; the request names the path, so the message is only the reason.
Status CheckReadable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error(errno, std::strerror(errno));
  return Ok();
}

Result<storage::ExportFormat> ParseExportFormat(const std::string& name) {
  if (name.empty() || name == "oci-archive") return storage::ExportFormat::kOciArchive;
  if (name == "oci") return storage::ExportFormat::kOciLayout;
  if (name == "docker" || name == "docker-archive") return storage::ExportFormat::kDockerArchive;
  return Error::Invalid("unknown export format \"" + name + "\" (oci, oci-archive, docker)");
}

// ---- streaming ----

// Forwards Store progress as NDJSON lines: on every change of phase or
// layer, otherwise at most every kInterval. The Store may report from its
// worker threads, so lines are serialized here.
class ProgressStream {
 public:
  static constexpr auto kInterval = std::chrono::milliseconds(200);

  explicit ProgressStream(ResponseWriter& writer) : writer_(writer) {}

  storage::ProgressFn Fn() {
    return [this](const storage::Progress& p) { Report(p); };
  }

  // Sends the final line and ends the stream; later progress is dropped.
  void Finish(const json::value& final_line) {
    std::lock_guard lock(mu_);
    closed_ = true;
    writer_.StreamLine(final_line);
    writer_.FinishStream();
  }

 private:
  void Report(const storage::Progress& p) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    auto now = std::chrono::steady_clock::now();
    bool changed = p.phase != last_phase_ || p.layer != last_layer_;
    if (!changed && now - last_sent_ < kInterval) return;
    last_phase_ = p.phase;
    last_layer_ = p.layer;
    last_sent_ = now;
    writer_.StreamLine(json::object{{"progress", ProgressToJson(p)}});
  }

  ResponseWriter& writer_;
  std::mutex mu_;
  bool closed_ = false;
  std::string last_phase_;
  uint32_t last_layer_ = 0;
  std::chrono::steady_clock::time_point last_sent_{};
};

}  // namespace

void ApiRouter::Call::Stream(
    const std::function<Result<json::value>(const storage::ProgressFn&)>& op) {
  answered_ = true;
  writer_.StartStream();
  ProgressStream progress(writer_);
  Result<json::value> result = op(progress.Fn());
  if (result.ok()) {
    progress.Finish(json::object{{"result", std::move(result).value()}});
  } else {
    LogWarning(request_.method + " " + request_.target + ": " + result.error().message());
    progress.Finish(ErrorToJson(result.error()));
  }
}

Result<json::object> ApiRouter::Call::Body() const { return ParseRequestBody(request_.body); }

std::string ApiRouter::Call::Query(std::string_view key) const {
  return QueryParameter(request_.target, key);
}

bool ApiRouter::Call::QueryFlag(std::string_view key) const {
  std::string v = Query(key);
  return v == "1" || v == "true" || v == "yes";
}

struct ApiRouter::Route {
  std::string_view method;
  std::vector<std::string_view> pattern;  // below /v1; "{ref}" captures one segment
  Status (ApiRouter::*handler)(Call&);
};

void ApiRouter::Handle(const ApiRequest& request, ResponseWriter& writer) {
  static const std::vector<Route> kRoutes = {
      {"GET", {"version"}, &ApiRouter::Version},
      {"GET", {"system", "df"}, &ApiRouter::DiskUsage},
      {"GET", {"images"}, &ApiRouter::ListImages},
      {"POST", {"images", "import"}, &ApiRouter::ImportImage},
      {"POST", {"images", "import-rootfs"}, &ApiRouter::ImportRootfs},
      {"POST", {"images", "pull"}, &ApiRouter::PullImage},
      {"POST", {"images", "{ref}", "push"}, &ApiRouter::PushImage},
      {"POST", {"registry", "login"}, &ApiRouter::RegistryLogin},
      {"POST", {"images", "prune"}, &ApiRouter::PruneImages},
      {"POST", {"images", "{ref}", "squash"}, &ApiRouter::SquashImage},
      {"POST", {"system", "gc"}, &ApiRouter::CollectGarbage},
      {"POST", {"system", "fsck"}, &ApiRouter::CheckStore},
      {"GET", {"system", "df", "containers"}, &ApiRouter::ContainerUsage},
      {"GET", {"images", "{ref}"}, &ApiRouter::InspectImage},
      {"DELETE", {"images", "{ref}"}, &ApiRouter::RemoveImage},
      {"GET", {"images", "{ref}", "history"}, &ApiRouter::ImageHistory},
      {"POST", {"images", "{ref}", "tag"}, &ApiRouter::TagImage},
      {"POST", {"images", "{ref}", "export"}, &ApiRouter::ExportImage},
      {"GET", {"mounts"}, &ApiRouter::ListMounts},
      {"POST", {"mounts"}, &ApiRouter::Mount},
      {"DELETE", {"mounts", "{ref}"}, &ApiRouter::Unmount},
      {"GET", {"containers"}, &ApiRouter::ListContainers},
      {"POST", {"containers"}, &ApiRouter::CreateContainer},
      {"GET", {"containers", "{ref}"}, &ApiRouter::InspectContainer},
      {"DELETE", {"containers", "{ref}"}, &ApiRouter::RemoveContainer},
      {"POST", {"containers", "{ref}", "start"}, &ApiRouter::StartContainer},
      {"POST", {"containers", "{ref}", "stop"}, &ApiRouter::StopContainer},
      {"POST", {"containers", "{ref}", "restart"}, &ApiRouter::RestartContainer},
      {"POST", {"containers", "{ref}", "kill"}, &ApiRouter::KillContainer},
      {"POST", {"containers", "{ref}", "pause"}, &ApiRouter::PauseContainer},
      {"POST", {"containers", "{ref}", "resume"}, &ApiRouter::ResumeContainer},
      {"POST", {"containers", "{ref}", "wait"}, &ApiRouter::WaitContainer},
      {"GET", {"containers", "{ref}", "logs"}, &ApiRouter::ContainerLogs},
      {"POST", {"containers", "{ref}", "exec"}, &ApiRouter::ExecContainer},
      {"POST", {"containers", "{ref}", "attach"}, &ApiRouter::AttachContainer},
      {"POST", {"containers", "{ref}", "reset"}, &ApiRouter::ResetContainer},
      {"POST", {"containers", "{ref}", "commit"}, &ApiRouter::CommitContainer},
      {"GET", {"volumes"}, &ApiRouter::ListVolumes},
      {"POST", {"volumes"}, &ApiRouter::CreateVolume},
      {"GET", {"volumes", "{ref}"}, &ApiRouter::InspectVolume},
      {"DELETE", {"volumes", "{ref}"}, &ApiRouter::RemoveVolume},
      {"GET", {"cron"}, &ApiRouter::ListCronJobs},
      {"POST", {"cron"}, &ApiRouter::AddCronJob},
      {"GET", {"cron", "{ref}"}, &ApiRouter::InspectCronJob},
      {"DELETE", {"cron", "{ref}"}, &ApiRouter::RemoveCronJob},
      {"GET", {"cron", "{ref}", "history"}, &ApiRouter::CronJobHistory},
  };

  auto fail = [&](const Error& e) {
    unsigned status = StatusForErrno(e.code());
    if (status >= 500) LogWarning(request.method + " " + request.target + ": " + e.message());
    writer.Reply(status, ErrorToJson(e));
  };

  auto segments = SplitTarget(request.target);
  if (!segments.ok()) return fail(segments.error());
  std::vector<std::string>& segs = *segments;
  if (segs.empty() || "/" + segs[0] != kApiPrefix) {
    return fail(Error::NotFound("no such API path " + request.target + " (this is API " +
                                std::string(kApiVersion) + ")"));
  }
  segs.erase(segs.begin());

  bool path_known = false;
  for (const Route& route : kRoutes) {
    if (route.pattern.size() != segs.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < segs.size() && match; ++i) {
      if (route.pattern[i] == "{ref}") {
        params.push_back(segs[i]);
      } else {
        match = route.pattern[i] == segs[i];
      }
    }
    if (!match) continue;
    path_known = true;
    if (route.method != request.method) continue;

    Call call(request, std::move(params), writer);
    Status status = (this->*route.handler)(call);
    if (!call.answered()) {
      fail(status.ok() ? Error(EIO, "handler gave no answer") : status.error());
    }
    return;
  }
  if (path_known) {
    writer.Reply(405, ErrorToJson(Error::Invalid("method " + request.method + " not allowed on " +
                                                 request.target)));
    return;
  }
  fail(Error::NotFound("no such API path " + request.target));
}

Status ApiRouter::Version(Call& call) {
  call.Reply(200, json::object{{"version", StrataVersion()},
                               {"api_version", kApiVersion},
                               {"root", store_.root()}});
  return Ok();
}

Status ApiRouter::DiskUsage(Call& call) {
  ASSIGN_OR_RETURN(storage::UsageReport usage, store_.DiskUsage());
  call.Reply(200, UsageToJson(usage));
  return Ok();
}

Status ApiRouter::ListImages(Call& call) {
  ASSIGN_OR_RETURN(std::vector<storage::ImageSummary> images, store_.ListImages());
  json::array out;
  for (const auto& s : images) out.push_back(SummaryToJson(s));
  call.Reply(200, json::object{{"images", std::move(out)}});
  return Ok();
}

Status ApiRouter::ImportImage(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  storage::ImportOptions options;
  ASSIGN_OR_RETURN(options.path, PathField(body));
  ASSIGN_OR_RETURN(std::vector<std::string> tags, StringArrayField(body, "tags"));
  for (const auto& tag : tags) {
    ASSIGN_OR_RETURN(std::string normalized, storage::Store::NormalizeTag(tag));
    options.tags.push_back(std::move(normalized));
  }
  ASSIGN_OR_RETURN(std::string platform, StringField(body, "platform", false));
  if (!platform.empty()) options.platform = platform;
  RETURN_IF_ERROR(CheckReadable(options.path));

  call.Stream([&](const storage::ProgressFn& progress) -> Result<json::value> {
    options.progress = progress;
    ASSIGN_OR_RETURN(storage::ImportResult r, store_.ImportImage(options));
    LogInfo("imported " + r.image_id.str() + " from " + options.path);
    return json::value(ImportResultToJson(r));
  });
  return Ok();
}

Status ApiRouter::ImportRootfs(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  storage::RootfsImportOptions options;
  ASSIGN_OR_RETURN(options.path, PathField(body));
  ASSIGN_OR_RETURN(std::string tag, StringField(body, "tag", true));
  ASSIGN_OR_RETURN(options.tag, storage::Store::NormalizeTag(tag));
  RETURN_IF_ERROR(CheckReadable(options.path));

  call.Stream([&](const storage::ProgressFn& progress) -> Result<json::value> {
    options.progress = progress;
    ASSIGN_OR_RETURN(storage::ImportResult r, store_.ImportRootfs(options));
    LogInfo("imported " + r.image_id.str() + " as " + options.tag + " from " + options.path);
    return json::value(ImportResultToJson(r));
  });
  return Ok();
}

Status ApiRouter::InspectImage(Call& call) {
  // Resolve once so that the summary and the config describe the same image
  // even if the tag moves in between.
  ASSIGN_OR_RETURN(Digest id, store_.ResolveImage(call.ref()));
  ASSIGN_OR_RETURN(storage::ImageSummary summary, store_.InspectImage(id.str()));
  ASSIGN_OR_RETURN(std::string config_text, store_.ImageConfig(id.str()));
  boost::system::error_code ec;
  json::value config = json::parse(config_text, ec);
  if (ec) return Error::Corrupt("config of " + id.str() + " is not JSON: " + ec.message());
  json::object out = SummaryToJson(summary);
  out["config"] = std::move(config);
  call.Reply(200, out);
  return Ok();
}

Status ApiRouter::ImageHistory(Call& call) {
  ASSIGN_OR_RETURN(Digest id, store_.ResolveImage(call.ref()));
  ASSIGN_OR_RETURN(std::string config_text, store_.ImageConfig(id.str()));
  boost::system::error_code ec;
  json::value parsed = json::parse(config_text, ec);
  if (ec || !parsed.is_object()) return Error::Corrupt("config of " + id.str() + " is not JSON");
  const json::object& config = parsed.as_object();

  std::vector<std::string> diff_ids;
  if (const json::value* rootfs = config.if_contains("rootfs"); rootfs && rootfs->is_object()) {
    ASSIGN_OR_RETURN(diff_ids, StringArrayField(rootfs->as_object(), "diff_ids"));
  }
  auto layer_size = [&](const std::string& diff_id) -> Result<uint64_t> {
    ASSIGN_OR_RETURN(Digest d, Digest::Parse(diff_id));
    ASSIGN_OR_RETURN(std::optional<storage::LayerRecord> layer, store_.index().GetLayer(d));
    return layer ? layer->content_bytes : 0;
  };
  auto text = [](const json::object& o, std::string_view key) -> json::value {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? *v : json::value(json::string());
  };

  // History entries that are not empty_layer take the diffIDs in order;
  // layers the history does not account for get an entry of their own.
  json::array history;
  size_t next = 0;
  if (const json::value* h = config.if_contains("history"); h && h->is_array()) {
    for (const json::value& item : h->as_array()) {
      if (!item.is_object()) continue;
      const json::object& o = item.as_object();
      const json::value* empty = o.if_contains("empty_layer");
      bool empty_layer = empty && empty->is_bool() && empty->as_bool();
      json::object entry{{"created", text(o, "created")},
                         {"created_by", text(o, "created_by")},
                         {"comment", text(o, "comment")},
                         {"empty_layer", empty_layer},
                         {"layer", nullptr},
                         {"size", 0}};
      if (!empty_layer && next < diff_ids.size()) {
        ASSIGN_OR_RETURN(uint64_t size, layer_size(diff_ids[next]));
        entry["layer"] = diff_ids[next++];
        entry["size"] = size;
      }
      history.push_back(std::move(entry));
    }
  }
  for (; next < diff_ids.size(); ++next) {
    ASSIGN_OR_RETURN(uint64_t size, layer_size(diff_ids[next]));
    history.push_back(json::object{{"created", text(config, "created")},
                                   {"created_by", ""},
                                   {"comment", ""},
                                   {"empty_layer", false},
                                   {"layer", diff_ids[next]},
                                   {"size", size}});
  }
  std::reverse(history.begin(), history.end());
  call.Reply(200, json::object{{"id", id.str()}, {"history", std::move(history)}});
  return Ok();
}

Status ApiRouter::TagImage(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
  ASSIGN_OR_RETURN(std::string tag, storage::Store::NormalizeTag(name));
  ASSIGN_OR_RETURN(Digest id, store_.ResolveImage(call.ref()));
  RETURN_IF_ERROR(store_.TagImage(id.str(), tag));
  LogInfo("tagged " + id.str() + " as " + tag);
  call.Reply(201, json::object{{"id", id.str()}, {"tag", tag}});
  return Ok();
}

Status ApiRouter::RemoveImage(Call& call) {
  if (!call.QueryFlag("force")) RETURN_IF_ERROR(CheckImageUnused(call.ref()));
  ASSIGN_OR_RETURN(std::vector<std::string> removed, store_.RemoveImage(call.ref()));
  LogInfo("removed " + call.ref());
  call.Reply(200, json::object{{"removed", StringsToJson(removed)}});
  return Ok();
}

// As Docker: removing one of several tags only untags; removing the image
// (its last tag, or by ID) is refused while a container, even a stopped one,
// was created from it. The content would stay (containers are GC roots), but
// the image would vanish from under the container's name for it.
Status ApiRouter::CheckImageUnused(const std::string& ref) {
  if (containers_ == nullptr) return Ok();
  ASSIGN_OR_RETURN(storage::ImageSummary image, store_.InspectImage(ref));
  auto tag = storage::Store::NormalizeTag(ref);
  bool untag_only = tag.ok() && image.tags.size() > 1 &&
                    std::find(image.tags.begin(), image.tags.end(), *tag) != image.tags.end();
  if (untag_only) return Ok();
  ASSIGN_OR_RETURN(std::vector<ContainerRecord> all, containers_->List(true));
  for (const auto& c : all) {
    if (c.config.image == image.id.str()) {
      return Error(EBUSY, "image " + ref + " is used by container " + c.config.name +
                              " (remove the container first, or use --force)");
    }
  }
  return Ok();
}

Status ApiRouter::ExportImage(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  storage::ExportOptions options;
  ASSIGN_OR_RETURN(options.path, PathField(body));
  ASSIGN_OR_RETURN(std::string format, StringField(body, "format", false));
  ASSIGN_OR_RETURN(options.format, ParseExportFormat(format));
  ASSIGN_OR_RETURN(Digest id, store_.ResolveImage(call.ref()));
  // Export what the ref named when the request arrived.
  options.ref = id.str();

  call.Stream([&](const storage::ProgressFn& progress) -> Result<json::value> {
    options.progress = progress;
    RETURN_IF_ERROR(store_.ExportImage(options));
    LogInfo("exported " + id.str() + " to " + options.path);
    return json::value(json::object{{"id", id.str()},
                                    {"path", options.path},
                                    {"format", format.empty() ? "oci-archive" : format}});
  });
  return Ok();
}

namespace {

json::object MountToJson(const MountRecord& m) {
  return json::object{{"dir", m.dir}, {"image", m.image}, {"writable", !m.scratch.empty()}};
}

Error NoMounts() { return Error(ENOTSUP, "this stratad serves no mounts"); }

}  // namespace

Status ApiRouter::ListMounts(Call& call) {
  if (mounts_ == nullptr) return NoMounts();
  json::array out;
  for (const auto& m : mounts_->List()) out.push_back(MountToJson(m));
  call.Reply(200, json::object{{"mounts", std::move(out)}});
  return Ok();
}

Status ApiRouter::Mount(Call& call) {
  if (mounts_ == nullptr) return NoMounts();
  ASSIGN_OR_RETURN(json::object body, call.Body());
  ASSIGN_OR_RETURN(std::string image, StringField(body, "image", true));
  ASSIGN_OR_RETURN(std::string path, PathField(body));
  bool writable = false;
  if (auto* w = body.if_contains("writable"); w != nullptr) {
    if (!w->is_bool()) return Error::Invalid("\"writable\" must be true or false");
    writable = w->as_bool();
  }
  ASSIGN_OR_RETURN(MountRecord m, mounts_->Mount(image, path, writable));
  LogInfo("mounted " + m.image + (writable ? " (writable)" : "") + " at " + m.dir);
  call.Reply(201, MountToJson(m));
  return Ok();
}

Status ApiRouter::Unmount(Call& call) {
  if (mounts_ == nullptr) return NoMounts();
  RETURN_IF_ERROR(mounts_->Unmount(call.ref()));
  LogInfo("unmounted " + call.ref());
  call.Reply(200, json::object{{"unmounted", call.ref()}});
  return Ok();
}

}  // namespace strata::runtime
