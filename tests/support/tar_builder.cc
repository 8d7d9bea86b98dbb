#include "tests/support/tar_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <stdexcept>

namespace strata::testing {

namespace {

la_ssize_t Append(struct archive*, void* data, const void* buf, size_t n) {
  static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

void Check(int r, struct archive* a) {
  if (r < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
}

}  // namespace

TarBuilder::TarBuilder(Format format) : a_(archive_write_new()) {
  switch (format) {
    case Format::kPax: archive_write_set_format_pax(a_); break;
    case Format::kGnu: archive_write_set_format_gnutar(a_); break;
    case Format::kUstar: archive_write_set_format_ustar(a_); break;
  }
  archive_write_set_bytes_per_block(a_, 10240);
  Check(archive_write_open(a_, &out_, nullptr, Append, nullptr), a_);
}

TarBuilder::~TarBuilder() { archive_write_free(a_); }

void TarBuilder::Header(const std::string& path, unsigned type, const Meta& meta,
                        const std::string& content, const std::string& link, bool hardlink,
                        unsigned major, unsigned minor) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, path.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, meta.mode);
  archive_entry_set_uid(e, meta.uid);
  archive_entry_set_gid(e, meta.gid);
  archive_entry_set_mtime(e, meta.mtime, meta.mtime_nsec);
  for (const auto& [name, value] : meta.xattrs) {
    archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
  }
  if (hardlink) {
    archive_entry_set_hardlink(e, link.c_str());
    archive_entry_set_size(e, 0);
  } else if (type == AE_IFLNK) {
    archive_entry_set_symlink(e, link.c_str());
  }
  if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(major, minor));
  if (type == AE_IFREG && !hardlink) archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  Check(archive_write_header(a_, e), a_);
  if (!content.empty()) archive_write_data(a_, content.data(), content.size());
  archive_entry_free(e);
}

TarBuilder& TarBuilder::File(const std::string& path, const std::string& content, Meta meta) {
  Header(path, AE_IFREG, meta, content, "", false);
  return *this;
}
TarBuilder& TarBuilder::Dir(const std::string& path, Meta meta) {
  Header(path, AE_IFDIR, meta, "", "", false);
  return *this;
}
TarBuilder& TarBuilder::Symlink(const std::string& path, const std::string& target) {
  Header(path, AE_IFLNK, Meta{.mode = 0777}, "", target, false);
  return *this;
}
TarBuilder& TarBuilder::Hardlink(const std::string& path, const std::string& target) {
  Header(path, AE_IFREG, Meta{}, "", target, true);
  return *this;
}
TarBuilder& TarBuilder::Fifo(const std::string& path) {
  Header(path, AE_IFIFO, Meta{}, "", "", false);
  return *this;
}
TarBuilder& TarBuilder::CharDevice(const std::string& path, unsigned major, unsigned minor) {
  Header(path, AE_IFCHR, Meta{.mode = 0666}, "", "", false, major, minor);
  return *this;
}

std::string TarBuilder::Finish() {
  Check(archive_write_close(a_), a_);
  return out_;
}

std::string Compress(const std::string& data, const char* filter) {
  struct archive* a = archive_write_new();
  std::string out;
  archive_write_set_format_raw(a);
  archive_write_add_filter_by_name(a, filter);
  archive_write_set_bytes_in_last_block(a, 1);
  Check(archive_write_open(a, &out, nullptr, Append, nullptr), a);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  Check(archive_write_header(a, e), a);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace strata::testing
