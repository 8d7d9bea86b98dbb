#include "storage/index.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <iterator>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <map>

#include "common/coding.h"
#include "storage/schema.h"

namespace strata::storage {

namespace {

enum Family : size_t {
  kMeta,
  kObjects,
  kLayers,
  kEntries,
  kTarSplit,
  kChains,
  kViews,
  kImages,
  kTags,
  kLeases,
  kBlobs,
  kLayerBlobs,
  kCron,
  kFamilyCount
};
static_assert(std::size(schema::kAllFamilies) == kFamilyCount);

Error FromStatus(const rocksdb::Status& s, std::string_view what) {
  int err = EIO;
  if (s.IsNotFound()) err = ENOENT;
  if (s.IsCorruption()) err = EBADMSG;
  if (s.IsNoSpace()) err = ENOSPC;
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) err = EBUSY;
  if (s.IsBusy() || s.IsTryAgain()) err = EBUSY;
  return Error(err, std::string(what) + ": " + s.ToString());
}

// The smallest key greater than every key starting with prefix.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(64, '\xff');
}

Error CorruptRecord(std::string_view family, std::string_view key) {
  return Error::Corrupt(std::string("index: corrupt ") + std::string(family) + " record (key " +
                        HexEncode(key.substr(0, 48)) + ")");
}

}  // namespace

struct Index::Batch::Impl {
  // Column family handles belong to an open Index, so a Batch records
  // (family, op) and Index::Write turns them into one rocksdb::WriteBatch.
  struct Op {
    Family family;
    enum Kind { kPut, kDelete, kDeleteRange } kind;
    std::string key, value;
  };
  std::vector<Op> ops;
  void Put(Family f, std::string key, std::string value) {
    ops.push_back({f, Op::kPut, std::move(key), std::move(value)});
  }
  void Delete(Family f, std::string key) { ops.push_back({f, Op::kDelete, std::move(key), {}}); }
  void DeleteRange(Family f, std::string begin, std::string end) {
    ops.push_back({f, Op::kDeleteRange, std::move(begin), std::move(end)});
  }
};

Index::Batch::Batch() : impl_(std::make_unique<Impl>()) {}
Index::Batch::~Batch() = default;
Index::Batch::Batch(Batch&&) noexcept = default;
Index::Batch& Index::Batch::operator=(Batch&&) noexcept = default;
size_t Index::Batch::count() const { return impl_->ops.size(); }

void Index::Batch::Append(Batch&& other) {
  auto& from = other.impl_->ops;
  impl_->ops.reserve(impl_->ops.size() + from.size());
  std::move(from.begin(), from.end(), std::back_inserter(impl_->ops));
  std::vector<Impl::Op>().swap(from);
}

