#include "fuse/fuse_stats.h"

namespace strata::fuse {

std::string_view FuseOpName(FuseOp op) {
  static constexpr std::array<std::string_view, kFuseOpCount> kNames = {
      "lookup",         "getattr",   "setattr",     "readlink",   "mknod",     "mkdir",
      "symlink",        "link",      "unlink",      "rmdir",      "rename",    "open",
      "create",         "read",      "write",       "flush",      "release",   "fsync",
      "opendir",        "readdir",   "readdirplus", "releasedir", "statfs",    "setxattr",
      "getxattr",       "listxattr", "removexattr", "access",     "fallocate", "lseek",
      "copy_file_range"};
  size_t i = static_cast<size_t>(op);
  return i < kNames.size() ? kNames[i] : "unknown";
}

void FuseStats::Count(FuseOp o, uint64_t latency_ns) {
  Op& s = op(o);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.latency_ns.fetch_add(latency_ns, std::memory_order_relaxed);
  double seconds = static_cast<double>(latency_ns) * 1e-9;
  size_t b = 0;
  while (b < kLatencyBounds.size() && seconds > kLatencyBounds[b]) ++b;
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
}

void FuseStats::CountError(FuseOp o, int err) {
  if (err <= 0) return;
  if (err > kMaxErrno) err = kMaxErrno;
  op(o).errors[static_cast<size_t>(err)].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace strata::fuse
