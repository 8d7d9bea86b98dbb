#include "storage/byte_source.h"

#include <archive.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/fs.h"

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

// libarchive's "raw" format with every filter enabled gives the decompressed
// stream of gzip, zstd, xz, bzip2 or plain input, detected from its bytes.
struct DecompressingSource::Impl {
  ByteSource* input = nullptr;
  archive* a = nullptr;
  std::string in_buf = std::string(1 << 17, '\0');
  std::optional<Error> input_error;  // the input's own error, kept for the user
  bool eof = false;

  ~Impl() {
    if (a != nullptr) archive_read_free(a);
  }

  static la_ssize_t ReadCallback(archive*, void* data, const void** out) {
    auto* self = static_cast<Impl*>(data);
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
  impl.a = archive_read_new();
  if (impl.a == nullptr) return Error(ENOMEM, "archive_read_new");
  archive_read_support_filter_all(impl.a);
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
  la_ssize_t got = archive_read_data(impl_->a, buf, n);
  if (got < 0) return impl_->ArchiveError("decompress");
  if (got == 0) impl_->eof = true;
  return static_cast<size_t>(got);
}

}  // namespace strata::storage
