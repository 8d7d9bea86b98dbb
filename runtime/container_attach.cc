// ContainerManager: attached sessions (attach_protocol.h) — `strata run
// -i/-t` and `strata exec -i/-t` — over a hijacked API connection.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/attach_protocol.h"
#include "runtime/console_socket.h"
#include "runtime/container_manager.h"
#include "runtime/container_manager_internal.h"
#include "runtime/json_fields.h"

namespace strata::runtime {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// The client's side of a session: frames out (from any thread), frames in.
class Session {
 public:
  explicit Session(int fd) : fd_(fd) {}

  // False once the client is gone.
  bool Send(FrameType type, std::string_view payload) {
    std::lock_guard lock(mu_);
    if (broken_) return false;
    if (!WriteAll(fd_, EncodeFrame(type, payload)).ok()) broken_ = true;
    return !broken_;
  }
  void SendExit(int code) {
    Send(FrameType::kExit, json::serialize(json::object{{"exit_code", code}}));
  }
  void SendError(const Error& e) {
    Send(FrameType::kError,
         json::serialize(
             json::object{{"error", json::object{{"message", e.message()}, {"errno", e.code()}}}}));
  }
  bool broken() {
    std::lock_guard lock(mu_);
    return broken_;
  }
  int fd() const { return fd_; }

  // Reads what the client sent, if anything arrives within timeout, and
  // passes its frames to fn. False when the client has gone.
  bool Receive(std::chrono::milliseconds timeout, const FrameDecoder::FrameFn& fn) {
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n <= 0) return n == 0 || errno == EINTR;
    char buf[16384];
    ssize_t got = ::read(fd_, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (got <= 0) return false;
    return decoder_.Feed(std::string_view(buf, static_cast<size_t>(got)), fn).ok();
  }

 private:
  int fd_;
  std::mutex mu_;
  bool broken_ = false;  // guarded by mu_
  FrameDecoder decoder_;
};

// {"rows": R, "cols": C}
bool ParseResize(std::string_view payload, unsigned* rows, unsigned* cols) {
  auto o = jsonf::ParseObject(payload, "resize");
  if (!o.ok()) return false;
  int64_t r = jsonf::Int(*o, "rows"), c = jsonf::Int(*o, "cols");
  if (r <= 0 || c <= 0 || r > 65535 || c > 65535) return false;
  *rows = static_cast<unsigned>(r);
  *cols = static_cast<unsigned>(c);
  return true;
}

Status WriteInput(int fd, std::string_view data) {
  if (fd < 0) return Ok();  // stdin closed or none: dropped, as Docker
  return WriteAll(fd, data);
}

}  // namespace

Status ContainerManager::Attach(const std::string& ref, bool start, const HijackFn& hijack) {
  if (start && shutting_down_) return Error(ESHUTDOWN, "stratad is shutting down");
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  uint64_t seen;
  {
    std::lock_guard lock(c->mu);
    if (start && c->active()) {
      return Error(EBUSY, "container " + c->name() + " is already running");
    }
    if (!start && !c->active()) return Error(EBUSY, "container " + c->name() + " is not running");
    seen = c->exits;
  }
  const bool tty = c->config.tty;

  // Subscribed before the start, so the session misses no output.
  std::shared_ptr<Session> session;
  std::mutex session_mu;
  uint64_t subscription = c->log->Subscribe([&](std::string_view stream, std::string_view data) {
    std::lock_guard lock(session_mu);
    if (session) session->Send(stream == "stderr" ? FrameType::kStderr : FrameType::kStdout, data);
  });
  struct Unsubscribe {
    ContainerLog& log;
    uint64_t id;
    ~Unsubscribe() { log.Unsubscribe(id); }
  } unsubscribe{*c->log, subscription};

  int fd = hijack();
  if (fd < 0) return Error(EPROTO, "attach needs a connection that can be upgraded");
  {
    std::lock_guard lock(session_mu);
    session = std::make_shared<Session>(fd);
  }
  if (start) {
    std::lock_guard op(c->op_mu);
    Status started = StartLocked(c, true);
    if (!started.ok()) {
      session->SendError(started.error());
      return Ok();
    }
  }

  auto input = [&]() -> UniqueFd {
    std::lock_guard lock(c->mu);
    return UniqueFd(c->input ? ::fcntl(c->input.get(), F_DUPFD_CLOEXEC, 3) : -1);
  };
  auto on_frame = [&](FrameType type, std::string_view payload) -> Status {
    switch (type) {
      case FrameType::kStdin: {
        UniqueFd in = input();
        (void)WriteInput(in.get(), payload);
        return Ok();
      }
      case FrameType::kStdinClose:
        if (!tty) {
          std::lock_guard lock(c->mu);
          c->input.reset();
        }
        return Ok();
      case FrameType::kResize: {
        unsigned rows, cols;
        if (!ParseResize(payload, &rows, &cols)) return Ok();
        std::lock_guard lock(c->mu);
        if (c->terminal) (void)SetWindowSize(c->terminal.get(), rows, cols);
        return Ok();
      }
      default:
        return Ok();
    }
  };
  for (;;) {
    int code;
    bool exited, gone;
    {
      std::lock_guard lock(c->mu);
      exited = c->exits != seen;
      gone = c->removed || shutting_down_;
      code = c->last_exit;
    }
    // The monitor counts the exit after the pump has passed on the last
    // output, so the exit frame comes after all of it.
    if (exited) {
      WaitUnlistedIfAutoRemoved(c);
      session->SendExit(code);
      return Ok();
    }
    if (gone) {
      session->SendError(Error(ESHUTDOWN, "the container went away"));
      return Ok();
    }
    if (!session->Receive(100ms, on_frame) || session->broken()) return Ok();  // detached
  }
}