void Index::Batch::PutObject(const ObjectId& id, const ObjectRecord& r) {
  impl_->Put(kObjects, std::string(id.raw()), schema::EncodeObject(r));
}
void Index::Batch::DeleteObject(const ObjectId& id) { impl_->Delete(kObjects, std::string(id.raw())); }
void Index::Batch::PutLayer(const Digest& diff_id, const LayerRecord& r) {
  impl_->Put(kLayers, std::string(diff_id.raw()), schema::EncodeLayer(r));
}
void Index::Batch::DeleteLayer(const Digest& diff_id) {
  std::string prefix(diff_id.raw());
  impl_->Delete(kLayers, prefix);
  impl_->DeleteRange(kEntries, prefix, PrefixEnd(prefix));
  impl_->DeleteRange(kTarSplit, prefix, PrefixEnd(prefix));
  impl_->DeleteRange(kLayerBlobs, prefix, PrefixEnd(prefix));
}
void Index::Batch::PutEntry(const Digest& diff_id, std::string_view path, const Entry& e) {
  impl_->Put(kEntries, schema::EntryKey(diff_id, path), schema::EncodeEntry(e));
}
void Index::Batch::PutTarSplit(const Digest& diff_id, uint64_t seq, std::string_view chunk) {
  impl_->Put(kTarSplit, schema::TarSplitKey(diff_id, seq), std::string(chunk));
}
void Index::Batch::PutChain(const Digest& chain_id, const ChainRecord& r) {
  impl_->Put(kChains, std::string(chain_id.raw()), schema::EncodeChain(r));
}
void Index::Batch::DeleteChain(const Digest& chain_id) {
  std::string prefix(chain_id.raw());
  impl_->Delete(kChains, prefix);
  impl_->DeleteRange(kViews, prefix, PrefixEnd(prefix));
}
void Index::Batch::PutViewEntry(const Digest& chain_id, std::string_view path,
                                const ViewEntry& e) {
  impl_->Put(kViews, schema::ViewKey(chain_id, path), schema::EncodeViewEntry(e));
}
void Index::Batch::PutImage(const ImageRecord& r) {
  impl_->Put(kImages, std::string(r.id.raw()), schema::EncodeImage(r));
}
void Index::Batch::DeleteImage(const Digest& id) { impl_->Delete(kImages, std::string(id.raw())); }
void Index::Batch::PutTag(std::string_view name, const Digest& image) {
  impl_->Put(kTags, std::string(name), std::string(image.raw()));
}
void Index::Batch::DeleteTag(std::string_view name) { impl_->Delete(kTags, std::string(name)); }
void Index::Batch::PutLease(std::string_view id, const LeaseRecord& r) {
  impl_->Put(kLeases, std::string(id), schema::EncodeLease(r));
}
void Index::Batch::DeleteLease(std::string_view id) { impl_->Delete(kLeases, std::string(id)); }
void Index::Batch::PutBlob(const Digest& compressed, const Digest& diff_id) {
  impl_->Put(kBlobs, std::string(compressed.raw()), std::string(diff_id.raw()));
}

void Index::Batch::DeleteBlob(const Digest& compressed) {
  impl_->Delete(kBlobs, std::string(compressed.raw()));
}

void Index::Batch::PutLayerBlob(const Digest& diff_id, const LayerBlobRecord& r) {
  impl_->Put(kLayerBlobs, std::string(diff_id.raw()) + std::string(r.digest.raw()),
             schema::EncodeLayerBlob(r));
}

void Index::Batch::PutCron(std::string_view key, std::string_view value) {
  impl_->Put(kCron, std::string(key), std::string(value));
}
void Index::Batch::DeleteCron(std::string_view key) { impl_->Delete(kCron, std::string(key)); }
void Index::Batch::DeleteCronPrefix(std::string_view prefix) {
  impl_->DeleteRange(kCron, std::string(prefix), PrefixEnd(std::string(prefix)));
}

