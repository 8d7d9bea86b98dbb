#include "storage/byte_source.h"

#include <archive.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/fs.h"
#include "storage/gzip_source.h"

namespace strata::storage {

Result<std::unique_ptr<FdSource>> FdSource::Open(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  return std::make_unique<FdSource>(std::move(fd));
}

Result<size_t> FdSource::Read(char* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_.get(), buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return Error::FromErrno("read");
  }
}

Result<size_t> HashingSource::Read(char* buf, size_t n) {
  ASSIGN_OR_RETURN(size_t got, inner_->Read(buf, n));
  sha_.Update({buf, got});
  bytes_ += got;
  return got;
}

// gzip goes to GzipSource (ISA-L, much faster than libarchive's zlib);
// anything else to libarchive's "raw" format with every filter enabled,
// which gives the decompressed stream of zstd, xz, bzip2 or plain input,
// detected from its bytes.
struct DecompressingSource::Impl {
  ByteSource* input = nullptr;
  std::unique_ptr<GzipSource> gzip;
  archive* a = nullptr;
  std::string prefix;  // read to detect the format, handed to libarchive first
  std::string in_buf = std::string(1 << 17, '\0');
  std::optional<Error> input_error;  // the input's own error, kept for the user
  bool eof = false;

  ~Impl() {
    if (a != nullptr) archive_read_free(a);
  }

  static la_ssize_t ReadCallback(archive*, void* data, const void** out) {
    auto* self = static_cast<Impl*>(data);
    if (!self->prefix.empty()) {
      self->in_buf.swap(self->prefix);
      self->prefix.clear();
      *out = self->in_buf.data();
      return static_cast<la_ssize_t>(self->in_buf.size());
    }
    self->in_buf.resize(1 << 17);
    auto got = self->input->Read(self->in_buf.data(), self->in_buf.size());
    if (!got.ok()) {
      self->input_error = got.error();
      return -1;
    }
    *out = self->in_buf.data();
    return static_cast<la_ssize_t>(*got);
  }

  Error ArchiveError(std::string_view what) {
    if (input_error) return *input_error;
    const char* msg = archive_error_string(a);
    int err = archive_errno(a);
    return Error(err > 0 ? err : EBADMSG,
                 std::string(what) + ": " + (msg != nullptr ? msg : "malformed data"));
  }
};

Result<std::unique_ptr<DecompressingSource>> DecompressingSource::Open(ByteSource* compressed) {
  std::unique_ptr<DecompressingSource> src(new DecompressingSource());
  src->impl_ = std::make_unique<Impl>();
  Impl& impl = *src->impl_;
  impl.input = compressed;
  // Enough bytes to tell gzip (two magic bytes) from the rest.
  impl.prefix.resize(1 << 12);
  size_t have = 0;
  while (have < 2) {
    ASSIGN_OR_RETURN(size_t got,
                     compressed->Read(impl.prefix.data() + have, impl.prefix.size() - have));
    if (got == 0) break;
    have += got;
  }
  impl.prefix.resize(have);
  if (have == 0) {
    impl.eof = true;  // empty input
    return src;
  }
  if (GzipSource::LooksLikeGzip(impl.prefix)) {
    impl.gzip = std::make_unique<GzipSource>(compressed, std::move(impl.prefix));
    return src;
  }
  impl.a = archive_read_new();
  if (impl.a == nullptr) return Error(ENOMEM, "archive_read_new");
  // The formats of the contract only, each through its library: "all"
  // would also run programs (lzop -d, lrzip -d, grzip) found in PATH on
  // whatever a registry or an archive sends, as root.
  for (auto* support : {archive_read_support_filter_zstd, archive_read_support_filter_xz,
                        archive_read_support_filter_bzip2}) {
    if (support(impl.a) != ARCHIVE_OK) return impl.ArchiveError("decompress");
  }
  archive_read_support_format_raw(impl.a);
  archive_read_support_format_empty(impl.a);
  if (archive_read_open(impl.a, &impl, nullptr, &Impl::ReadCallback, nullptr) != ARCHIVE_OK) {
    return impl.ArchiveError("decompress");
  }
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(impl.a, &entry);
  if (r == ARCHIVE_EOF) {
    impl.eof = true;  // empty input
  } else if (r != ARCHIVE_OK) {
    return impl.ArchiveError("decompress");
  }
  return src;
}

DecompressingSource::~DecompressingSource() = default;

Result<size_t> DecompressingSource::Read(char* buf, size_t n) {
  if (impl_->eof) return size_t{0};
  if (impl_->gzip) {
    // The input's own errors pass unchanged, as with libarchive below.
    ASSIGN_OR_RETURN(size_t got, impl_->gzip->Read(buf, n));
    if (got == 0) impl_->eof = true;
    return got;
  }
  la_ssize_t got = archive_read_data(impl_->a, buf, n);
  if (got < 0) return impl_->ArchiveError("decompress");
  if (got == 0) impl_->eof = true;
  return static_cast<size_t>(got);
}

}  // namespace strata::storage
