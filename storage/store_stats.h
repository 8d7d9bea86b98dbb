// StoreStats: counts of the store's imports and exports, bumped by Store as
// each one ends and read by the monitor at scrape time.
//
// Thread safety: relaxed atomics; each counter is monotonic.
#pragma once

#include <atomic>
#include <cstdint>

namespace strata::storage {

struct StoreStats {
  // Image imports (OCI layout, archives, root filesystems) by outcome, and
  // the uncompressed tar bytes read by successful ones.
  std::atomic<uint64_t> imports_succeeded{0};
  std::atomic<uint64_t> imports_failed{0};
  std::atomic<uint64_t> import_bytes{0};
  // Image exports by outcome, and the bytes successful ones wrote.
  std::atomic<uint64_t> exports_succeeded{0};
  std::atomic<uint64_t> exports_failed{0};
  std::atomic<uint64_t> export_bytes{0};
};

}  // namespace strata::storage
