#include "storage/oci.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <new>
#include <set>

namespace strata::storage::oci {

namespace json = boost::json;

namespace {

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// Where a field is: the file as the user knows it and a JSON path
// ("manifests[1].platform.os").
class Where {
 public:
  Where(std::string_view file, std::string path) : file_(file), path_(std::move(path)) {}
  Where Field(std::string_view key) const {
    return Where(file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
  }
  Where Item(size_t i) const { return Where(file_, path_ + "[" + std::to_string(i) + "]"); }
  Where Key(std::string_view key) const { return Where(file_, path_ + "[" + Quoted(key) + "]"); }
  Error Bad(std::string_view what) const {
    std::string msg(file_);
    msg += ": ";
    if (!path_.empty()) msg += path_ + ": ";
    msg += what;
    return Error::Invalid(std::move(msg));
  }
  Error WrongType(const json::value& v, std::string_view want) const {
    return Bad("must be " + std::string(want) + ", not " + KindName(v));
  }

 private:
  std::string_view file_;
  std::string path_;
};

Result<json::value> ParseJson(std::string_view text, std::string_view file) {
  json::stream_parser parser;  // default options: depth 32, strict UTF-8, no comments
  boost::system::error_code ec;
  size_t used = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return Error::Invalid(std::string(file) + ": invalid JSON at byte " + std::to_string(used) +
                          ": " + ec.message());
  }
  return parser.release();
}

// Runs a parse body, turning any exception (allocation failure, a Boost
// internal error) into an Error: nothing escapes the public functions.
template <typename F>
auto Guarded(std::string_view file, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Error(ENOMEM, std::string(file) + ": out of memory while parsing");
  } catch (const std::exception& e) {
    return Error::Invalid(std::string(file) + ": " + e.what());
  }
}

const json::value* Find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

Result<const json::object*> AsObject(const json::value& v, const Where& w) {
  if (const auto* o = v.if_object()) return o;
  return w.WrongType(v, "an object");
}

Result<const json::object*> RequireObject(const json::object& o, std::string_view key,
                                          const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return w.Field(key).Bad("missing");
  return AsObject(*v, w.Field(key));
}

// nullptr when absent or null.
Result<const json::object*> OptionalObject(const json::object& o, std::string_view key,
                                           const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr || v->is_null()) return static_cast<const json::object*>(nullptr);
  return AsObject(*v, w.Field(key));
}

Result<std::string> RequireString(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return w.Field(key).Bad("missing");
  if (!v->is_string()) return w.Field(key).WrongType(*v, "a string");
  return std::string(v->get_string());
}

// Absent or null is "".
Result<std::string> OptionalString(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return w.Field(key).WrongType(*v, "a string");
  return std::string(v->get_string());
}

Result<uint64_t> ToUnsigned(const json::value& v, const Where& w) {
  if (const auto* u = v.if_uint64()) return *u;
  if (const auto* i = v.if_int64()) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
    return w.Bad("must not be negative");
  }
  return w.WrongType(v, "a non-negative integer");
}

Result<uint64_t> RequireUnsigned(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return w.Field(key).Bad("missing");
  return ToUnsigned(*v, w.Field(key));
}

Result<Digest> ToDigest(const json::value& v, const Where& w) {
  if (!v.is_string()) return w.WrongType(v, "a digest string");
  auto d = Digest::Parse(v.get_string());
  if (!d.ok()) {
    // Digest::Parse shows the value as it is: a control character in it
    // ("\n" in the JSON) would break the one-line message.
    std::string_view text = v.get_string();
    bool plain = std::none_of(text.begin(), text.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    return w.Bad(plain ? d.error().message() : "invalid digest " + Quoted(text));
  }
  return *d;
}

Result<Digest> RequireDigest(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return w.Field(key).Bad("missing");
  return ToDigest(*v, w.Field(key));
}

Result<std::vector<std::string>> ToStringArray(const json::value& v, const Where& w) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  const auto* a = v.if_array();
  if (a == nullptr) return w.WrongType(v, "an array of strings");
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const json::value& item = (*a)[i];
    if (!item.is_string()) return w.Item(i).WrongType(item, "a string");
    out.emplace_back(item.get_string());
  }
  return out;
}

