#include "monitor/store_collector.h"

#include "common/log.h"
#include "monitor/family.h"

namespace strata::monitor {

Result<StoreCollector::Counts> StoreCollector::Count() const {
  Counts c;
  storage::Index& index = store_.index();
  RETURN_IF_ERROR(
      index.ForEachObject([&](const storage::ObjectId&, const storage::ObjectRecord& r) {
        ++c.objects;
        c.object_bytes += r.size;
        return Ok();
      }));
  RETURN_IF_ERROR(index.ForEachLayer([&](const storage::Digest&, const storage::LayerRecord&) {
    ++c.layers;
    return Ok();
  }));
  RETURN_IF_ERROR(index.ForEachChain([&](const storage::Digest&, const storage::ChainRecord&) {
    ++c.chains;
    return Ok();
  }));
  RETURN_IF_ERROR(index.ForEachImage([&](const storage::ImageRecord& r) {
    ++c.images;
    c.logical_bytes += r.size;
    return Ok();
  }));
  RETURN_IF_ERROR(index.ForEachTag([&](std::string_view, const storage::Digest&) {
    ++c.tags;
    return Ok();
  }));
  return c;
}

std::vector<prometheus::MetricFamily> StoreCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::optional<Counts> counts;
  {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (!have_ || now - taken_ >= refresh_) {
      auto c = Count();
      if (c.ok()) {
        counts_ = *c;
        taken_ = now;
        have_ = true;
      } else {
        LogWarning("metrics: counting the store: " + c.error().message());
      }
    }
    if (have_) counts = counts_;
  }
  if (counts) {
    auto gauge = [&](const char* name, const char* help, uint64_t v) {
      Family::Gauge(name, help).Add({}, static_cast<double>(v)).MoveTo(out);
    };
    gauge("strata_store_objects", "Object files in the store", counts->objects);
    gauge("strata_store_object_bytes", "Bytes of the store's objects (what it holds)",
          counts->object_bytes);
    gauge("strata_store_logical_bytes",
          "Bytes the images' files would take without sharing (sum of image sizes)",
          counts->logical_bytes);
    gauge("strata_store_layers", "Layers in the store", counts->layers);
    gauge("strata_store_chains", "Chains (stacks of layers) in the store", counts->chains);
    gauge("strata_store_images", "Images in the store", counts->images);
    gauge("strata_store_tags", "Tags in the store", counts->tags);
  }
  const storage::StoreStats& s = store_.stats();
  auto load = [](const std::atomic<uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
  };
  Family::Counter("strata_store_imports_total", "Image imports by result")
      .Add({{"result", "succeeded"}}, load(s.imports_succeeded))
      .Add({{"result", "failed"}}, load(s.imports_failed))
      .MoveTo(out);
  Family::Counter("strata_store_import_bytes_total",
                  "Uncompressed tar bytes read by successful imports")
      .Add({}, load(s.import_bytes))
      .MoveTo(out);
  Family::Counter("strata_store_exports_total", "Image exports by result")
      .Add({{"result", "succeeded"}}, load(s.exports_succeeded))
      .Add({{"result", "failed"}}, load(s.exports_failed))
      .MoveTo(out);
  Family::Counter("strata_store_export_bytes_total", "Bytes written by successful exports")
      .Add({}, load(s.export_bytes))
      .MoveTo(out);
  return out;
}

}  // namespace strata::monitor
