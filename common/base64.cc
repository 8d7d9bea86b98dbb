#include "common/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace strata {

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // EVP_DecodeBlock skips surrounding whitespace, which is not base64 here.
  if (text.find_first_of(" \t\r\n\f\v") != std::string_view::npos) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;
  std::string in(text);
  while (in.size() % 4 != 0) in.push_back('=');
  // '=' only as the last one or two characters.
  const size_t first_pad = in.find('=');
  if (first_pad != std::string::npos &&
      (first_pad < in.size() - 2 || in.find_first_not_of('=', first_pad) != std::string::npos)) {
    return std::nullopt;
  }
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes.
  const size_t pad = first_pad == std::string::npos ? 0 : in.size() - first_pad;
  out.resize(static_cast<size_t>(n) - std::min(pad, static_cast<size_t>(n)));
  return out;
}

}  // namespace strata