// Absent or null is empty.
Result<std::vector<std::string>> OptionalStringArray(const json::object& o, std::string_view key,
                                                     const Where& w) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return std::vector<std::string>();
  return ToStringArray(*v, w.Field(key));
}

Result<std::map<std::string, std::string>> OptionalStringMap(const json::object& o,
                                                             std::string_view key, const Where& w) {
  std::map<std::string, std::string> out;
  ASSIGN_OR_RETURN(const json::object* m, OptionalObject(o, key, w));
  if (m == nullptr) return out;
  for (const auto& kv : *m) {
    if (!kv.value().is_string()) {
      return w.Field(key).Key(kv.key()).WrongType(kv.value(), "a string");
    }
    out[std::string(kv.key())] = std::string(kv.value().get_string());
  }
  return out;
}

// ExposedPorts and Volumes: {"80/tcp": {}, ...}; only the keys matter.
Result<std::vector<std::string>> OptionalKeySet(const json::object& o, std::string_view key,
                                                const Where& w) {
  std::vector<std::string> out;
  ASSIGN_OR_RETURN(const json::object* m, OptionalObject(o, key, w));
  if (m == nullptr) return out;
  for (const auto& kv : *m) out.emplace_back(kv.key());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status RequireSchemaVersion2(const json::object& o, const Where& w) {
  ASSIGN_OR_RETURN(uint64_t version, RequireUnsigned(o, "schemaVersion", w));
  if (version == 1) {
    return w.Field("schemaVersion").Bad("docker schema 1 manifests are not supported");
  }
  if (version != 2) {
    return w.Field("schemaVersion").Bad("unsupported version " + std::to_string(version));
  }
  return Ok();
}

void NormalizePlatform(Platform* p) {
  auto lower = [](std::string* s) {
    for (char& c : *s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  };
  lower(&p->os);
  lower(&p->architecture);
  lower(&p->variant);
  std::string& arch = p->architecture;
  if (arch == "x86_64" || arch == "x86-64") {
    arch = "amd64";
  } else if (arch == "aarch64") {
    arch = "arm64";
  } else if (arch == "i386" || arch == "i686") {
    arch = "386";
  } else if (arch == "armhf") {
    arch = "arm";
    if (p->variant.empty()) p->variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    if (p->variant.empty()) p->variant = "v6";
  }
  if ((arch == "arm" || arch == "arm64") && p->variant.size() == 1 && p->variant[0] >= '5' &&
      p->variant[0] <= '8') {
    p->variant = "v" + p->variant;  // "8" -> "v8"
  }
}

std::string DefaultVariant(std::string_view arch) {
  if (arch == "arm64") return "v8";
  if (arch == "arm") return "v7";
  if (arch == "amd64") return "v1";
  return "";
}

Result<Platform> ParsePlatformObject(const json::value& v, const Where& w) {
  ASSIGN_OR_RETURN(const json::object* o, AsObject(v, w));
  Platform p;
  ASSIGN_OR_RETURN(p.architecture, RequireString(*o, "architecture", w));
  ASSIGN_OR_RETURN(p.os, RequireString(*o, "os", w));
  ASSIGN_OR_RETURN(p.variant, OptionalString(*o, "variant", w));
  ASSIGN_OR_RETURN(p.os_version, OptionalString(*o, "os.version", w));
  return p;
}

Result<Descriptor> ParseDescriptor(const json::value& v, const Where& w, bool with_platform) {
  ASSIGN_OR_RETURN(const json::object* o, AsObject(v, w));
  Descriptor d;
  ASSIGN_OR_RETURN(d.media_type, RequireString(*o, "mediaType", w));
  ASSIGN_OR_RETURN(d.digest, RequireDigest(*o, "digest", w));
  ASSIGN_OR_RETURN(d.size, RequireUnsigned(*o, "size", w));
  ASSIGN_OR_RETURN(d.annotations, OptionalStringMap(*o, "annotations", w));
  if (with_platform) {
    const json::value* p = Find(*o, "platform");
    if (p != nullptr && !p->is_null()) {
      ASSIGN_OR_RETURN(d.platform, ParsePlatformObject(*p, w.Field("platform")));
    }
  }
  return d;
}

Result<std::vector<Descriptor>> ParseDescriptorArray(const json::object& o, std::string_view key,
                                                     const Where& w, bool with_platform) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return w.Field(key).Bad("missing");
  const auto* a = v->if_array();
  if (a == nullptr) return w.Field(key).WrongType(*v, "an array");
  std::vector<Descriptor> out;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*a)[i], w.Field(key).Item(i), with_platform));
    out.push_back(std::move(d));
  }
  return out;
}

