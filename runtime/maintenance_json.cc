#include "runtime/maintenance_json.h"

#include <boost/json.hpp>

namespace strata::runtime {
namespace json = boost::json;

json::object GcReportToJson(const storage::GcReport& r) {
  json::array items;
  for (const auto& i : r.items) {
    items.push_back(json::object{{"kind", i.kind}, {"name", i.name}, {"bytes", i.bytes}});
  }
  return json::object{
      {"dry_run", r.dry_run},
      {"objects", r.objects},
      {"object_bytes", r.object_bytes},
      {"objects_kept", r.objects_kept},
      {"layers", r.layers},
      {"chains", r.chains},
      {"blobs", r.blobs},
      {"blob_bytes", r.blob_bytes},
      {"tmp_entries", r.tmp_entries},
      {"tmp_bytes", r.tmp_bytes},
      {"container_dirs", r.container_dirs},
      {"container_bytes", r.container_bytes},
      {"leases_expired", r.leases_expired},
      {"leases_kept", r.leases_kept},
      {"bytes_reclaimed", r.bytes_reclaimed},
      {"seconds", r.seconds},
      {"gate_seconds", r.gate_seconds},
      {"mark_seconds", r.mark_seconds},
      {"walk_seconds", r.walk_seconds},
      {"index_seconds", r.index_seconds},
      {"files_seconds", r.files_seconds},
      {"items", std::move(items)},
  };
}

json::object FsckReportToJson(const storage::FsckReport& r) {
  json::array problems;
  for (const auto& p : r.problems) {
    problems.push_back(json::object{{"kind", p.kind}, {"what", p.what}, {"repaired", p.repaired}});
  }
  json::array orphans, hurt;
  for (const auto& o : r.orphans) orphans.emplace_back(o);
  for (const auto& h : r.images_hurt) hurt.emplace_back(h);
  return json::object{
      {"clean", r.clean()},
      {"repaired", !r.clean() && r.repaired()},
      {"objects_checked", r.objects_checked},
      {"object_bytes_checked", r.object_bytes_checked},
      {"layers_checked", r.layers_checked},
      {"views_checked", r.views_checked},
      {"images_checked", r.images_checked},
      {"problems", std::move(problems)},
      {"orphans", std::move(orphans)},
      {"orphans_removed", r.orphans_removed},
      {"images_hurt", std::move(hurt)},
      {"seconds", r.seconds},
  };
}

json::object SquashResultToJson(const storage::SquashResult& r) {
  return json::object{
      {"id", r.image_id.str()}, {"tag", r.tag},           {"diff_id", r.diff_id.str()},
      {"entries", r.entries},   {"tar_size", r.tar_size}, {"layers_before", r.layers_before},
      {"seconds", r.seconds},
  };
}

json::object PruneResultToJson(const storage::PruneResult& r) {
  json::array removed;
  for (const auto& id : r.removed) removed.emplace_back(id.str());
  return json::object{{"removed", std::move(removed)}};
}

}  // namespace strata::runtime
