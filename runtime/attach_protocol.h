// The framing on an attached (upgraded) API connection: `strata run -i/-t`,
// `strata exec -i/-t`. After "101 UPGRADED" both sides exchange frames in
// the layout of Docker's multiplexed streams (stdcopy):
//
//   byte 0      type
//   bytes 1..3  zero
//   bytes 4..7  payload length, big-endian
//   payload
//
// server -> client:  1 stdout bytes, 2 stderr bytes (with a terminal all
//                    output is stdout), 3 exit {"exit_code": N} (the last
//                    frame), 4 error {"error": {"message", "errno"}} (the last
//                    frame)
// client -> server:  0 stdin bytes, 5 stdin closed (EOF), 6 resize
//                    {"rows": R, "cols": C}
//
// Either side ends by closing the connection: the client detaches (the
// container keeps running), the server after the exit or error frame.
//
// Thread safety: plain functions and a single-threaded decoder.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::runtime {

enum class FrameType : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kExit = 3,
  kError = 4,
  kStdinClose = 5,
  kResize = 6,
};

inline constexpr size_t kFrameHeader = 8;
inline constexpr uint32_t kMaxFrame = 1 << 20;

inline std::string EncodeFrame(FrameType type, std::string_view payload) {
  std::string out(kFrameHeader, '\0');
  out[0] = static_cast<char>(type);
  auto n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  out.append(payload);
  return out;
}

// Reassembles frames from arbitrary chunks.
class FrameDecoder {
 public:
  using FrameFn = std::function<Status(FrameType type, std::string_view payload)>;

  // Calls fn per complete frame; EPROTO on a frame over kMaxFrame.
  Status Feed(std::string_view data, const FrameFn& fn) {
    pending_.append(data);
    size_t pos = 0;
    while (pending_.size() - pos >= kFrameHeader) {
      const auto* h = reinterpret_cast<const unsigned char*>(pending_.data() + pos);
      uint32_t n = (uint32_t{h[4]} << 24) | (uint32_t{h[5]} << 16) | (uint32_t{h[6]} << 8) | h[7];
      if (n > kMaxFrame) return Error(EPROTO, "attach: frame of " + std::to_string(n) + " bytes");
      if (pending_.size() - pos - kFrameHeader < n) break;
      Status s = fn(static_cast<FrameType>(h[0]),
                    std::string_view(pending_.data() + pos + kFrameHeader, n));
      pos += kFrameHeader + n;
      if (!s.ok()) {
        pending_.erase(0, pos);
        return s;
      }
    }
    pending_.erase(0, pos);
    return Ok();
  }

 private:
  std::string pending_;
};

}  // namespace strata::runtime
