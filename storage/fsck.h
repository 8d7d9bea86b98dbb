// fsck: checks that the store is whole, and with repair fixes what it can.
//
// Checks:
//   objects   every file under objects/ is re-hashed (in parallel) and must
//             match its name; its size must match its index record
//   entries   every entry's object exists with the entry's size
//   tar-split every layer's records parse, add up to the layer's tar size,
//             and name existing objects of the right size
//   views     every materialized view equals the merge of its chain's layers
//   graph     every image's config blob hashes to its ID, its chain and
//             layers exist; every chain's parent and layer exist
//   orphans   object files no record or entry names, object records no
//             entry names whose file is gone, blobs/ files no image names,
//             anything in tmp/: debris a crash leaves and GC collects. They
//             are reported but do not make the store unclean.
//
// Repair: corrupt objects are moved to <root>/quarantine/ and their records
// removed (the images that used them are named: their content is lost, so
// the store stays damaged); views that disagree are rebuilt from their
// layers; records of missing unreferenced objects are removed; orphans are
// removed.
//
// Run it offline (the service stopped) for a stable answer: it reads while
// nothing writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::storage {

class Store;

struct FsckOptions {
  bool repair = false;
  unsigned threads = 0;  // re-hash workers; 0: one per CPU
};

struct FsckProblem {
  std::string kind;  // corrupt-object, missing-object, tar-split, view, image, chain, layer
  std::string what;  // one line
  bool repaired = false;
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t object_bytes_checked = 0;
  uint64_t layers_checked = 0;
  uint64_t views_checked = 0;
  uint64_t images_checked = 0;
  std::vector<FsckProblem> problems;
  std::vector<std::string> orphans;  // debris (removed with repair)
  bool orphans_removed = false;
  std::vector<std::string> images_hurt;  // image IDs whose content is lost
  double seconds = 0;

  bool clean() const { return problems.empty(); }
  // Every problem was repaired (and none hurt an image's content).
  bool repaired() const;
};

Result<FsckReport> CheckStore(Store& store, const FsckOptions& options);

}  // namespace strata::storage
