// The on-disk format of the index, in one place: column families, key
// encodings and record encodings, and the schema version.
//
// Paths inside a layer or view are absolute and normalized ("/", "/etc",
// "/etc/passwd"). A path key is `parent '\0' name` ("\0" for the root,
// "/\0etc", "/etc\0passwd"), so the children of a directory are exactly the
// keys with prefix `dir '\0'`: a listing is one prefix scan and a lookup one
// point read. In key order a parent comes before its children.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/entry.h"

namespace strata::storage::schema {

// Bumped on any incompatible change to a key or record encoding. A store of a
// newer version is refused; an older one is migrated or refused.
inline constexpr uint32_t kVersion = 1;

// Column families, one per record kind.
inline constexpr const char* kMeta = "meta";          // "schema_version" -> u32
inline constexpr const char* kObjects = "objects";    // ObjectId(16) -> ObjectRecord
inline constexpr const char* kLayers = "layers";      // diffID(32) -> LayerRecord
inline constexpr const char* kEntries = "entries";    // diffID(32) pathkey -> Entry
inline constexpr const char* kTarSplit = "tarsplit";  // diffID(32) seq(u64 BE) -> records
inline constexpr const char* kChains = "chains";      // chainID(32) -> ChainRecord
inline constexpr const char* kViews = "views";        // chainID(32) pathkey -> ViewEntry
inline constexpr const char* kImages = "images";      // imageID(32) -> ImageRecord
inline constexpr const char* kTags = "tags";          // "name:tag" -> imageID(32)
inline constexpr const char* kLeases = "leases";      // lease id -> LeaseRecord
// Compressed blob digest(32) -> diffID(32), so a pull can skip known layers.
inline constexpr const char* kBlobs = "blobs";
// diffID(32) compressed digest(32) -> LayerBlobRecord, so a push can reuse
// the compressed digests of a layer (reverse of kBlobs).
inline constexpr const char* kLayerBlobs = "layer_blobs";
// Scheduled jobs: keys and values are opaque bytes the runtime encodes
// (runtime/cron_job.h); the store keeps them and knows nothing of cron.
inline constexpr const char* kCron = "cron";

inline constexpr const char* kAllFamilies[] = {kMeta,   kObjects, kLayers, kEntries,
                                               kTarSplit, kChains, kViews,  kImages,
                                               kTags,   kLeases,  kBlobs,   kLayerBlobs,
                                               kCron};

// Path helpers. NormalizePath turns "./a//b/" into "/a/b" and refuses "..",
// NUL and empty names.
Result<std::string> NormalizePath(std::string_view path);
std::string ParentPath(std::string_view path);  // "/a/b" -> "/a", "/a" -> "/", "/" -> ""
std::string_view BaseName(std::string_view path);  // "/a/b" -> "b", "/" -> ""

std::string PathKey(std::string_view path);
std::string DirPrefix(std::string_view dir);  // prefix of the keys of dir's children
// Inverse of PathKey.
std::string PathFromKey(std::string_view key);

std::string EntryKey(const Digest& diff_id, std::string_view path);
std::string ViewKey(const Digest& chain_id, std::string_view path);
std::string TarSplitKey(const Digest& diff_id, uint64_t seq);

std::string EncodeEntry(const Entry& e);
bool DecodeEntry(std::string_view in, Entry* e);
std::string EncodeViewEntry(const ViewEntry& e);
bool DecodeViewEntry(std::string_view in, ViewEntry* e);
std::string EncodeObject(const ObjectRecord& r);
bool DecodeObject(std::string_view in, ObjectRecord* r);
std::string EncodeLayer(const LayerRecord& r);
bool DecodeLayer(std::string_view in, LayerRecord* r);
std::string EncodeChain(const ChainRecord& r);
bool DecodeChain(std::string_view in, ChainRecord* r);
std::string EncodeImage(const ImageRecord& r);
bool DecodeImage(std::string_view in, ImageRecord* r);
std::string EncodeLease(const LeaseRecord& r);
bool DecodeLease(std::string_view in, LeaseRecord* r);
// The digest is the key's second half; the value holds the rest.
std::string EncodeLayerBlob(const LayerBlobRecord& r);
bool DecodeLayerBlob(std::string_view in, LayerBlobRecord* r);

}  // namespace strata::storage::schema