Result<ContainerConfig> ParseContainerConfig(const json::object& o, const Where& w) {
  ContainerConfig c;
  ASSIGN_OR_RETURN(c.user, OptionalString(o, "User", w));
  ASSIGN_OR_RETURN(c.env, OptionalStringArray(o, "Env", w));
  ASSIGN_OR_RETURN(c.entrypoint, OptionalStringArray(o, "Entrypoint", w));
  ASSIGN_OR_RETURN(c.cmd, OptionalStringArray(o, "Cmd", w));
  ASSIGN_OR_RETURN(c.working_dir, OptionalString(o, "WorkingDir", w));
  ASSIGN_OR_RETURN(c.labels, OptionalStringMap(o, "Labels", w));
  ASSIGN_OR_RETURN(c.exposed_ports, OptionalKeySet(o, "ExposedPorts", w));
  ASSIGN_OR_RETURN(c.volumes, OptionalKeySet(o, "Volumes", w));
  ASSIGN_OR_RETURN(c.stop_signal, OptionalString(o, "StopSignal", w));
  return c;
}

Result<HistoryEntry> ParseHistoryEntry(const json::value& v, const Where& w) {
  ASSIGN_OR_RETURN(const json::object* o, AsObject(v, w));
  HistoryEntry h;
  ASSIGN_OR_RETURN(h.created, OptionalString(*o, "created", w));
  ASSIGN_OR_RETURN(h.created_by, OptionalString(*o, "created_by", w));
  ASSIGN_OR_RETURN(h.author, OptionalString(*o, "author", w));
  ASSIGN_OR_RETURN(h.comment, OptionalString(*o, "comment", w));
  if (const json::value* e = Find(*o, "empty_layer"); e != nullptr && !e->is_null()) {
    if (!e->is_bool()) return w.Field("empty_layer").WrongType(*e, "a boolean");
    h.empty_layer = e->get_bool();
  }
  return h;
}

}  // namespace

// Hostile input must not break the one-line rule or flood the terminal.
std::string Quoted(std::string_view s, size_t max_chars) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > max_chars) out += "...";
  out += "\"";
  return out;
}

bool IsIndexMediaType(std::string_view t) {
  return t == media_type::kOciIndex || t == media_type::kDockerManifestList;
}

bool IsManifestMediaType(std::string_view t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest;
}

bool IsLayerMediaType(std::string_view t) {
  static const std::set<std::string_view> kLayers = {
      media_type::kOciLayer,
      media_type::kOciLayerGzip,
      media_type::kOciLayerZstd,
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      media_type::kDockerLayer,
      media_type::kDockerLayerGzip,
      media_type::kDockerForeignLayerGzip,
      "application/vnd.docker.image.rootfs.diff.tar.zstd",
  };
  return kLayers.count(t) > 0;
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Result<Platform> ParsePlatform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  auto bad = [&] {
    return Error::Invalid("invalid platform " + Quoted(text) + " (want os/arch[/variant])");
  };
  if (parts.size() < 2 || parts.size() > 3) return bad();
  for (const auto& p : parts) {
    if (p.empty()) return bad();
    for (char c : p) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.';
      if (!ok) return bad();
    }
  }
  Platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  NormalizePlatform(&p);
  return p;
}

bool PlatformMatches(const Platform& want_in, const Platform& have_in) {
  Platform want = want_in, have = have_in;
  NormalizePlatform(&want);
  NormalizePlatform(&have);
  if (want.os != have.os || want.architecture != have.architecture) return false;
  if (want.variant.empty() || want.variant == have.variant) return true;
  return have.variant.empty() && want.variant == DefaultVariant(want.architecture);
}

