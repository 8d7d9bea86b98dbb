#include "runtime/detach_keys.h"

#include <cctype>

namespace strata::runtime {

Result<std::string> ParseDetachKeys(std::string_view text) {
  std::string bytes;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view key = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (key.size() == 1) {
      bytes.push_back(key[0]);
      continue;
    }
    if (key.size() == 6 && key.substr(0, 5) == "ctrl-") {
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(key[5])));
      if (c >= 'a' && c <= 'z') {
        bytes.push_back(static_cast<char>(c - 'a' + 1));
        continue;
      }
      // ctrl-@ is NUL, ctrl-[ ESC ... ctrl-_ 0x1f: the ASCII control codes.
      if (c == '@' || (c >= '[' && c <= '_')) {
        bytes.push_back(static_cast<char>(c - '@'));
        continue;
      }
    }
    return Error::Invalid("detach keys: \"" + std::string(key) +
                          "\" is not a key (a character, or ctrl-<a-z, @, [, \\, ], ^, _>)");
  }
  return bytes;
}

bool DetachKeyFilter::Feed(std::string_view input, std::string& out) {
  if (sequence_.empty()) {
    out.append(input);
    return false;
  }
  for (char c : input) {
    if (c == sequence_[matched_]) {
      if (++matched_ == sequence_.size()) return true;
      continue;
    }
    // The held bytes were not the sequence after all: pass them on, then
    // see whether this byte begins it anew.
    out.append(sequence_, 0, matched_);
    matched_ = 0;
    if (c == sequence_[0]) {
      matched_ = 1;
      if (sequence_.size() == 1) return true;
    } else {
      out.push_back(c);
    }
  }
  return false;
}

}  // namespace strata::runtime
