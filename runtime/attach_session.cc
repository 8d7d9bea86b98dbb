#include "runtime/attach_session.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <optional>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/api_protocol.h"
#include "runtime/attach_protocol.h"
#include "runtime/detach_keys.h"
#include "runtime/json_fields.h"

namespace strata::runtime {

namespace json = boost::json;

namespace {

// Raw mode on a terminal for the life of the object.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::isatty(fd) != 1 || ::tcgetattr(fd, &saved_) != 0) return;
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSADRAIN, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
  }

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

std::optional<std::pair<unsigned, unsigned>> WindowSize(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return std::nullopt;
  return std::make_pair(static_cast<unsigned>(ws.ws_row), static_cast<unsigned>(ws.ws_col));
}

}  // namespace

Result<AttachEnd> RunAttachSession(UniqueFd conn, const AttachSessionOptions& o) {
  std::optional<RawTerminal> raw;
  if (o.tty && o.interactive) raw.emplace(o.in);
  auto send = [&](FrameType type, std::string_view payload) {
    return WriteAll(conn.get(), EncodeFrame(type, payload));
  };

  std::optional<std::pair<unsigned, unsigned>> size;
  auto send_size = [&]() -> Status {
    if (!o.tty) return Ok();
    auto now = WindowSize(o.out);
    if (!now) now = WindowSize(o.in);
    if (!now || now == size) return Ok();
    size = now;
    return send(FrameType::kResize,
                json::serialize(json::object{{"rows", now->first}, {"cols", now->second}}));
  };
  RETURN_IF_ERROR(send_size());

  FrameDecoder decoder;
  std::optional<int> exit_code;
  std::optional<Error> error;
  auto on_frame = [&](FrameType type, std::string_view payload) -> Status {
    switch (type) {
      case FrameType::kStdout:
        return WriteAll(o.out, payload);
      case FrameType::kStderr:
        return WriteAll(o.err, payload);
      case FrameType::kExit: {
        auto body = jsonf::ParseObject(payload, "exit frame");
        exit_code = body.ok() ? static_cast<int>(jsonf::Int(*body, "exit_code")) : 255;
        return Ok();
      }
      case FrameType::kError: {
        boost::system::error_code ec;
        json::value v = json::parse(payload, ec);
        error = ec ? Error(EPROTO, "stratad sent a bad error frame") : ErrorFromJson(v, 500);
        return Ok();
      }
      default:
        return Ok();  // a frame of a newer stratad
    }
  };

  bool stdin_open = o.interactive;
  DetachKeyFilter detach(o.detach_keys);
  std::string input;
  char buf[32768];
  while (!exit_code && !error) {
    pollfd fds[2] = {{conn.get(), POLLIN, 0}, {stdin_open ? o.in : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, o.tty ? 250 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("poll");
    }
    RETURN_IF_ERROR(send_size());
    if (fds[1].revents != 0) {
      ssize_t got = ::read(o.in, buf, sizeof buf);
      if (got > 0) {
        input.clear();
        bool detached = detach.Feed(std::string_view(buf, static_cast<size_t>(got)), input);
        if (!input.empty()) RETURN_IF_ERROR(send(FrameType::kStdin, input));
        // Closing the connection detaches: stratad keeps the container.
        if (detached) return AttachEnd{true, 0};
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_open = false;
        RETURN_IF_ERROR(send(FrameType::kStdinClose, ""));
      }
    }
    if (fds[0].revents != 0) {
      ssize_t got = ::read(conn.get(), buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) return Error(EPROTO, "stratad ended the session without an exit code");
      RETURN_IF_ERROR(decoder.Feed(std::string_view(buf, static_cast<size_t>(got)), on_frame));
    }
  }
  if (error) return std::move(*error);
  return AttachEnd{false, *exit_code};
}

}  // namespace strata::runtime