Result<size_t> SelectManifest(const ImageIndex& index, const Platform& want,
                              std::string_view file) {
  Platform norm_want = want;
  NormalizePlatform(&norm_want);
  // 3: platform with the same (or same implied) variant; 2: compatible
  // platform; 1: no platform given.
  auto score = [&](const Descriptor& d) -> int {
    if (!IsManifestMediaType(d.media_type) && !IsIndexMediaType(d.media_type)) return 0;
    if (!d.platform) return 1;
    if (!PlatformMatches(norm_want, *d.platform)) return 0;
    Platform have = *d.platform;
    NormalizePlatform(&have);
    std::string default_variant = DefaultVariant(have.architecture);
    std::string wv = norm_want.variant.empty() ? default_variant : norm_want.variant;
    std::string hv = have.variant.empty() ? default_variant : have.variant;
    return wv == hv ? 3 : 2;
  };
  int best = 0;
  for (const auto& d : index.manifests) best = std::max(best, score(d));
  if (best == 0) {
    std::string have;
    for (const auto& d : index.manifests) {
      if (!d.platform) continue;
      if (have.find(d.platform->str()) != std::string::npos) continue;
      have += (have.empty() ? "" : ", ") + d.platform->str();
    }
    return Error::NotFound(
        std::string(file) + ": no image for platform " + norm_want.str() +
        (have.empty() ? std::string(" (no images listed)") : " (has: " + have + ")"));
  }
  std::optional<size_t> chosen;
  std::set<Digest> digests;
  for (size_t i = 0; i < index.manifests.size(); ++i) {
    if (score(index.manifests[i]) != best) continue;
    if (!chosen) chosen = i;
    digests.insert(index.manifests[i].digest);
  }
  if (digests.size() > 1) {
    return Error::Invalid(std::string(file) + ": " + std::to_string(digests.size()) +
                          " different images match platform " + norm_want.str() +
                          "; an import takes exactly one");
  }
  return *chosen;
}

Result<ImageIndex> ParseImageIndex(std::string_view text, std::string_view file) {
  return Guarded(file, [&]() -> Result<ImageIndex> {
    ASSIGN_OR_RETURN(json::value root, ParseJson(text, file));
    Where w(file, "");
    ASSIGN_OR_RETURN(const json::object* o, AsObject(root, w));
    RETURN_IF_ERROR(RequireSchemaVersion2(*o, w));
    ImageIndex index;
    ASSIGN_OR_RETURN(index.media_type, OptionalString(*o, "mediaType", w));
    if (!index.media_type.empty() && !IsIndexMediaType(index.media_type)) {
      return w.Field("mediaType").Bad("not an image index: " + Quoted(index.media_type));
    }
    ASSIGN_OR_RETURN(index.manifests, ParseDescriptorArray(*o, "manifests", w, true));
    ASSIGN_OR_RETURN(index.annotations, OptionalStringMap(*o, "annotations", w));
    return index;
  });
}

Result<Manifest> ParseManifest(std::string_view text, std::string_view file) {
  return Guarded(file, [&]() -> Result<Manifest> {
    ASSIGN_OR_RETURN(json::value root, ParseJson(text, file));
    Where w(file, "");
    ASSIGN_OR_RETURN(const json::object* o, AsObject(root, w));
    RETURN_IF_ERROR(RequireSchemaVersion2(*o, w));
    Manifest m;
    ASSIGN_OR_RETURN(m.media_type, OptionalString(*o, "mediaType", w));
    if (IsIndexMediaType(m.media_type)) {
      return w.Field("mediaType").Bad("an image index where a manifest was expected");
    }
    if (!m.media_type.empty() && !IsManifestMediaType(m.media_type)) {
      return w.Field("mediaType").Bad("not an image manifest: " + Quoted(m.media_type));
    }
    const json::value* config = Find(*o, "config");
    if (config == nullptr) return w.Field("config").Bad("missing");
    ASSIGN_OR_RETURN(m.config, ParseDescriptor(*config, w.Field("config"), false));
    ASSIGN_OR_RETURN(m.layers, ParseDescriptorArray(*o, "layers", w, false));
    ASSIGN_OR_RETURN(m.annotations, OptionalStringMap(*o, "annotations", w));
    return m;
  });
}

