#include "storage/gzip_source.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstring>

namespace strata::storage {

namespace {

constexpr size_t kInputBuffer = 1 << 18;

std::string Describe(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "CRC or length mismatch";
    case ISAL_NEED_DICT:
      return "preset dictionary required";
    default:
      return "error " + std::to_string(code);
  }
}

}  // namespace

struct GzipSource::State {
  inflate_state s;
};

GzipSource::GzipSource(ByteSource* compressed, std::string prefix)
    : input_(compressed), state_(std::make_unique<State>()) {
  isal_inflate_init(&state_->s);
  state_->s.crc_flag = ISAL_GZIP;
  in_buf_ = std::move(prefix);
  const size_t held = in_buf_.size();
  in_buf_.resize(std::max(kInputBuffer, held));
  state_->s.next_in = reinterpret_cast<uint8_t*>(in_buf_.data());
  state_->s.avail_in = static_cast<uint32_t>(held);
}

GzipSource::~GzipSource() = default;

bool GzipSource::LooksLikeGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

Result<size_t> GzipSource::FillInput(size_t want) {
  inflate_state& s = state_->s;
  size_t avail = s.avail_in;
  if (avail >= want || input_eof_) return avail;
  auto* base = reinterpret_cast<uint8_t*>(in_buf_.data());
  if (avail > 0 && s.next_in != base) std::memmove(base, s.next_in, avail);
  s.next_in = base;
  while (avail < want && !input_eof_) {
    ASSIGN_OR_RETURN(size_t got, input_->Read(in_buf_.data() + avail, in_buf_.size() - avail));
    if (got == 0) input_eof_ = true;
    avail += got;
  }
  s.avail_in = static_cast<uint32_t>(avail);
  return avail;
}

Result<size_t> GzipSource::Read(char* buf, size_t n) {
  if (done_ || n == 0) return size_t{0};
  n = std::min<size_t>(n, 1 << 30);  // avail_out is 32 bits
  inflate_state& s = state_->s;
  for (;;) {
    if (s.block_state == ISAL_BLOCK_FINISH) {
      // A member ended (its checksum verified): another one, or the end.
      ASSIGN_OR_RETURN(size_t avail, FillInput(2));
      if (avail < 2 || !LooksLikeGzip({reinterpret_cast<const char*>(s.next_in), 2})) {
        done_ = true;
        return size_t{0};
      }
      uint8_t* next = s.next_in;
      isal_inflate_reset(&s);
      s.crc_flag = ISAL_GZIP;
      s.next_in = next;
      s.avail_in = static_cast<uint32_t>(avail);
      continue;
    }
    if (s.avail_in == 0) RETURN_IF_ERROR(FillInput(1));
    s.next_out = reinterpret_cast<uint8_t*>(buf);
    s.avail_out = static_cast<uint32_t>(n);
    int r = isal_inflate(&s);
    if (r != ISAL_DECOMP_OK) return Error(EBADMSG, "gzip: " + Describe(r));
    const size_t produced = n - s.avail_out;
    if (produced > 0) return produced;
    if (s.block_state != ISAL_BLOCK_FINISH && s.avail_in == 0 && input_eof_) {
      return Error(EBADMSG, "gzip: the data ends inside a compressed stream");
    }
  }
}

}  // namespace strata::storage
