// ObjectStore: file contents, stored once, named by XXH3-128.
//
// Layout: objects/<2 hex>/<30 hex>, mode 0444, never modified once renamed
// into place. A writer stages content in tmp/ (same filesystem), hashes it,
// and renames it in. If a file of that name already exists, its size and
// content are compared with the new data: equal is a dedup hit; different is
// refused as a collision when the index names the object (so a crafted
// collision cannot replace another image's file), and replaced when it does
// not (debris of a crashed import, never trusted).
//
// Durability: objects are not fsynced one by one; callers call Sync() (one
// syncfs) before writing the index records that name them. To keep that
// syncfs short, a background thread starts the writeback early: once enough
// objects were created since its last pass (kWritebackFiles files or
// kWritebackBytes bytes) it calls syncfs itself, so the kernel writes the
// files back while the import goes on and Sync() finds little left to do.
// That pass is an optimization only: durability comes from Sync().
//
// In-flight objects: an object created by an import that has not committed
// yet is "pending"; Discard() removes only the pending objects no other
// import holds and the index does not name, so a failed import leaves no
// files behind without touching anyone else's.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "storage/digest.h"

namespace strata::storage {

struct ObjectStoreOptions {
  std::string objects_dir;  // <root>/objects
  std::string tmp_dir;      // <root>/tmp, same filesystem
  // Whether the index names the object (makes an existing file trusted).
  std::function<Result<bool>(const ObjectId&)> is_recorded;
};

class ObjectStore {
 public:
  static Result<std::unique_ptr<ObjectStore>> Open(ObjectStoreOptions options);
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // The background writeback's thresholds (see above).
  static constexpr uint64_t kWritebackFiles = 1000;
  static constexpr uint64_t kWritebackBytes = 32 << 20;

  // The outcome of a Put.
  struct PutResult {
    ObjectId id;
    uint64_t size = 0;
    bool created = false;  // a new file (pending until Release/Discard)
  };

  // Streams one file's content into the store. Small contents are kept in
  // memory; larger ones are staged in tmp/ as they arrive.
  class Writer {
   public:
    ~Writer();
    Writer(Writer&&) noexcept;
    Status Append(std::string_view data);
    // Hashes, dedups or renames into place; the Writer is spent afterwards.
    Result<PutResult> Commit();

   private:
    friend class ObjectStore;
    Writer(ObjectStore* store, uint64_t size_hint);
    Status Spill();
    ObjectStore* store_;
    std::string buffer_;
    UniqueFd tmp_fd_;
    std::string tmp_path_;
    ObjectHasher hasher_;
    uint64_t size_ = 0;
    bool spill_at_once_ = false;  // a large content: no buffering
  };

  // size_hint: the content's size when known (a tar header's), so that a
  // small content is buffered without reallocations and a large one goes
  // straight to its file in tmp/.
  Writer NewWriter(uint64_t size_hint = 0) { return Writer(this, size_hint); }
  Result<PutResult> Put(std::string_view data);

  std::string PathOf(const ObjectId& id) const;
  Result<UniqueFd> OpenObject(const ObjectId& id) const;
  bool Exists(const ObjectId& id) const;

  // Ends the pending state of objects whose index records are now written.
  void Release(const std::vector<ObjectId>& ids);
  // Removes created objects of a failed import (see above), ending their
  // pending state.
  void Discard(const std::vector<ObjectId>& ids);
  // Removes an object file (GC); refuses pending objects with EBUSY.
  Status Remove(const ObjectId& id);
  // Removes many object files (GC), skipping pending ones, with up to
  // `threads` workers (one shard directory each at a time): on a cold cache
  // the unlinks wait on I/O, and concurrent ones overlap their waits. Holds
  // the store's lock throughout, so no Put interleaves. Returns how many
  // files were removed; the first error other than ENOENT, if any, after
  // trying them all.
  Result<size_t> RemoveMany(const std::vector<ObjectId>& ids, unsigned threads);

  // Makes every object written so far durable (syncfs on the store's fs).
  Status Sync();
  // Background writeback passes started so far (tests).
  uint64_t writeback_passes() const { return writeback_passes_.load(); }

  const std::string& objects_dir() const { return options_.objects_dir; }

 private:
  explicit ObjectStore(ObjectStoreOptions options, UniqueFd dir_fd)
      : options_(std::move(options)), dir_fd_(std::move(dir_fd)) {}
  Result<PutResult> Install(const ObjectId& id, uint64_t size, std::string_view data,
                            const std::string& tmp_path);
  // Counts a created object; past a threshold, wakes the writeback thread.
  void NoteCreated(uint64_t size);
  void WritebackLoop();

  ObjectStoreOptions options_;
  UniqueFd dir_fd_;
  std::mutex mu_;
  std::map<ObjectId, int> pending_;  // guarded by mu_

  std::mutex wb_mu_;
  std::condition_variable wb_cv_;
  std::thread wb_thread_;         // started at the first pass
  bool wb_wanted_ = false;        // guarded by wb_mu_
  bool wb_stop_ = false;          // guarded by wb_mu_
  uint64_t wb_files_ = 0;         // guarded by wb_mu_: created since the last pass
  uint64_t wb_bytes_ = 0;         // guarded by wb_mu_
  std::atomic<uint64_t> writeback_passes_{0};
};

}  // namespace strata::storage
