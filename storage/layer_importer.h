// LayerImporter: turns one uncompressed layer tar into objects, entries and
// tar-split records.
//
// Objects are written as the tar streams by (pending in the ObjectStore);
// entries and tar-split chunks are kept in memory until the caller puts them
// in its batch with AddToBatch, once the layer's diffID is known. Nothing is
// in the index until the caller writes that batch. If ImportLayer fails it
// discards the objects it created itself; once it has returned, the caller
// owns created_objects (Store::CommitImage releases them, or the caller
// discards them).
//
// Refused (EINVAL, with the path): absolute paths, "..", NUL in names,
// duplicate paths, an entry below a symlink or another non-directory of the
// same layer, hard links to a missing or later entry, whiteouts that name
// nothing sensible, names over 4096 bytes or components over 255, a tar that
// ends inside an entry (EBADMSG).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/byte_source.h"
#include "storage/entry.h"
#include "storage/index.h"

namespace strata::storage {

class ObjectStore;

struct LayerContents {
  Digest diff_id;  // sha256 of the uncompressed tar
  LayerRecord record;
  // Sorted by schema::PathKey order (parents first); whiteouts included.
  std::vector<std::pair<std::string, Entry>> entries;
  std::vector<std::string> tar_split_chunks;
  std::vector<ObjectId> created_objects;  // new files, pending until release/discard

  // Puts the layer record, entries and tar-split chunks into batch.
  void AddToBatch(Index::Batch* batch) const;
};

struct LayerImportProgress {
  uint64_t bytes = 0;  // uncompressed bytes read so far
};

// Reads the tar to its end; the diffID is tar.Finish() then, so the source
// may compute it wherever suits it best (ReadAheadSource: on its own
// thread). progress (optional) is called every few MiB.
Result<LayerContents> ImportLayer(
    ObjectStore& objects, DigestingSource& tar,
    const std::function<void(const LayerImportProgress&)>& progress = nullptr);

// The same for a source that does not hash: hashed here, as it is read.
Result<LayerContents> ImportLayer(
    ObjectStore& objects, ByteSource& tar,
    const std::function<void(const LayerImportProgress&)>& progress = nullptr);

}  // namespace strata::storage
