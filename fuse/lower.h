// Lower: the read-only half of a union root — a chain's merged view.
//
// Lookups are point reads and listings prefix scans of the view the store
// materialized once per chain, so the union never walks layers. Entries and
// attributes never change for the life of a Lower, which is why the kernel
// may cache them.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"
#include "storage/entry.h"

namespace strata::storage {
class Index;
class ObjectStore;
}  // namespace strata::storage

namespace strata::fuse {

using storage::Entry;
using storage::EntryType;
using storage::ViewEntry;

class Lower {
 public:
  virtual ~Lower() = default;
  // The entry at path ("/" is the root), or nullopt.
  virtual Result<std::optional<ViewEntry>> Lookup(const std::string& path) = 0;
  // The children of dir, by name order.
  virtual Status List(const std::string& dir,
                      const std::function<Status(std::string_view name, const ViewEntry&)>& fn) = 0;
  // A read-only fd of a regular file's content (its object file).
  virtual Result<UniqueFd> OpenContent(const Entry& entry) = 0;
  // Every entry, parents first (for hard-link groups and directory copy-up).
  virtual Status ForEach(const std::function<Status(const std::string& path, const ViewEntry&)>& fn) = 0;
};

// The lower of an image or container: the merged view of a chain.
std::unique_ptr<Lower> MakeChainLower(storage::Index& index, const storage::ObjectStore& objects,
                                      const storage::Digest& chain_id);

// An empty lower (a root with only an upper).
std::unique_ptr<Lower> MakeEmptyLower();

}  // namespace strata::fuse
