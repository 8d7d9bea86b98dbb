#include "storage/digest.h"

#include <algorithm>
#include <cstring>

namespace strata::storage {

static constexpr char kHex[] = "0123456789abcdef";

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

Digest Digest::FromBytes(std::string_view raw32) {
  Digest d;
  std::memcpy(d.bytes_.data(), raw32.data(), std::min(raw32.size(), d.bytes_.size()));
  return d;
}

Result<Digest> Digest::FromHex(std::string_view hex) {
  std::string raw;
  if (hex.size() != 64 || !HexDecode(hex, &raw)) {
    return Error::Invalid("invalid sha256 digest \"" + std::string(hex.substr(0, 80)) + "\"");
  }
  return FromBytes(raw);
}

Result<Digest> Digest::Parse(std::string_view text) {
  if (text.substr(0, 7) != "sha256:") {
    return Error::Invalid("unsupported digest \"" + std::string(text.substr(0, 80)) +
                          "\" (only sha256 is supported)");
  }
  return FromHex(text.substr(7));
}

std::string Digest::hex() const { return HexEncode(raw()); }

bool Digest::empty() const {
  for (auto b : bytes_)
    if (b != 0) return false;
  return true;
}

ObjectId ObjectId::FromBytes(std::string_view raw16) {
  ObjectId id;
  std::memcpy(id.bytes_.data(), raw16.data(), std::min(raw16.size(), id.bytes_.size()));
  return id;
}

Result<ObjectId> ObjectId::FromHex(std::string_view hex) {
  std::string raw;
  if (hex.size() != 32 || !HexDecode(hex, &raw)) {
    return Error::Invalid("invalid object id \"" + std::string(hex.substr(0, 80)) + "\"");
  }
  return FromBytes(raw);
}

std::string ObjectId::hex() const { return HexEncode(raw()); }

}  // namespace strata::storage
