// Fuzzes the path rules that keep archive contents inside the store
// (invariant 4): CleanRelativePath (storage/image_dir.h: file names inside
// an OCI layout or an image archive, docker-archive's Config and Layers) and
// schema::NormalizePath with the index's path keys (storage/schema.h: every
// layer entry). Also the decoders of index records (an entry, a view entry),
// which fsck runs over whatever a damaged store holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/entry.h"
#include "storage/image_dir.h"
#include "storage/schema.h"

using namespace strata::storage;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

bool HasDotDotOrEmpty(std::string_view path, size_t start) {
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return true;
    start = slash + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto clean = CleanRelativePath(input);
  if (clean.ok()) {
    // Relative, no NUL, no "." / ".." / empty names; cleaning is idempotent.
    Require(clean->find('\0') == std::string::npos);
    if (!clean->empty()) {
      Require(clean->front() != '/' && !HasDotDotOrEmpty(*clean, 0));
    }
    auto again = CleanRelativePath(*clean);
    Require(again.ok() && *again == *clean);
  } else {
    Require(clean.error().code() == EINVAL);
  }

  auto normalized = schema::NormalizePath(input);
  if (normalized.ok()) {
    const std::string& p = *normalized;
    Require(!p.empty() && p.front() == '/' && p.find('\0') == std::string::npos);
    if (p != "/") {
      Require(p.back() != '/' && !HasDotDotOrEmpty(p, 1));
      Require(schema::ParentPath(p) + (schema::ParentPath(p) == "/" ? "" : "/") +
                  std::string(schema::BaseName(p)) ==
              p);
    }
    auto again = schema::NormalizePath(p);
    Require(again.ok() && *again == p);
    Require(schema::PathFromKey(schema::PathKey(p)) == p);
  }

  // Index values: what decodes re-encodes to something that decodes the same.
  Entry e;
  if (schema::DecodeEntry(input, &e)) {
    Entry back;
    Require(schema::DecodeEntry(schema::EncodeEntry(e), &back) && back == e);
  }
  ViewEntry v;
  if (schema::DecodeViewEntry(input, &v)) {
    ViewEntry back;
    Require(schema::DecodeViewEntry(schema::EncodeViewEntry(v), &back) && back == v);
  }
  return 0;
}
