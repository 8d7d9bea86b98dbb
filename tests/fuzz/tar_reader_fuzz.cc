// Fuzzes TarReader (storage/tar_reader.h) with the bytes of a layer tar.
//
// Besides "no crash, no sanitizer report", it checks the reader's promise
// that tar-split relies on: the raw segments and the contents it hands out,
// concatenated in order, give back the bytes it consumed, and all of the
// input when the archive ends cleanly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/byte_source.h"
#include "storage/tar_reader.h"

namespace {

using strata::Result;
using strata::storage::ByteSource;

// Hands out the input in reads of varying sizes, as a pipe or a
// decompressor would.
class ChoppySource : public ByteSource {
 public:
  explicit ChoppySource(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override {
    static constexpr size_t kSteps[] = {1, 511, 4096, 100, 65536, 3};
    size_t step = kSteps[reads_++ % std::size(kSteps)];
    size_t take = std::min({n, step, data_.size()});
    std::copy_n(data_.data(), take, buf);
    data_.remove_prefix(take);
    return take;
  }

 private:
  std::string_view data_;
  size_t reads_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ChoppySource source(input);
  // Small limits, so that the limit paths are reached by small inputs.
  strata::storage::TarLimits limits;
  limits.max_extension_bytes = 4096;
  limits.max_trailing_bytes = 2048;
  strata::storage::TarReader reader(&source, limits);

  std::string rebuilt;
  char buf[700];
  for (int entries = 0; entries < 10000; ++entries) {
    strata::storage::TarHeader header;
    Result<bool> next = reader.Next(&header, &rebuilt);
    if (!next.ok()) return 0;
    if (!*next) {
      // A clean end: every byte came back, in order.
      if (rebuilt != input || reader.offset() != input.size()) std::abort();
      return 0;
    }
    for (;;) {
      Result<size_t> got = reader.ReadData(buf, sizeof(buf));
      if (!got.ok()) return 0;
      if (*got == 0) break;
      rebuilt.append(buf, *got);
    }
    if (rebuilt != input.substr(0, rebuilt.size()) || reader.offset() != rebuilt.size()) {
      std::abort();
    }
  }
  return 0;
}