Result<ImageConfig> ParseImageConfig(std::string_view text, std::string_view file) {
  return Guarded(file, [&]() -> Result<ImageConfig> {
    ASSIGN_OR_RETURN(json::value root, ParseJson(text, file));
    Where w(file, "");
    ASSIGN_OR_RETURN(const json::object* o, AsObject(root, w));
    ImageConfig c;
    ASSIGN_OR_RETURN(c.created, OptionalString(*o, "created", w));
    ASSIGN_OR_RETURN(c.author, OptionalString(*o, "author", w));
    ASSIGN_OR_RETURN(c.architecture, OptionalString(*o, "architecture", w));
    ASSIGN_OR_RETURN(c.os, OptionalString(*o, "os", w));
    ASSIGN_OR_RETURN(c.variant, OptionalString(*o, "variant", w));
    ASSIGN_OR_RETURN(const json::object* cc, OptionalObject(*o, "config", w));
    if (cc != nullptr) {
      ASSIGN_OR_RETURN(c.config, ParseContainerConfig(*cc, w.Field("config")));
    }
    ASSIGN_OR_RETURN(const json::object* rootfs, RequireObject(*o, "rootfs", w));
    Where wr = w.Field("rootfs");
    ASSIGN_OR_RETURN(std::string type, RequireString(*rootfs, "type", wr));
    if (type != "layers") return wr.Field("type").Bad("must be \"layers\", not " + Quoted(type));
    const json::value* ids = Find(*rootfs, "diff_ids");
    if (ids == nullptr) return wr.Field("diff_ids").Bad("missing");
    if (!ids->is_null()) {
      const auto* a = ids->if_array();
      if (a == nullptr) return wr.Field("diff_ids").WrongType(*ids, "an array");
      for (size_t i = 0; i < a->size(); ++i) {
        ASSIGN_OR_RETURN(Digest d, ToDigest((*a)[i], wr.Field("diff_ids").Item(i)));
        c.diff_ids.push_back(d);
      }
    }
    const json::value* history = Find(*o, "history");
    if (history != nullptr && !history->is_null()) {
      const auto* a = history->if_array();
      if (a == nullptr) return w.Field("history").WrongType(*history, "an array");
      for (size_t i = 0; i < a->size(); ++i) {
        ASSIGN_OR_RETURN(HistoryEntry h, ParseHistoryEntry((*a)[i], w.Field("history").Item(i)));
        c.history.push_back(std::move(h));
      }
    }
    return c;
  });
}

Result<std::vector<DockerArchiveImage>> ParseDockerArchiveManifest(std::string_view text,
                                                                   std::string_view file) {
  return Guarded(file, [&]() -> Result<std::vector<DockerArchiveImage>> {
    ASSIGN_OR_RETURN(json::value root, ParseJson(text, file));
    Where w(file, "");
    const auto* a = root.if_array();
    if (a == nullptr) return w.WrongType(root, "an array");
    std::vector<DockerArchiveImage> out;
    for (size_t i = 0; i < a->size(); ++i) {
      Where wi = w.Item(i);
      ASSIGN_OR_RETURN(const json::object* o, AsObject((*a)[i], wi));
      DockerArchiveImage image;
      ASSIGN_OR_RETURN(image.config, RequireString(*o, "Config", wi));
      if (image.config.empty()) return wi.Field("Config").Bad("empty");
      ASSIGN_OR_RETURN(image.repo_tags, OptionalStringArray(*o, "RepoTags", wi));
      const json::value* layers = Find(*o, "Layers");
      if (layers == nullptr) return wi.Field("Layers").Bad("missing");
      ASSIGN_OR_RETURN(image.layers, ToStringArray(*layers, wi.Field("Layers")));
      out.push_back(std::move(image));
    }
    return out;
  });
}

Status ParseLayoutFile(std::string_view text, std::string_view file) {
  return Guarded(file, [&]() -> Status {
    ASSIGN_OR_RETURN(json::value root, ParseJson(text, file));
    Where w(file, "");
    ASSIGN_OR_RETURN(const json::object* o, AsObject(root, w));
    ASSIGN_OR_RETURN(std::string version, RequireString(*o, "imageLayoutVersion", w));
    if (version.rfind("1.", 0) != 0) {
      return w.Field("imageLayoutVersion").Bad("unsupported version " + Quoted(version));
    }
    return Ok();
  });
}

}  // namespace strata::storage::oci
