#include "runtime/volume_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/container_record.h"
#include "runtime/json_fields.h"

namespace strata::runtime {
namespace json = boost::json;

VolumeStore::VolumeStore(std::string dir) : dir_(std::move(dir)) { (void)MakeDirs(dir_, 0700); }

Result<VolumeInfo> VolumeStore::Create(const std::string& name,
                                       const std::map<std::string, std::string>& labels,
                                       bool* created) {
  RETURN_IF_ERROR(ValidateVolumeName(name));
  std::lock_guard lock(mu_);
  if (created != nullptr) *created = false;
  auto existing = Inspect(name);
  if (existing.ok() || !existing.error().IsNotFound()) return existing;

  // Staged under a temporary name and renamed in, so a crash never leaves a
  // half-made volume under the real name.
  std::string base = JoinPath(dir_, name);
  ASSIGN_OR_RETURN(TempDir staging, TempDir::Create(dir_, ".new-"));
  RETURN_IF_ERROR(MakeDirs(JoinPath(staging.path(), "data"), 0755));
  VolumeInfo info{name, JoinPath(base, "data"), NowRfc3339Nano(), labels};
  json::object meta{{"name", name}, {"created", info.created}, {"labels", jsonf::ToObject(labels)}};
  RETURN_IF_ERROR(WriteFileAtomic(JoinPath(staging.path(), "meta.json"), json::serialize(meta)));
  if (::rename(staging.path().c_str(), base.c_str()) != 0) {
    return Error::FromErrno("create volume " + name);
  }
  staging.Keep();
  if (created != nullptr) *created = true;
  return info;
}

Result<VolumeInfo> VolumeStore::Inspect(const std::string& name) const {
  RETURN_IF_ERROR(ValidateVolumeName(name));
  std::string base = JoinPath(dir_, name);
  struct stat st;
  if (::stat(JoinPath(base, "data").c_str(), &st) != 0) {
    if (errno == ENOENT) return Error::NotFound("no such volume: " + name);
    return Error::FromErrno("volume " + name);
  }
  VolumeInfo info{name, JoinPath(base, "data"), "", {}};
  if (auto text = ReadFile(JoinPath(base, "meta.json")); text.ok()) {
    if (auto meta = jsonf::ParseObject(*text, "meta.json"); meta.ok()) {
      info.created = jsonf::Str(*meta, "created");
      info.labels = jsonf::StrMap(*meta, "labels");
    }
  }
  return info;
}

Result<std::vector<VolumeInfo>> VolumeStore::List() const {
  std::vector<VolumeInfo> out;
  DIR* dir = ::opendir(dir_.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return out;
    return Error::FromErrno("list " + dir_);
  }
  std::vector<std::string> names;
  while (struct dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name.empty() || name[0] == '.') continue;
    names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (auto info = Inspect(name); info.ok()) out.push_back(std::move(*info));
  }
  return out;
}

Status VolumeStore::Remove(const std::string& name) {
  ASSIGN_OR_RETURN(VolumeInfo info, Inspect(name));
  std::lock_guard lock(mu_);
  // Renamed away first, so the name is free at once and a crash in the
  // middle leaves only a hidden directory to sweep.
  std::string base = JoinPath(dir_, name);
  std::string doomed = JoinPath(dir_, ".rm-" + name);
  (void)RemoveTree(doomed);
  if (::rename(base.c_str(), doomed.c_str()) != 0) return Error::FromErrno("remove volume " + name);
  return RemoveTree(doomed);
}

}  // namespace strata::runtime
