#include "storage/object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "common/fs.h"

namespace strata::storage {

namespace {

// Contents up to this size are hashed in memory and written once.
constexpr size_t kInlineLimit = 1 << 20;

std::atomic<uint64_t> g_tmp_counter{0};

std::string TmpName(const std::string& tmp_dir) {
  return tmp_dir + "/obj." + std::to_string(::getpid()) + "." +
         std::to_string(g_tmp_counter.fetch_add(1));
}

// Compares the file at path with the expected size and content (given in
// memory or as another file).
Result<bool> SameContent(const std::string& path, uint64_t size, std::string_view data,
                         const std::string& other_path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::FromErrno("stat " + path);
  if (static_cast<uint64_t>(st.st_size) != size) return false;
  UniqueFd other;
  if (!other_path.empty()) {
    ASSIGN_OR_RETURN(other, OpenFile(other_path, O_RDONLY));
  }
  std::string a(1 << 16, '\0'), b(1 << 16, '\0');
  uint64_t offset = 0;
  while (offset < size) {
    ASSIGN_OR_RETURN(size_t got, ReadFull(fd.get(), a.data(), a.size()));
    if (got == 0) return false;
    std::string_view expect;
    if (other.valid()) {
      ASSIGN_OR_RETURN(size_t got_b, ReadFull(other.get(), b.data(), got));
      if (got_b != got) return false;
      expect = {b.data(), got};
    } else {
      expect = data.substr(offset, got);
    }
    if (std::memcmp(a.data(), expect.data(), got) != 0) return false;
    offset += got;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(ObjectStoreOptions options) {
  RETURN_IF_ERROR(MakeDirs(options.objects_dir));
  RETURN_IF_ERROR(MakeDirs(options.tmp_dir));
  ASSIGN_OR_RETURN(UniqueFd dir, OpenFile(options.objects_dir, O_RDONLY | O_DIRECTORY));
  return std::unique_ptr<ObjectStore>(new ObjectStore(std::move(options), std::move(dir)));
}

ObjectStore::~ObjectStore() {
  {
    std::lock_guard lock(wb_mu_);
    wb_stop_ = true;
  }
  wb_cv_.notify_all();
  if (wb_thread_.joinable()) wb_thread_.join();
}

void ObjectStore::NoteCreated(uint64_t size) {
  std::lock_guard lock(wb_mu_);
  wb_files_ += 1;
  wb_bytes_ += size;
  if (wb_files_ < kWritebackFiles && wb_bytes_ < kWritebackBytes) return;
  wb_files_ = 0;
  wb_bytes_ = 0;
  wb_wanted_ = true;
  if (!wb_thread_.joinable()) {
    wb_thread_ = std::thread([this] { WritebackLoop(); });
  } else {
    wb_cv_.notify_one();
  }
}

void ObjectStore::WritebackLoop() {
  std::unique_lock lock(wb_mu_);
  for (;;) {
    wb_cv_.wait(lock, [&] { return wb_wanted_ || wb_stop_; });
    if (wb_stop_) return;
    wb_wanted_ = false;
    lock.unlock();
    // Starts (and waits for) the writeback of what is dirty now; an error
    // here is Sync()'s to report.
    (void)::syncfs(dir_fd_.get());
    writeback_passes_.fetch_add(1);
    lock.lock();
  }
}

std::string ObjectStore::PathOf(const ObjectId& id) const {
  std::string hex = id.hex();
  return options_.objects_dir + "/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

Result<UniqueFd> ObjectStore::OpenObject(const ObjectId& id) const {
  return OpenFile(PathOf(id), O_RDONLY);
}

bool ObjectStore::Exists(const ObjectId& id) const { return PathExists(PathOf(id)); }

ObjectStore::Writer::Writer(ObjectStore* store, uint64_t size_hint) : store_(store) {
  if (size_hint > 0 && size_hint <= kInlineLimit) buffer_.reserve(size_hint);
  spill_at_once_ = size_hint > kInlineLimit;
}

ObjectStore::Writer::Writer(Writer&& o) noexcept
    : store_(o.store_),
      buffer_(std::move(o.buffer_)),
      tmp_fd_(std::move(o.tmp_fd_)),
      tmp_path_(std::move(o.tmp_path_)),
      size_(o.size_),
      spill_at_once_(o.spill_at_once_) {
  // The hasher state cannot move; a Writer is only moved before any Append.
  o.tmp_path_.clear();
}

ObjectStore::Writer::~Writer() {
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

Status ObjectStore::Writer::Spill() {
  tmp_path_ = TmpName(store_->options_.tmp_dir);
  ASSIGN_OR_RETURN(tmp_fd_, OpenFile(tmp_path_, O_WRONLY | O_CREAT | O_EXCL, 0444));
  RETURN_IF_ERROR_CTX(WriteAll(tmp_fd_.get(), buffer_), tmp_path_);
  buffer_.clear();
  buffer_.shrink_to_fit();
  return Ok();
}

Status ObjectStore::Writer::Append(std::string_view data) {
  hasher_.Update(data);
  size_ += data.size();
  if (!tmp_fd_.valid()) {
    if (spill_at_once_) RETURN_IF_ERROR(Spill());
  }
  if (!tmp_fd_.valid()) {
    buffer_.append(data);
    if (buffer_.size() > kInlineLimit) return Spill();
    return Ok();
  }
  return WriteAll(tmp_fd_.get(), data);
}

Result<ObjectStore::PutResult> ObjectStore::Writer::Commit() {
  ObjectId id = hasher_.Finish();
  if (!tmp_fd_.valid()) return store_->Install(id, size_, buffer_, "");
  tmp_fd_.reset();
  auto result = store_->Install(id, size_, {}, tmp_path_);
  return result;
}

Result<ObjectStore::PutResult> ObjectStore::Put(std::string_view data) {
  Writer w(this, data.size());
  RETURN_IF_ERROR(w.Append(data));
  return w.Commit();
}

// Puts content (in memory: data; staged: tmp_path) in place under id.
Result<ObjectStore::PutResult> ObjectStore::Install(const ObjectId& id, uint64_t size,
                                                    std::string_view data,
                                                    const std::string& tmp_path) {
  const std::string path = PathOf(id);
  PutResult result{id, size, false};

  std::unique_lock lock(mu_);
  if (PathExists(path)) {
    ASSIGN_OR_RETURN(bool same, SameContent(path, size, data, tmp_path));
    if (same) {
      // A dedup hit. If another import created it and has not committed, we
      // share its pending state so its failure cannot delete our content.
      auto it = pending_.find(id);
      if (it != pending_.end()) {
        ++it->second;
        result.created = true;
      }
      return result;
    }
    if (pending_.count(id) != 0) {
      return Error(EEXIST, "object " + id.hex() + " collides with content being imported");
    }
    ASSIGN_OR_RETURN(bool recorded, options_.is_recorded(id));
    if (recorded) {
      return Error(EEXIST, "object " + id.hex() +
                               " exists with different content (hash collision); refusing");
    }
    // An unrecorded file is debris of a crashed import: replace it below.
  }

  std::string staged = tmp_path;
  if (staged.empty()) {
    staged = TmpName(options_.tmp_dir);
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(staged, O_WRONLY | O_CREAT | O_EXCL, 0444));
    Status st = WriteAll(fd.get(), data);
    if (!st.ok()) {
      ::unlink(staged.c_str());
      return std::move(st).error().Context(staged);
    }
  }
  // The shard directory is made when a rename finds it missing (once per
  // shard, or again after a Discard removed it), not tried per object.
  int renamed = ::rename(staged.c_str(), path.c_str());
  if (renamed != 0 && errno == ENOENT) {
    std::string dir = path.substr(0, path.rfind('/'));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      Error err = Error::FromErrno("mkdir " + dir);
      ::unlink(staged.c_str());
      return err;
    }
    renamed = ::rename(staged.c_str(), path.c_str());
  }
  if (renamed != 0) {
    Error err = Error::FromErrno("rename object into " + path);
    ::unlink(staged.c_str());
    return err;
  }
  pending_[id] += 1;
  result.created = true;
  lock.unlock();
  NoteCreated(size);
  return result;
}

void ObjectStore::Release(const std::vector<ObjectId>& ids) {
  std::lock_guard lock(mu_);
  for (const auto& id : ids) {
    auto it = pending_.find(id);
    if (it != pending_.end() && --it->second <= 0) pending_.erase(it);
  }
}

void ObjectStore::Discard(const std::vector<ObjectId>& ids) {
  std::lock_guard lock(mu_);
  for (const auto& id : ids) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    if (--it->second > 0) continue;
    pending_.erase(it);
    auto recorded = options_.is_recorded(id);
    if (recorded.ok() && !*recorded) {
      std::string path = PathOf(id);
      ::unlink(path.c_str());
      // Leave the shard directory in place unless it is now empty.
      ::rmdir(path.substr(0, path.rfind('/')).c_str());
    }
  }
}

Status ObjectStore::Remove(const ObjectId& id) {
  std::lock_guard lock(mu_);
  if (pending_.count(id) != 0) return Error(EBUSY, "object " + id.hex() + " is being imported");
  std::string path = PathOf(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::FromErrno("unlink " + path);
  return Ok();
}

Result<size_t> ObjectStore::RemoveMany(const std::vector<ObjectId>& ids, unsigned threads) {
  std::lock_guard lock(mu_);
  // By shard directory, in the caller's order within each.
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const ObjectId& id : ids) {
    if (pending_.count(id) != 0) continue;
    std::string hex = id.hex();
    by_shard[hex.substr(0, 2)].push_back(hex.substr(2));
  }
  std::vector<const std::pair<const std::string, std::vector<std::string>>*> shards;
  for (const auto& entry : by_shard) shards.push_back(&entry);
  std::atomic<size_t> next{0}, removed{0};
  std::mutex error_mu;
  Status first_error = Ok();
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < shards.size();) {
      const auto& [shard, names] = *shards[i];
      UniqueFd dir(::openat(dir_fd_.get(), shard.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!dir.valid()) {
        if (errno == ENOENT) continue;
        std::lock_guard el(error_mu);
        if (first_error.ok()) first_error = Error::FromErrno("open objects/" + shard);
        continue;
      }
      for (const std::string& name : names) {
        if (::unlinkat(dir.get(), name.c_str(), 0) == 0) {
          removed.fetch_add(1, std::memory_order_relaxed);
        } else if (errno != ENOENT) {
          std::lock_guard el(error_mu);
          if (first_error.ok())
            first_error = Error::FromErrno("unlink objects/" + shard + "/" + name);
        }
      }
    }
  };
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(shards.size())));
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
  RETURN_IF_ERROR(first_error);
  return removed.load();
}

Status ObjectStore::Sync() {
  if (::syncfs(dir_fd_.get()) != 0) return Error::FromErrno("syncfs " + options_.objects_dir);
  return Ok();
}

}  // namespace strata::storage
