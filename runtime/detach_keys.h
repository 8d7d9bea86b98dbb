// The key sequence that detaches an attached session (`strata run -it`,
// `strata attach`) and leaves the container running, in Docker's notation:
// comma-separated keys, each a single character or ctrl-<c> for c in a-z,
// @, [, \, ], ^, _ (the default "ctrl-p,ctrl-q" is the bytes 0x10 0x11).
//
// DetachKeyFilter passes the input stream through and spots the sequence
// across reads: bytes that may begin it are held back until it completes
// (then they are dropped) or breaks (then they are passed on).
//
// Thread safety: plain values; one filter per session.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::runtime {

inline constexpr std::string_view kDefaultDetachKeys = "ctrl-p,ctrl-q";

// The bytes of a sequence; an empty text gives an empty sequence (no
// detaching). EINVAL names the key that is not understood.
Result<std::string> ParseDetachKeys(std::string_view text);

class DetachKeyFilter {
 public:
  explicit DetachKeyFilter(std::string sequence) : sequence_(std::move(sequence)) {}

  // Appends to out what input lets through; true once the whole sequence
  // was typed (the rest of input is dropped).
  bool Feed(std::string_view input, std::string& out);

 private:
  std::string sequence_;
  size_t matched_ = 0;  // how many bytes of sequence_ are held back
};

}  // namespace strata::runtime
