// Byte encodings for on-disk records: fixed-width big-endian integers (so
// keys sort numerically) and varints / length-prefixed strings for values.
// A Decoder never reads past its input; every Get* returns false on
// truncated or malformed data, and the caller reports corruption.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strata {

inline void PutFixed32BE(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
inline void PutFixed64BE(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  bool empty() const { return in_.empty(); }
  std::string_view rest() const { return in_; }

  bool GetVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63 && !in_.empty(); shift += 7) {
      auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  template <typename T>
  bool GetVarintAs(T* v) {
    uint64_t raw;
    if (!GetVarint(&raw)) return false;
    *v = static_cast<T>(raw);
    return true;
  }
  bool GetBytes(std::string_view* s) {
    uint64_t n;
    if (!GetVarint(&n) || n > in_.size()) return false;
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool GetString(std::string* s) {
    std::string_view view;
    if (!GetBytes(&view)) return false;
    s->assign(view);
    return true;
  }
  bool GetFixed64BE(uint64_t* v) {
    if (in_.size() < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    *v = r;
    return true;
  }
  bool GetRaw(size_t n, std::string_view* s) {
    if (n > in_.size()) return false;
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view in_;
};

}  // namespace strata
