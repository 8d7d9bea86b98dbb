#include "monitor/fuse_collector.h"

#include <cstring>
#include <limits>
#include <string>

#include "monitor/family.h"

namespace strata::monitor {

namespace {

double Load(const std::atomic<uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

std::string ErrnoName(int err) {
  if (err >= fuse::FuseStats::kMaxErrno) return "other";
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

}  // namespace

std::vector<prometheus::MetricFamily> FuseCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto ops = Family::Counter("strata_fuse_operations_total", "FUSE requests served, by operation");
  auto errors = Family::Counter("strata_fuse_errors_total",
                                "FUSE requests answered with an error, by operation and errno");
  auto latency =
      Family("strata_fuse_operation_duration_seconds", "Time to serve a FUSE request, by operation",
             prometheus::MetricType::Histogram);
  for (size_t i = 0; i < fuse::kFuseOpCount; ++i) {
    auto op = static_cast<fuse::FuseOp>(i);
    const auto& s = stats_.op(op);
    std::string name(fuse::FuseOpName(op));
    uint64_t count = 0;
    prometheus::ClientMetric h;
    h.label = {{"op", name}};
    // Cumulative buckets from the per-bucket counts; the count is their
    // sum, so the histogram is consistent within itself.
    for (size_t b = 0; b < fuse::FuseStats::kBuckets; ++b) {
      count += s.buckets[b].load(std::memory_order_relaxed);
      double bound = b < fuse::FuseStats::kLatencyBounds.size()
                         ? fuse::FuseStats::kLatencyBounds[b]
                         : std::numeric_limits<double>::infinity();
      h.histogram.bucket.push_back({count, bound});
    }
    h.histogram.sample_count = count;
    h.histogram.sample_sum = Load(s.latency_ns) * 1e-9;
    ops.Add({{"op", name}}, Load(s.count));
    if (count > 0) latency.AddMetric(std::move(h));
    for (int e = 1; e <= fuse::FuseStats::kMaxErrno; ++e) {
      uint64_t n = s.errors[static_cast<size_t>(e)].load(std::memory_order_relaxed);
      if (n > 0) errors.Add({{"op", name}, {"errno", ErrnoName(e)}}, static_cast<double>(n));
    }
  }
  ops.MoveTo(out);
  errors.MoveTo(out);
  latency.MoveTo(out);
  Family::Counter("strata_fuse_read_bytes_total", "Bytes requested by FUSE reads")
      .Add({}, Load(stats_.bytes_read))
      .MoveTo(out);
  Family::Counter("strata_fuse_written_bytes_total", "Bytes written through FUSE")
      .Add({}, Load(stats_.bytes_written))
      .MoveTo(out);
  Family::Counter("strata_fuse_copy_ups_total",
                  "Entries copied up from an image's layers into a container's writable layer")
      .Add({}, Load(stats_.copy_ups))
      .MoveTo(out);
  Family::Counter("strata_fuse_copy_up_bytes_total", "Content bytes copied up")
      .Add({}, Load(stats_.copy_up_bytes))
      .MoveTo(out);
  Family::Counter("strata_fuse_io_uring_requests_total",
                  "FUSE requests served over io_uring queues (0: the session uses /dev/fuse)")
      .Add({}, Load(stats_.uring_requests))
      .MoveTo(out);
  return out;
}

}  // namespace strata::monitor
