// TarBuilder: makes tar archives in memory for tests, with libarchive's
// writers (ustar, GNU, pax), so tests feed the store real-world encodings.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

struct archive;

namespace strata::testing {

struct TarMeta {
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 1700000000;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

class TarBuilder {
 public:
  enum class Format { kPax, kGnu, kUstar };
  explicit TarBuilder(Format format = Format::kPax);
  ~TarBuilder();
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  using Meta = TarMeta;

  TarBuilder& File(const std::string& path, const std::string& content, Meta meta = {});
  TarBuilder& Dir(const std::string& path, Meta meta = {.mode = 0755, .xattrs = {}});
  TarBuilder& Symlink(const std::string& path, const std::string& target);
  TarBuilder& Hardlink(const std::string& path, const std::string& target);
  TarBuilder& Fifo(const std::string& path);
  TarBuilder& CharDevice(const std::string& path, unsigned major, unsigned minor);
  // Finishes the archive (end blocks) and returns its bytes.
  std::string Finish();

 private:
  void Header(const std::string& path, unsigned type, const Meta& meta, const std::string& content,
              const std::string& link, bool hardlink, unsigned major = 0, unsigned minor = 0);
  ::archive* a_;
  std::string out_;
};

// Compresses data with gzip or zstd (libarchive's raw writer filters).
std::string Compress(const std::string& data, const char* filter);

}  // namespace strata::testing
