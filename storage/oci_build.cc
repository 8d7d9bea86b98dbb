// Building the documents of oci.h: compact JSON, fields in a fixed order.
#include "storage/oci.h"

#include <boost/json.hpp>

namespace strata::storage::oci {

namespace json = boost::json;

namespace {

json::object DescriptorJson(const Descriptor& d) {
  json::object o;
  o.emplace("mediaType", d.media_type);
  o.emplace("digest", d.digest.str());
  o.emplace("size", d.size);
  if (!d.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : d.annotations) a.emplace(k, v);
    o.emplace("annotations", std::move(a));
  }
  if (d.platform) {
    json::object p;
    p.emplace("architecture", d.platform->architecture);
    p.emplace("os", d.platform->os);
    if (!d.platform->os_version.empty()) p.emplace("os.version", d.platform->os_version);
    if (!d.platform->variant.empty()) p.emplace("variant", d.platform->variant);
    o.emplace("platform", std::move(p));
  }
  return o;
}

json::object StringMapJson(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o.emplace(k, v);
  return o;
}

json::array StringArrayJson(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object KeySetJson(const std::vector<std::string>& keys) {
  json::object o;
  for (const auto& k : keys) o.emplace(k, json::object());
  return o;
}

}  // namespace

std::string BuildImageIndex(const ImageIndex& index) {
  json::object o;
  o.emplace("schemaVersion", 2);
  if (!index.media_type.empty()) o.emplace("mediaType", index.media_type);
  json::array manifests;
  for (const auto& d : index.manifests) manifests.emplace_back(DescriptorJson(d));
  o.emplace("manifests", std::move(manifests));
  if (!index.annotations.empty()) o.emplace("annotations", StringMapJson(index.annotations));
  return json::serialize(o);
}

std::string BuildManifest(const Manifest& manifest) {
  json::object o;
  o.emplace("schemaVersion", 2);
  if (!manifest.media_type.empty()) o.emplace("mediaType", manifest.media_type);
  o.emplace("config", DescriptorJson(manifest.config));
  json::array layers;
  for (const auto& d : manifest.layers) layers.emplace_back(DescriptorJson(d));
  o.emplace("layers", std::move(layers));
  if (!manifest.annotations.empty()) {
    o.emplace("annotations", StringMapJson(manifest.annotations));
  }
  return json::serialize(o);
}

std::string BuildImageConfig(const ImageConfig& c) {
  json::object o;
  if (!c.created.empty()) o.emplace("created", c.created);
  if (!c.author.empty()) o.emplace("author", c.author);
  if (!c.architecture.empty()) o.emplace("architecture", c.architecture);
  if (!c.os.empty()) o.emplace("os", c.os);
  if (!c.variant.empty()) o.emplace("variant", c.variant);
  const ContainerConfig& cc = c.config;
  json::object config;
  if (!cc.user.empty()) config.emplace("User", cc.user);
  if (!cc.exposed_ports.empty()) config.emplace("ExposedPorts", KeySetJson(cc.exposed_ports));
  if (!cc.env.empty()) config.emplace("Env", StringArrayJson(cc.env));
  if (!cc.entrypoint.empty()) config.emplace("Entrypoint", StringArrayJson(cc.entrypoint));
  if (!cc.cmd.empty()) config.emplace("Cmd", StringArrayJson(cc.cmd));
  if (!cc.volumes.empty()) config.emplace("Volumes", KeySetJson(cc.volumes));
  if (!cc.working_dir.empty()) config.emplace("WorkingDir", cc.working_dir);
  if (!cc.labels.empty()) config.emplace("Labels", StringMapJson(cc.labels));
  if (!cc.stop_signal.empty()) config.emplace("StopSignal", cc.stop_signal);
  o.emplace("config", std::move(config));
  json::object rootfs;
  rootfs.emplace("type", "layers");
  json::array ids;
  for (const auto& d : c.diff_ids) ids.emplace_back(d.str());
  rootfs.emplace("diff_ids", std::move(ids));
  o.emplace("rootfs", std::move(rootfs));
  if (!c.history.empty()) {
    json::array history;
    for (const auto& h : c.history) {
      json::object e;
      if (!h.created.empty()) e.emplace("created", h.created);
      if (!h.created_by.empty()) e.emplace("created_by", h.created_by);
      if (!h.author.empty()) e.emplace("author", h.author);
      if (!h.comment.empty()) e.emplace("comment", h.comment);
      if (h.empty_layer) e.emplace("empty_layer", true);
      history.emplace_back(std::move(e));
    }
    o.emplace("history", std::move(history));
  }
  return json::serialize(o);
}

std::string BuildDockerArchiveManifest(const std::vector<DockerArchiveImage>& images) {
  json::array a;
  for (const auto& image : images) {
    json::object o;
    o.emplace("Config", image.config);
    o.emplace("RepoTags", StringArrayJson(image.repo_tags));
    o.emplace("Layers", StringArrayJson(image.layers));
    a.emplace_back(std::move(o));
  }
  return json::serialize(a);
}

std::string BuildDockerRepositories(const std::vector<std::string>& tags,
                                    const std::string& layer_id) {
  json::object repos;
  for (const auto& tag : tags) {
    size_t colon = tag.rfind(':');
    size_t slash = tag.rfind('/');
    std::string repo = tag, name = "latest";
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      repo = tag.substr(0, colon);
      name = tag.substr(colon + 1);
    }
    json::value& entry = repos[repo];
    if (!entry.is_object()) entry = json::object();
    entry.get_object()[name] = layer_id;
  }
  return json::serialize(repos);
}

std::string BuildLayoutFile() { return R"({"imageLayoutVersion":"1.0.0"})"; }

}  // namespace strata::storage::oci
