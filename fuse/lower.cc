#include "fuse/lower.h"

#include <fcntl.h>

#include "storage/index.h"
#include "storage/object_store.h"

namespace strata::fuse {

namespace {

class ChainLower : public Lower {
 public:
  ChainLower(storage::Index& index, const storage::ObjectStore& objects,
             const storage::Digest& chain)
      : index_(index), objects_(objects), chain_(chain) {}

  Result<std::optional<ViewEntry>> Lookup(const std::string& path) override {
    return index_.LookupView(chain_, path);
  }
  Status List(const std::string& dir,
              const std::function<Status(std::string_view, const ViewEntry&)>& fn) override {
    return index_.ListViewDir(chain_, dir, fn);
  }
  Result<UniqueFd> OpenContent(const Entry& entry) override {
    if (!entry.has_object()) {
      // Empty files have no object; /dev/null reads as empty.
      return OpenFileNoFollow("/dev/null");
    }
    return objects_.OpenObject(entry.object);
  }
  Status ForEach(const std::function<Status(const std::string&, const ViewEntry&)>& fn) override {
    return index_.ForEachViewEntry(chain_, fn);
  }

 private:
  static Result<UniqueFd> OpenFileNoFollow(const char* path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno(std::string("open ") + path);
    return UniqueFd(fd);
  }
  storage::Index& index_;
  const storage::ObjectStore& objects_;
  storage::Digest chain_;
};

class EmptyLower : public Lower {
 public:
  Result<std::optional<ViewEntry>> Lookup(const std::string&) override {
    return std::optional<ViewEntry>();
  }
  Status List(const std::string&, const std::function<Status(std::string_view, const ViewEntry&)>&) override {
    return Ok();
  }
  Result<UniqueFd> OpenContent(const Entry&) override { return Error(ENOENT, "empty lower"); }
  Status ForEach(const std::function<Status(const std::string&, const ViewEntry&)>&) override {
    return Ok();
  }
};

}  // namespace

std::unique_ptr<Lower> MakeChainLower(storage::Index& index, const storage::ObjectStore& objects,
                                      const storage::Digest& chain_id) {
  return std::make_unique<ChainLower>(index, objects, chain_id);
}

std::unique_ptr<Lower> MakeEmptyLower() { return std::make_unique<EmptyLower>(); }

}  // namespace strata::fuse
