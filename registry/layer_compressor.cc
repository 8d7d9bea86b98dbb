#include "registry/layer_compressor.h"

#include <zlib.h>
#include <zstd.h>

#include "common/fs.h"
#include "storage/oci.h"

namespace strata::registry {

struct LayerCompressor::Impl {
  Compression kind = Compression::kGzip;
  z_stream z{};
  bool z_ready = false;
  ZSTD_CCtx* zstd = nullptr;
  std::string out = std::string(1 << 17, '\0');
  ~Impl() {
    if (z_ready) deflateEnd(&z);
    if (zstd) ZSTD_freeCCtx(zstd);
  }
};

Result<Compression> ParseCompression(std::string_view name) {
  if (name.empty() || name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  return Error::Invalid("unknown compression \"" + std::string(name) + "\" (gzip, zstd)");
}

std::string_view LayerMediaType(Compression c) {
  return c == Compression::kZstd ? storage::oci::media_type::kOciLayerZstd
                                 : storage::oci::media_type::kOciLayerGzip;
}

LayerCompressor::~LayerCompressor() = default;

Result<std::unique_ptr<LayerCompressor>> LayerCompressor::Create(Compression c, int fd) {
  std::unique_ptr<LayerCompressor> lc(new LayerCompressor());
  lc->fd_ = fd;
  lc->impl_ = std::make_unique<Impl>();
  lc->impl_->kind = c;
  if (c == Compression::kGzip) {
    // 15 + 16: a gzip wrapper; zlib writes mtime 0 and no name.
    if (deflateInit2(&lc->impl_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return Error(ENOMEM, "gzip: cannot initialize");
    }
    lc->impl_->z_ready = true;
  } else {
    lc->impl_->zstd = ZSTD_createCCtx();
    if (lc->impl_->zstd == nullptr) return Error(ENOMEM, "zstd: cannot initialize");
    ZSTD_CCtx_setParameter(lc->impl_->zstd, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(lc->impl_->zstd, ZSTD_c_checksumFlag, 1);
  }
  return lc;
}

Status LayerCompressor::Emit(std::string_view out) {
  if (out.empty()) return Ok();
  sha_.Update(out);
  size_ += out.size();
  return WriteAll(fd_, out);
}

Status LayerCompressor::Write(std::string_view data) {
  Impl& im = *impl_;
  if (im.kind == Compression::kGzip) {
    im.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    im.z.avail_in = static_cast<uInt>(data.size());
    while (im.z.avail_in > 0) {
      im.z.next_out = reinterpret_cast<Bytef*>(im.out.data());
      im.z.avail_out = static_cast<uInt>(im.out.size());
      if (deflate(&im.z, Z_NO_FLUSH) == Z_STREAM_ERROR) return Error(EIO, "gzip: deflate failed");
      RETURN_IF_ERROR(Emit({im.out.data(), im.out.size() - im.z.avail_out}));
    }
    return Ok();
  }
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{im.out.data(), im.out.size(), 0};
    size_t rc = ZSTD_compressStream2(im.zstd, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(rc)) return Error(EIO, std::string("zstd: ") + ZSTD_getErrorName(rc));
    RETURN_IF_ERROR(Emit({im.out.data(), out.pos}));
  }
  return Ok();
}

Status LayerCompressor::Finish() {
  Impl& im = *impl_;
  if (im.kind == Compression::kGzip) {
    im.z.next_in = nullptr;
    im.z.avail_in = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      im.z.next_out = reinterpret_cast<Bytef*>(im.out.data());
      im.z.avail_out = static_cast<uInt>(im.out.size());
      rc = deflate(&im.z, Z_FINISH);
      if (rc == Z_STREAM_ERROR) return Error(EIO, "gzip: deflate failed");
      RETURN_IF_ERROR(Emit({im.out.data(), im.out.size() - im.z.avail_out}));
    }
  } else {
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t remaining = 1;
    while (remaining != 0) {
      ZSTD_outBuffer out{im.out.data(), im.out.size(), 0};
      remaining = ZSTD_compressStream2(im.zstd, &out, &in, ZSTD_e_end);
      if (ZSTD_isError(remaining))
        return Error(EIO, std::string("zstd: ") + ZSTD_getErrorName(remaining));
      RETURN_IF_ERROR(Emit({im.out.data(), out.pos}));
    }
  }
  digest_ = sha_.Finish();
  return Ok();
}

}  // namespace strata::registry
