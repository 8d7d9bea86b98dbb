// Test fixtures: a temporary directory and an in-memory ByteSource.
#pragma once

#include <cstring>
#include <string>

#include "common/fs.h"
#include "storage/byte_source.h"

namespace strata::testing {

// A temporary directory under $TMPDIR (or /tmp), removed at scope exit.
inline TempDir MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  auto dir = TempDir::Create(base != nullptr ? base : "/tmp", "strata-test-");
  if (!dir.ok()) throw std::runtime_error(dir.error().message());
  return std::move(dir).value();
}

class StringSource : public storage::ByteSource {
 public:
  explicit StringSource(std::string data, size_t max_read = SIZE_MAX)
      : data_(std::move(data)), max_read_(max_read) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min({n, data_.size() - pos_, max_read_});
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
  size_t max_read_;
};

}  // namespace strata::testing

namespace strata::testing {

// The error message of a failed Result/Status, or "" — for test messages.
template <typename R>
std::string ErrorText(const R& r) {
  return r.ok() ? std::string() : r.error().message();
}

}  // namespace strata::testing