struct Index::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  bool read_only = false;

  ~Impl() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    if (db) (void)db->Close();
  }

  Result<std::optional<std::string>> Get(Family f, std::string_view key) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), handles[f], key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromStatus(s, "index read");
    return std::optional<std::string>(std::move(value));
  }

  // Calls fn(key, value) for every key with the prefix, in order.
  Status Scan(Family f, std::string_view prefix,
              const std::function<Status(std::string_view, std::string_view)>& fn) {
    rocksdb::ReadOptions ro;
    std::string end = PrefixEnd(std::string(prefix));
    rocksdb::Slice upper(end);
    if (!prefix.empty()) ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, handles[f]));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      RETURN_IF_ERROR(fn(std::string_view(it->key().data(), it->key().size()),
                         std::string_view(it->value().data(), it->value().size())));
    }
    if (!it->status().ok()) return FromStatus(it->status(), "index scan");
    return Ok();
  }
};

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::Open(const IndexOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;

  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset();  // prefix scans dominate; point reads hit the block cache
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kNoCompression;

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const char* name : schema::kAllFamilies) families.emplace_back(name, cf_options);

  auto impl = std::make_unique<Impl>();
  impl->read_only = options.read_only;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, options.path, families, &handles, &raw)
          : rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Error(EBUSY, "index " + options.path + " is in use by another process");
    }
    return FromStatus(s, "open index " + options.path);
  }
  impl->db.reset(raw);
  // handles[0] is the default family, which strata does not use.
  raw->DestroyColumnFamilyHandle(handles[0]);
  impl->handles.assign(handles.begin() + 1, handles.end());

  // The schema version: written on creation, checked on every open.
  ASSIGN_OR_RETURN(auto version, impl->Get(kMeta, "schema_version"));
  if (!version) {
    if (options.read_only) return Error::Corrupt("index " + options.path + " has no schema version");
    std::string v;
    PutFixed32BE(&v, schema::kVersion);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = impl->db->Put(wo, impl->handles[kMeta], "schema_version", v);
    if (!s.ok()) return FromStatus(s, "write schema version");
  } else {
    uint64_t raw_version = 0;
    if (version->size() != 4) return Error::Corrupt("index: bad schema version record");
    for (char c : *version) raw_version = raw_version << 8 | static_cast<uint8_t>(c);
    if (raw_version > schema::kVersion) {
      return Error(EPROTO, "store schema version " + std::to_string(raw_version) +
                               " is newer than this strata supports (" +
                               std::to_string(schema::kVersion) + "); upgrade strata");
    }
    if (raw_version < schema::kVersion) {
      return Error(EPROTO, "store schema version " + std::to_string(raw_version) +
                               " is older than " + std::to_string(schema::kVersion) +
                               " and no migration exists");
    }
  }
  return std::unique_ptr<Index>(new Index(std::move(impl)));
}

Status Index::Write(Batch& batch, Sync sync) {
  if (impl_->read_only) return Error(EROFS, "index is open read-only");
  // Reserved up front: growing by doubling would hold the old and the new
  // buffer at once, which is the peak of a big layer's import.
  size_t bytes = 12;
  for (const auto& op : batch.impl_->ops) bytes += op.key.size() + op.value.size() + 16;
  rocksdb::WriteBatch wb(bytes);
  for (auto& op : batch.impl_->ops) {
    auto* h = impl_->handles[op.family];
    rocksdb::Status s;
    switch (op.kind) {
      case Batch::Impl::Op::kPut: s = wb.Put(h, op.key, op.value); break;
      case Batch::Impl::Op::kDelete: s = wb.Delete(h, op.key); break;
      case Batch::Impl::Op::kDeleteRange: s = wb.DeleteRange(h, op.key, op.value); break;
    }
    if (!s.ok()) return FromStatus(s, "index batch");
    std::string().swap(op.key);
    std::string().swap(op.value);
  }
  std::vector<Batch::Impl::Op>().swap(batch.impl_->ops);
  rocksdb::WriteOptions wo;
  wo.sync = sync == Sync::kYes;
  rocksdb::Status s = impl_->db->Write(wo, &wb);
  if (!s.ok()) return FromStatus(s, "index write");
  return Ok();
}

Result<std::optional<ObjectRecord>> Index::GetObject(const ObjectId& id) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kObjects, id.raw()));
  if (!value) return std::optional<ObjectRecord>();
  ObjectRecord r;
  if (!schema::DecodeObject(*value, &r)) return CorruptRecord("object", id.raw());
  return std::optional<ObjectRecord>(r);
}

Status Index::ForEachObject(const std::function<Status(const ObjectId&, const ObjectRecord&)>& fn) {
  return impl_->Scan(kObjects, "", [&](std::string_view key, std::string_view value) -> Status {
    ObjectRecord r;
    if (key.size() != 16 || !schema::DecodeObject(value, &r)) return CorruptRecord("object", key);
    return fn(ObjectId::FromBytes(key), r);
  });
}

Result<std::optional<LayerRecord>> Index::GetLayer(const Digest& diff_id) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kLayers, diff_id.raw()));
  if (!value) return std::optional<LayerRecord>();
  LayerRecord r;
  if (!schema::DecodeLayer(*value, &r)) return CorruptRecord("layer", diff_id.raw());
  return std::optional<LayerRecord>(r);
}

