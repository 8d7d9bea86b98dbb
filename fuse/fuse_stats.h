// FuseStats: what the FUSE session counts as it serves, for the monitor to
// read at scrape time.
//
// Every field is a relaxed atomic: the op adapters bump them (a few
// increments and two clock reads per request) and never take a lock for
// them; readers see each counter monotonic, not a snapshot of all of them.
// Latencies go into a fixed set of buckets (kLatencyBounds), counted per
// bucket (not cumulative), with their sum in nanoseconds.
//
// Thread safety: every member may be used from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace strata::fuse {

// The operations of the session, one counter set each.
enum class FuseOp : uint8_t {
  kLookup,
  kGetattr,
  kSetattr,
  kReadlink,
  kMknod,
  kMkdir,
  kSymlink,
  kLink,
  kUnlink,
  kRmdir,
  kRename,
  kOpen,
  kCreate,
  kRead,
  kWrite,
  kFlush,
  kRelease,
  kFsync,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kReleasedir,
  kStatfs,
  kSetxattr,
  kGetxattr,
  kListxattr,
  kRemovexattr,
  kAccess,
  kFallocate,
  kLseek,
  kCopyFileRange,
  kCount,  // not an op: the number of ops
};

constexpr size_t kFuseOpCount = static_cast<size_t>(FuseOp::kCount);

// The op's name as the monitor labels it ("lookup", "copy_file_range").
std::string_view FuseOpName(FuseOp op);

struct FuseStats {
  // Upper bounds of the latency buckets, in seconds; a last, implicit
  // bucket takes everything slower (+Inf).
  static constexpr std::array<double, 14> kLatencyBounds = {10e-6,  25e-6,  50e-6,  100e-6, 250e-6,
                                                            500e-6, 1e-3,   2.5e-3, 5e-3,   10e-3,
                                                            25e-3,  100e-3, 250e-3, 1.0};
  static constexpr size_t kBuckets = kLatencyBounds.size() + 1;
  // Errors are kept by errno below this; larger ones count as kMaxErrno.
  static constexpr int kMaxErrno = 134;

  struct Op {
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> latency_ns{0};
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
    std::array<std::atomic<uint64_t>, kMaxErrno + 1> errors{};
  };

  std::array<Op, kFuseOpCount> ops{};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<uint64_t> bytes_written{0};
  // Entries copied up from the lower into an upper, and their content bytes.
  std::atomic<uint64_t> copy_ups{0};
  std::atomic<uint64_t> copy_up_bytes{0};
  // Requests served over io_uring (uring_channel.h); 0 on /dev/fuse.
  std::atomic<uint64_t> uring_requests{0};

  Op& op(FuseOp o) { return ops[static_cast<size_t>(o)]; }
  const Op& op(FuseOp o) const { return ops[static_cast<size_t>(o)]; }

  void Count(FuseOp o, uint64_t latency_ns);
  void CountError(FuseOp o, int err);
};

}  // namespace strata::fuse
