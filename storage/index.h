// Index: what strata knows about its store, kept in RocksDB.
//
// It says what is stored (objects, layers and their entries, tar-split
// records, chains and their merged views, images, tags, leases), not how
// RocksDB stores it; the encodings are in schema.h.
//
// Lifecycle: Open() once per process. Only one process may open a store
// read-write (RocksDB's LOCK); a second Open fails with EBUSY.
// Thread safety: all methods may be called concurrently.
// Atomicity: writes that belong together go in one Batch and Write(batch)
// makes them visible entirely or not at all, durably (WAL synced).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/entry.h"

namespace strata::storage {

struct IndexOptions {
  std::string path;          // the db/ directory
  bool read_only = false;    // open without the write lock (for inspection)
  bool create_if_missing = true;
};

class Index {
 public:
  // A set of writes applied atomically by Index::Write.
  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) noexcept;

    void PutObject(const ObjectId& id, const ObjectRecord& r);
    void DeleteObject(const ObjectId& id);
    void PutLayer(const Digest& diff_id, const LayerRecord& r);
    void DeleteLayer(const Digest& diff_id);  // with its entries, tar-split and layer blob records
    void PutEntry(const Digest& diff_id, std::string_view path, const Entry& e);
    void PutTarSplit(const Digest& diff_id, uint64_t seq, std::string_view chunk);
    void PutChain(const Digest& chain_id, const ChainRecord& r);
    void DeleteChain(const Digest& chain_id);  // with its view
    void PutViewEntry(const Digest& chain_id, std::string_view path, const ViewEntry& e);
    void PutImage(const ImageRecord& r);
    void DeleteImage(const Digest& id);
    void PutTag(std::string_view name, const Digest& image);
    void DeleteTag(std::string_view name);
    void PutLease(std::string_view id, const LeaseRecord& r);
    void DeleteLease(std::string_view id);
    void PutBlob(const Digest& compressed, const Digest& diff_id);
    void DeleteBlob(const Digest& compressed);
    void PutLayerBlob(const Digest& diff_id, const LayerBlobRecord& r);
    // Opaque records of the runtime's scheduled jobs (schema::kCron).
    void PutCron(std::string_view key, std::string_view value);
    void DeleteCron(std::string_view key);
    void DeleteCronPrefix(std::string_view prefix);  // every key starting with prefix

    size_t count() const;
    // Moves other's writes after this batch's (other is left empty): parts
    // of one batch built on several threads.
    void Append(Batch&& other);

   private:
    friend class Index;
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };

  static Result<std::unique_ptr<Index>> Open(const IndexOptions& options);
  ~Index();

  // Writes the batch atomically (synced). It consumes the batch: each op's
  // bytes are freed once copied into RocksDB's batch, so a huge layer's
  // records are not held twice at the peak.
  // Sync::kNo skips the WAL's fdatasync: the write is visible at once and
  // atomic, but a crash (of the machine, not the process) may lose it. Only
  // for records whose loss is harmless: leases (they end by themselves) and
  // caches (the compressed digests remembered for pushes).
  enum class Sync { kYes, kNo };
  Status Write(Batch& batch, Sync sync = Sync::kYes);

  Result<std::optional<ObjectRecord>> GetObject(const ObjectId& id);
  Status ForEachObject(const std::function<Status(const ObjectId&, const ObjectRecord&)>& fn);

  Result<std::optional<LayerRecord>> GetLayer(const Digest& diff_id);
  Status ForEachLayer(const std::function<Status(const Digest&, const LayerRecord&)>& fn);
  Result<std::optional<Entry>> GetEntry(const Digest& diff_id, std::string_view path);
  // Every entry of a layer, parents before children.
  Status ForEachEntry(const Digest& diff_id,
                      const std::function<Status(const std::string& path, const Entry&)>& fn);
  // The layer's tar-split chunks in order.
  Status ForEachTarSplit(const Digest& diff_id,
                         const std::function<Status(std::string_view chunk)>& fn);

  Result<std::optional<ChainRecord>> GetChain(const Digest& chain_id);
  Status ForEachChain(const std::function<Status(const Digest&, const ChainRecord&)>& fn);
  Result<std::optional<ViewEntry>> LookupView(const Digest& chain_id, std::string_view path);
  // The children of dir in the view, by name order.
  Status ListViewDir(const Digest& chain_id, std::string_view dir,
                     const std::function<Status(std::string_view name, const ViewEntry&)>& fn);
  // Every entry of the view, parents before children.
  Status ForEachViewEntry(const Digest& chain_id,
                          const std::function<Status(const std::string& path, const ViewEntry&)>& fn);

  Result<std::optional<ImageRecord>> GetImage(const Digest& id);
  Status ForEachImage(const std::function<Status(const ImageRecord&)>& fn);
  Result<std::optional<Digest>> GetTag(std::string_view name);
  Status ForEachTag(const std::function<Status(std::string_view name, const Digest&)>& fn);

  Result<std::optional<LeaseRecord>> GetLease(std::string_view id);
  Status ForEachLease(const std::function<Status(std::string_view id, const LeaseRecord&)>& fn);
  Result<std::optional<Digest>> GetBlob(const Digest& compressed);
  Status ForEachBlob(const std::function<Status(const Digest& compressed, const Digest& diff_id)>& fn);
  // The compressed forms of a layer that registries are known to hold.
  Status ForEachLayerBlob(const Digest& diff_id,
                          const std::function<Status(const LayerBlobRecord&)>& fn);
  // The runtime's scheduled-job records, as it wrote them.
  Result<std::optional<std::string>> GetCron(std::string_view key);
  // Every record whose key starts with prefix, in key order.
  Status ForEachCron(std::string_view prefix,
                     const std::function<Status(std::string_view key, std::string_view value)>& fn);

  // Every key and value of every column family, in order; for tests and fsck
  // ("the store is byte-for-byte unchanged").
  Status Dump(const std::function<void(std::string_view family, std::string_view key,
                                       std::string_view value)>& fn);

 private:
  struct Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::storage