Status Index::ForEachLayer(const std::function<Status(const Digest&, const LayerRecord&)>& fn) {
  return impl_->Scan(kLayers, "", [&](std::string_view key, std::string_view value) -> Status {
    LayerRecord r;
    if (key.size() != 32 || !schema::DecodeLayer(value, &r)) return CorruptRecord("layer", key);
    return fn(Digest::FromBytes(key), r);
  });
}

Result<std::optional<Entry>> Index::GetEntry(const Digest& diff_id, std::string_view path) {
  std::string key = schema::EntryKey(diff_id, path);
  ASSIGN_OR_RETURN(auto value, impl_->Get(kEntries, key));
  if (!value) return std::optional<Entry>();
  Entry e;
  if (!schema::DecodeEntry(*value, &e)) return CorruptRecord("entry", key);
  return std::optional<Entry>(std::move(e));
}

Status Index::ForEachEntry(const Digest& diff_id,
                           const std::function<Status(const std::string&, const Entry&)>& fn) {
  return impl_->Scan(kEntries, diff_id.raw(),
                     [&](std::string_view key, std::string_view value) -> Status {
                       Entry e;
                       if (!schema::DecodeEntry(value, &e)) return CorruptRecord("entry", key);
                       return fn(schema::PathFromKey(key.substr(32)), e);
                     });
}

Status Index::ForEachTarSplit(const Digest& diff_id,
                              const std::function<Status(std::string_view)>& fn) {
  return impl_->Scan(kTarSplit, diff_id.raw(),
                     [&](std::string_view, std::string_view value) { return fn(value); });
}

Result<std::optional<ChainRecord>> Index::GetChain(const Digest& chain_id) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kChains, chain_id.raw()));
  if (!value) return std::optional<ChainRecord>();
  ChainRecord r;
  if (!schema::DecodeChain(*value, &r)) return CorruptRecord("chain", chain_id.raw());
  return std::optional<ChainRecord>(r);
}

Status Index::ForEachChain(const std::function<Status(const Digest&, const ChainRecord&)>& fn) {
  return impl_->Scan(kChains, "", [&](std::string_view key, std::string_view value) -> Status {
    ChainRecord r;
    if (key.size() != 32 || !schema::DecodeChain(value, &r)) return CorruptRecord("chain", key);
    return fn(Digest::FromBytes(key), r);
  });
}

Result<std::optional<ViewEntry>> Index::LookupView(const Digest& chain_id, std::string_view path) {
  std::string key = schema::ViewKey(chain_id, path);
  ASSIGN_OR_RETURN(auto value, impl_->Get(kViews, key));
  if (!value) return std::optional<ViewEntry>();
  ViewEntry e;
  if (!schema::DecodeViewEntry(*value, &e)) return CorruptRecord("view", key);
  return std::optional<ViewEntry>(std::move(e));
}

Status Index::ListViewDir(const Digest& chain_id, std::string_view dir,
                          const std::function<Status(std::string_view, const ViewEntry&)>& fn) {
  std::string prefix = std::string(chain_id.raw()) + schema::DirPrefix(dir);
  return impl_->Scan(kViews, prefix, [&](std::string_view key, std::string_view value) -> Status {
    ViewEntry e;
    if (!schema::DecodeViewEntry(value, &e)) return CorruptRecord("view", key);
    return fn(key.substr(prefix.size()), e);
  });
}

Status Index::ForEachViewEntry(
    const Digest& chain_id, const std::function<Status(const std::string&, const ViewEntry&)>& fn) {
  return impl_->Scan(kViews, chain_id.raw(),
                     [&](std::string_view key, std::string_view value) -> Status {
                       ViewEntry e;
                       if (!schema::DecodeViewEntry(value, &e)) return CorruptRecord("view", key);
                       return fn(schema::PathFromKey(key.substr(32)), e);
                     });
}

