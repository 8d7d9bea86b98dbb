#include "common/base64.h"

#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <exception>

namespace strata {

namespace iterators = boost::archive::iterators;

std::string Base64Encode(std::string_view data) {
  using Encoder = iterators::base64_from_binary<iterators::transform_width<const char*, 6, 8>>;
  std::string out(Encoder(data.data()), Encoder(data.data() + data.size()));
  out.append((3 - data.size() % 3) % 3, '=');
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // '=' only as the last one or two characters, and only to fill a group of
  // four.
  const size_t first_pad = text.find('=');
  std::string_view digits = text.substr(0, first_pad);
  if (first_pad != std::string_view::npos) {
    std::string_view pad = text.substr(first_pad);
    if (pad.size() > 2 || pad.find_first_not_of('=') != std::string_view::npos ||
        text.size() % 4 != 0) {
      return std::nullopt;
    }
  }
  if (digits.size() % 4 == 1) return std::nullopt;
  // The decoder throws on a character outside the alphabet (whitespace
  // included); it never skips one.
  using Decoder = iterators::transform_width<iterators::binary_from_base64<const char*>, 8, 6>;
  std::string out;
  try {
    out.assign(Decoder(digits.data()), Decoder(digits.data() + digits.size()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  // Six bits per digit; the bits of a last partial byte are padding.
  out.resize(digits.size() * 6 / 8);
  return out;
}

}  // namespace strata
