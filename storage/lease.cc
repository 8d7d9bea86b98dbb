#include "storage/lease.h"

#include <unistd.h>

#include <atomic>
#include <ctime>

#include "common/log.h"

namespace strata::storage {

namespace {
std::atomic<uint64_t> g_lease_counter{0};
}  // namespace

Result<std::unique_ptr<Lease>> Lease::Acquire(Index& index, LeaseOptions options) {
  // Unique across processes and restarts: time, pid, a counter.
  std::string id = std::to_string(::time(nullptr)) + "-" + std::to_string(::getpid()) + "-" +
                   std::to_string(g_lease_counter.fetch_add(1));
  LeaseRecord record;
  record.expires = ::time(nullptr) + options.ttl.count();
  record.description = std::move(options.description);
  record.layers = std::move(options.layers);
  record.objects = std::move(options.objects);
  Index::Batch batch;
  batch.PutLease(id, record);
  // Not synced: a lease matters only while its holder runs (a crash ends
  // the work it protects, and an unended lease expires by itself).
  RETURN_IF_ERROR_CTX(index.Write(batch, Index::Sync::kNo), "take a lease");
  return std::unique_ptr<Lease>(new Lease(index, std::move(id)));
}

Lease::~Lease() {
  Index::Batch batch;
  batch.DeleteLease(id_);
  Status st = index_.Write(batch, Index::Sync::kNo);
  if (!st.ok()) LogWarning("lease " + id_ + " stays until it expires: " + st.error().message());
}

}  // namespace strata::storage
