// Lease: a time-bounded GC root held by work in progress (an import, a
// commit, a pull). The record is in the index (`leases`), so a GC in any
// process sees it; its expiry ends it even when its holder crashed and never
// removed it. While a lease is unexpired, GC keeps the layers and objects it
// names (and everything reachable from those layers).
//
// Lifecycle: Acquire() writes the record; the destructor removes it (best
// effort: a failure leaves a record that expires by itself).
// Thread safety: a Lease is used by one thread; different leases are
// independent.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/index.h"

namespace strata::storage {

struct LeaseOptions {
  std::string description;  // "import /path", "commit web" (shown by fsck/gc)
  std::chrono::seconds ttl{std::chrono::hours(1)};
  std::vector<Digest> layers;
  std::vector<ObjectId> objects;
};

class Lease {
 public:
  static Result<std::unique_ptr<Lease>> Acquire(Index& index, LeaseOptions options);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  const std::string& id() const { return id_; }

 private:
  Lease(Index& index, std::string id) : index_(index), id_(std::move(id)) {}
  Index& index_;
  std::string id_;
};

}  // namespace strata::storage
