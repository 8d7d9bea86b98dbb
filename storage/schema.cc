#include "storage/schema.h"

#include "common/coding.h"

namespace strata::storage::schema {

Result<std::string> NormalizePath(std::string_view path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return Error::Invalid("path \"" + std::string(path) + "\" contains \"..\"");
    if (part.find('\0') != std::string_view::npos) {
      return Error::Invalid("path contains a NUL byte");
    }
    out.push_back('/');
    out.append(part);
  }
  if (out.empty()) out = "/";
  return out;
}

std::string ParentPath(std::string_view path) {
  if (path == "/" || path.empty()) return "";
  size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string_view BaseName(std::string_view path) {
  if (path == "/" || path.empty()) return "";
  return path.substr(path.rfind('/') + 1);
}

std::string PathKey(std::string_view path) {
  std::string key = ParentPath(path);
  key.push_back('\0');
  key.append(BaseName(path));
  return key;
}

std::string DirPrefix(std::string_view dir) {
  std::string key(dir);
  key.push_back('\0');
  return key;
}

std::string PathFromKey(std::string_view key) {
  size_t nul = key.find('\0');
  std::string_view dir = key.substr(0, nul);
  std::string_view name = key.substr(nul + 1);
  if (dir.empty()) return "/";
  std::string out(dir);
  if (out != "/") out.push_back('/');
  out.append(name);
  return out;
}

std::string EntryKey(const Digest& diff_id, std::string_view path) {
  return std::string(diff_id.raw()) + PathKey(path);
}

std::string ViewKey(const Digest& chain_id, std::string_view path) {
  return std::string(chain_id.raw()) + PathKey(path);
}

std::string TarSplitKey(const Digest& diff_id, uint64_t seq) {
  std::string key(diff_id.raw());
  PutFixed64BE(&key, seq);
  return key;
}

namespace {
constexpr uint8_t kFlagOpaque = 1;
constexpr uint8_t kFlagImplicit = 2;
constexpr uint8_t kFlagObject = 4;
constexpr uint8_t kFlagHardlink = 8;

void PutSigned(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
bool GetSigned(Decoder* d, int64_t* v) {
  uint64_t raw;
  if (!d->GetVarint(&raw)) return false;
  *v = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
  return true;
}
void PutDigest(std::string* out, const Digest& d) { out->append(d.raw()); }
bool GetDigest(Decoder* d, Digest* out) {
  std::string_view raw;
  if (!d->GetRaw(32, &raw)) return false;
  *out = Digest::FromBytes(raw);
  return true;
}
}  // namespace

std::string EncodeEntry(const Entry& e) {
  std::string out;
  out.push_back(static_cast<char>(e.type));
  uint8_t flags = (e.opaque ? kFlagOpaque : 0) | (e.implicit ? kFlagImplicit : 0) |
                  (e.has_object() ? kFlagObject : 0) |
                  (e.hardlink_to.empty() ? 0 : kFlagHardlink);
  out.push_back(static_cast<char>(flags));
  PutVarint(&out, e.mode);
  PutVarint(&out, e.uid);
  PutVarint(&out, e.gid);
  PutVarint(&out, e.size);
  PutSigned(&out, e.mtime_sec);
  PutVarint(&out, e.mtime_nsec);
  PutVarint(&out, e.rdev_major);
  PutVarint(&out, e.rdev_minor);
  PutBytes(&out, e.link_target);
  if (flags & kFlagHardlink) PutBytes(&out, e.hardlink_to);
  PutVarint(&out, e.xattrs.size());
  for (const auto& [name, value] : e.xattrs) {
    PutBytes(&out, name);
    PutBytes(&out, value);
  }
  if (flags & kFlagObject) out.append(e.object.raw());
  return out;
}

static bool DecodeEntryFrom(Decoder* d, Entry* e) {
  std::string_view head;
  if (!d->GetRaw(2, &head)) return false;
  auto type = static_cast<uint8_t>(head[0]);
  auto flags = static_cast<uint8_t>(head[1]);
  if (type > static_cast<uint8_t>(EntryType::kWhiteout)) return false;
  // Only what EncodeEntry writes: a flag it never sets means damage.
  if (flags & ~(kFlagOpaque | kFlagImplicit | kFlagObject | kFlagHardlink)) return false;
  e->type = static_cast<EntryType>(type);
  e->opaque = flags & kFlagOpaque;
  e->implicit = flags & kFlagImplicit;
  uint64_t nx;
  if (!d->GetVarintAs(&e->mode) || !d->GetVarintAs(&e->uid) || !d->GetVarintAs(&e->gid) ||
      !d->GetVarint(&e->size) || !GetSigned(d, &e->mtime_sec) ||
      !d->GetVarintAs(&e->mtime_nsec) || !d->GetVarintAs(&e->rdev_major) ||
      !d->GetVarintAs(&e->rdev_minor) || !d->GetString(&e->link_target)) {
    return false;
  }
  // The object and hard-link flags follow from the rest, as EncodeEntry sets them.
  if (static_cast<bool>(flags & kFlagObject) != e->has_object()) return false;
  e->hardlink_to.clear();
  if ((flags & kFlagHardlink) && (!d->GetString(&e->hardlink_to) || e->hardlink_to.empty())) {
    return false;
  }
  if (!d->GetVarint(&nx) || nx > d->rest().size()) return false;
  e->xattrs.clear();
  for (uint64_t i = 0; i < nx; ++i) {
    std::string name, value;
    if (!d->GetString(&name) || !d->GetString(&value)) return false;
    e->xattrs.emplace_back(std::move(name), std::move(value));
  }
  e->object = ObjectId();
  if (flags & kFlagObject) {
    std::string_view raw;
    if (!d->GetRaw(16, &raw)) return false;
    e->object = ObjectId::FromBytes(raw);
  }
  return true;
}

bool DecodeEntry(std::string_view in, Entry* e) {
  Decoder d(in);
  return DecodeEntryFrom(&d, e) && d.empty();
}

std::string EncodeViewEntry(const ViewEntry& e) {
  std::string out;
  PutVarint(&out, e.layer);
  PutVarint(&out, e.nlink);
  out.append(EncodeEntry(e.entry));
  return out;
}

bool DecodeViewEntry(std::string_view in, ViewEntry* e) {
  Decoder d(in);
  return d.GetVarintAs(&e->layer) && d.GetVarintAs(&e->nlink) && DecodeEntryFrom(&d, &e->entry) &&
         d.empty();
}

std::string EncodeObject(const ObjectRecord& r) {
  std::string out;
  PutVarint(&out, r.size);
  PutSigned(&out, r.created);
  return out;
}

bool DecodeObject(std::string_view in, ObjectRecord* r) {
  Decoder d(in);
  return d.GetVarint(&r->size) && GetSigned(&d, &r->created) && d.empty();
}

std::string EncodeLayer(const LayerRecord& r) {
  std::string out;
  PutVarint(&out, r.tar_size);
  PutVarint(&out, r.content_bytes);
  PutVarint(&out, r.entry_count);
  PutSigned(&out, r.created);
  return out;
}

bool DecodeLayer(std::string_view in, LayerRecord* r) {
  Decoder d(in);
  return d.GetVarint(&r->tar_size) && d.GetVarint(&r->content_bytes) &&
         d.GetVarint(&r->entry_count) && GetSigned(&d, &r->created) && d.empty();
}

std::string EncodeChain(const ChainRecord& r) {
  std::string out;
  PutDigest(&out, r.parent);
  PutDigest(&out, r.diff_id);
  PutVarint(&out, r.depth);
  out.push_back(r.view_ready ? 1 : 0);
  return out;
}

bool DecodeChain(std::string_view in, ChainRecord* r) {
  Decoder d(in);
  std::string_view ready;
  if (!GetDigest(&d, &r->parent) || !GetDigest(&d, &r->diff_id) || !d.GetVarintAs(&r->depth) ||
      !d.GetRaw(1, &ready) || !d.empty()) {
    return false;
  }
  r->view_ready = ready[0] != 0;
  return true;
}

std::string EncodeImage(const ImageRecord& r) {
  std::string out;
  PutDigest(&out, r.id);
  PutDigest(&out, r.manifest);
  PutDigest(&out, r.chain);
  PutVarint(&out, r.diff_ids.size());
  for (const auto& d : r.diff_ids) PutDigest(&out, d);
  PutVarint(&out, r.config_size);
  PutVarint(&out, r.size);
  PutSigned(&out, r.created);
  return out;
}

bool DecodeImage(std::string_view in, ImageRecord* r) {
  Decoder d(in);
  uint64_t n;
  if (!GetDigest(&d, &r->id) || !GetDigest(&d, &r->manifest) || !GetDigest(&d, &r->chain) ||
      !d.GetVarint(&n) || n > d.rest().size() / 32) {
    return false;
  }
  r->diff_ids.resize(n);
  for (auto& diff : r->diff_ids)
    if (!GetDigest(&d, &diff)) return false;
  return d.GetVarint(&r->config_size) && d.GetVarint(&r->size) && GetSigned(&d, &r->created) &&
         d.empty();
}

std::string EncodeLease(const LeaseRecord& r) {
  std::string out;
  PutSigned(&out, r.expires);
  PutBytes(&out, r.description);
  PutVarint(&out, r.layers.size());
  for (const auto& l : r.layers) PutDigest(&out, l);
  PutVarint(&out, r.objects.size());
  for (const auto& o : r.objects) out.append(o.raw());
  return out;
}

bool DecodeLease(std::string_view in, LeaseRecord* r) {
  Decoder d(in);
  uint64_t n;
  if (!GetSigned(&d, &r->expires) || !d.GetString(&r->description) || !d.GetVarint(&n) ||
      n > d.rest().size() / 32) {
    return false;
  }
  r->layers.resize(n);
  for (auto& l : r->layers)
    if (!GetDigest(&d, &l)) return false;
  if (!d.GetVarint(&n) || n > d.rest().size() / 16) return false;
  r->objects.resize(n);
  for (auto& o : r->objects) {
    std::string_view raw;
    if (!d.GetRaw(16, &raw)) return false;
    o = ObjectId::FromBytes(raw);
  }
  return d.empty();
}

std::string EncodeLayerBlob(const LayerBlobRecord& r) {
  std::string out;
  PutVarint(&out, r.size);
  PutBytes(&out, r.media_type);
  PutBytes(&out, r.source);
  return out;
}

bool DecodeLayerBlob(std::string_view in, LayerBlobRecord* r) {
  Decoder d(in);
  return d.GetVarint(&r->size) && d.GetString(&r->media_type) && d.GetString(&r->source) &&
         d.empty();
}

}  // namespace strata::storage::schema