Result<std::optional<ImageRecord>> Index::GetImage(const Digest& id) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kImages, id.raw()));
  if (!value) return std::optional<ImageRecord>();
  ImageRecord r;
  if (!schema::DecodeImage(*value, &r)) return CorruptRecord("image", id.raw());
  return std::optional<ImageRecord>(std::move(r));
}

Status Index::ForEachImage(const std::function<Status(const ImageRecord&)>& fn) {
  return impl_->Scan(kImages, "", [&](std::string_view key, std::string_view value) -> Status {
    ImageRecord r;
    if (!schema::DecodeImage(value, &r)) return CorruptRecord("image", key);
    return fn(r);
  });
}

Result<std::optional<Digest>> Index::GetTag(std::string_view name) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kTags, name));
  if (!value) return std::optional<Digest>();
  if (value->size() != 32) return CorruptRecord("tag", name);
  return std::optional<Digest>(Digest::FromBytes(*value));
}

Status Index::ForEachTag(const std::function<Status(std::string_view, const Digest&)>& fn) {
  return impl_->Scan(kTags, "", [&](std::string_view key, std::string_view value) -> Status {
    if (value.size() != 32) return CorruptRecord("tag", key);
    return fn(key, Digest::FromBytes(value));
  });
}

Result<std::optional<LeaseRecord>> Index::GetLease(std::string_view id) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kLeases, id));
  if (!value) return std::optional<LeaseRecord>();
  LeaseRecord r;
  if (!schema::DecodeLease(*value, &r)) return CorruptRecord("lease", id);
  return std::optional<LeaseRecord>(std::move(r));
}

Status Index::ForEachLease(
    const std::function<Status(std::string_view, const LeaseRecord&)>& fn) {
  return impl_->Scan(kLeases, "", [&](std::string_view key, std::string_view value) -> Status {
    LeaseRecord r;
    if (!schema::DecodeLease(value, &r)) return CorruptRecord("lease", key);
    return fn(key, r);
  });
}

Result<std::optional<Digest>> Index::GetBlob(const Digest& compressed) {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kBlobs, compressed.raw()));
  if (!value) return std::optional<Digest>();
  if (value->size() != 32) return CorruptRecord("blob", compressed.raw());
  return std::optional<Digest>(Digest::FromBytes(*value));
}

Status Index::ForEachBlob(
    const std::function<Status(const Digest& compressed, const Digest& diff_id)>& fn) {
  return impl_->Scan(kBlobs, "", [&](std::string_view key, std::string_view value) -> Status {
    if (key.size() != 32 || value.size() != 32) return CorruptRecord("blob", key);
    return fn(Digest::FromBytes(key), Digest::FromBytes(value));
  });
}

Status Index::ForEachLayerBlob(const Digest& diff_id,
                               const std::function<Status(const LayerBlobRecord&)>& fn) {
  return impl_->Scan(kLayerBlobs, diff_id.raw(),
                     [&](std::string_view key, std::string_view value) -> Status {
                       LayerBlobRecord r;
                       if (key.size() != 64 || !schema::DecodeLayerBlob(value, &r)) {
                         return CorruptRecord("layer blob", key);
                       }
                       r.digest = Digest::FromBytes(key.substr(32));
                       return fn(r);
                     });
}

Result<std::optional<std::string>> Index::GetCron(std::string_view key) {
  return impl_->Get(kCron, key);
}

Status Index::ForEachCron(std::string_view prefix,
                          const std::function<Status(std::string_view, std::string_view)>& fn) {
  return impl_->Scan(kCron, prefix, fn);
}

Status Index::Dump(const std::function<void(std::string_view, std::string_view,
                                            std::string_view)>& fn) {
  for (size_t f = 0; f < kFamilyCount; ++f) {
    RETURN_IF_ERROR(impl_->Scan(static_cast<Family>(f), "",
                                [&](std::string_view key, std::string_view value) {
                                  fn(schema::kAllFamilies[f], key, value);
                                  return Ok();
                                }));
  }
  return Ok();
}

}  // namespace strata::storage