Status ContainerManager::ExecAttached(const std::string& ref, const ExecRequest& request,
                                      const HijackFn& hijack) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  ASSIGN_OR_RETURN(ExecProcess process, PrepareExec(c, request));
  const std::string& id = c->config.id;

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  UniqueFd out_r, out_w, in_r, in_w;
  std::unique_ptr<ConsoleSocket> console;
  std::string pid_file;
  if (request.tty) {
    static std::atomic<unsigned> counter{0};
    unsigned n = ++counter;
    ASSIGN_OR_RETURN(console, ConsoleSocket::Create(id.substr(0, 12) + "-x" + std::to_string(n)));
    pid_file = c->bundle_dir() + "/exec-" + std::to_string(n) + ".pid";
    (void)::unlink(pid_file.c_str());
    process.tty = true;
    process.detach = true;
    process.console_socket = console->path();
    process.pid_file = pid_file;
  } else {
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
    out_r.reset(out_pipe[0]);
    out_w.reset(out_pipe[1]);
    if (request.interactive) {
      int in_pipe[2];
      if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
      in_r.reset(in_pipe[0]);
      in_w.reset(in_pipe[1]);
    }
  }

  auto since = ChildReaper::Clock::now();
  ASSIGN_OR_RETURN(pid_t runtime_pid,
                   runtime_.SpawnExec(id, process, {in_r.get(), out_w.get(), err_w.get()}));
  in_r.reset();
  out_w.reset();
  err_w.reset();
  pid_t pid = runtime_pid;  // the process to wait for
  UniqueFd terminal;
  if (request.tty) {
    // Detached: the runtime exits once the process runs; the process is
    // then stratad's child.
    int code = ChildReaper::ExitCode(reaper_.Wait(runtime_pid, std::nullopt, since).value_or(0));
    if (code != 0) {
      int flags = ::fcntl(err_r.get(), F_GETFL);
      ::fcntl(err_r.get(), F_SETFL, flags | O_NONBLOCK);
      auto text = ReadAll(err_r.get());
      std::string line = OciRuntimeCli::ErrorLine(text.ok() ? *text : "");
      return Error(EIO, "exec in " + c->name() + ": " +
                            (line.empty() ? "exit status " + std::to_string(code) : line));
    }
    ASSIGN_OR_RETURN(terminal, console->Receive(5s, nullptr));
    ASSIGN_OR_RETURN(std::string text, ReadFile(pid_file));
    pid = static_cast<pid_t>(std::strtol(text.c_str(), nullptr, 10));
    (void)::unlink(pid_file.c_str());
    if (pid <= 0) return Error::Corrupt(pid_file + ": no pid");
    out_r.reset(::fcntl(terminal.get(), F_DUPFD_CLOEXEC, 3));
    in_w.reset(::fcntl(terminal.get(), F_DUPFD_CLOEXEC, 3));
  }

  int fd = hijack();
  if (fd < 0) return Error(EPROTO, "exec -i/-t needs a connection that can be upgraded");
  Session session(fd);

  auto on_frame = [&](FrameType type, std::string_view payload) -> Status {
    switch (type) {
      case FrameType::kStdin:
        (void)WriteInput(in_w.get(), payload);
        return Ok();
      case FrameType::kStdinClose:
        if (!request.tty) in_w.reset();
        return Ok();
      case FrameType::kResize: {
        unsigned rows, cols;
        if (terminal && ParseResize(payload, &rows, &cols)) {
          (void)SetWindowSize(terminal.get(), rows, cols);
        }
        return Ok();
      }
      default:
        return Ok();
    }
  };

  // Output until every writer is gone (EOF, or EIO from a terminal whose
  // last process has exited), then the exit code.
  char buf[32768];
  bool client = true;
  std::optional<int> status;
  auto forward = [&](int i, std::string_view data) {
    if (client) client = session.Send(i == 0 ? FrameType::kStdout : FrameType::kStderr, data);
  };
  for (;;) {
    if (!out_r && (request.tty || !err_r)) break;
    pollfd fds[3] = {{out_r.get(), POLLIN, 0},
                     {request.tty ? -1 : err_r.get(), POLLIN, 0},
                     {client ? fd : -1, POLLIN, 0}};
    if (::poll(fds, 3, request.tty ? 100 : 1000) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    UniqueFd* sources[2] = {&out_r, &err_r};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        forward(i, std::string_view(buf, static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        sources[i]->reset();
      }
    }
    if (client && fds[2].revents != 0) client = session.Receive(0ms, on_frame);
    if (!client) {
      // Detached: the process gets end of file on stdin, or (terminal) a
      // hangup when the master closes, as when a terminal window goes.
      if (request.tty) return Ok();
      in_w.reset();
    }
    // A terminal gives no end of file while a background child of the
    // process still holds it: the process's own exit ends the session,
    // after what the terminal still holds is passed on.
    if (request.tty && (status = reaper_.Wait(pid, 0ms, since))) {
      ::fcntl(out_r.get(), F_SETFL, ::fcntl(out_r.get(), F_GETFL) | O_NONBLOCK);
      for (ssize_t n; (n = ::read(out_r.get(), buf, sizeof buf)) > 0;) {
        forward(0, std::string_view(buf, static_cast<size_t>(n)));
      }
      break;
    }
  }
  if (!status) status = reaper_.Wait(pid, std::nullopt, since);
  if (client) session.SendExit(ChildReaper::ExitCode(status.value_or(0)));
  return Ok();
}

}  // namespace strata::runtime
