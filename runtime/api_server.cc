#include "runtime/api_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include "common/log.h"
#include "common/unique_fd.h"
#include "runtime/api_access.h"
#include "runtime/api_protocol.h"
#include "runtime/api_router.h"

namespace strata::runtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using Socket = asio::local::stream_protocol::socket;

// ---- the socket file ----

Status CheckSocketPath(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error::Invalid("socket path too long (max " +
                          std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes): " + path);
  }
  return Ok();
}

// Removes path if it is a socket nobody answers on.
Status RemoveStaleSocket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return Error::FromErrno("stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) return Error::Exists(path + " exists and is not a socket");

  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) return Error::FromErrno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ||
      errno == EAGAIN || errno == EINPROGRESS) {
    return Error(EADDRINUSE, "another server is listening on " + path);
  }
  if (errno != ECONNREFUSED) return Error::FromErrno("probe " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::FromErrno("remove " + path);
  LogInfo("removed stale socket " + path);
  return Ok();
}

// Waits until fd is readable or timeout passes; false on timeout.
bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n >= 0) return n > 0;
    if (errno != EINTR) return true;  // let the read report it
  }
}

// ---- responses ----

// Answers one request on a synchronous Beast stream. After a write error
// (the client went away) every call is dropped.
class BeastWriter : public ResponseWriter {
 public:
  BeastWriter(Socket& socket, unsigned http_version, bool keep_alive)
      : socket_(socket), version_(http_version), keep_alive_(keep_alive) {}

  bool ok() const { return !ec_; }
  bool keep_alive() const { return keep_alive_; }

  void Reply(unsigned status, const json::value& body) override {
    http::response<http::string_body> res{static_cast<http::status>(status), version_};
    SetCommonFields(res, kJsonContentType);
    res.body() = json::serialize(body);
    res.body().push_back('\n');
    res.prepare_payload();
    http::write(socket_, res, ec_);
  }

  void StartStream() override {
    http::response<http::empty_body> res{http::status::ok, version_};
    SetCommonFields(res, kNdjsonContentType);
    // HTTP/1.0 has no chunked encoding: the body then ends when we close.
    chunked_ = version_ >= 11;
    if (chunked_) {
      res.chunked(true);
    } else {
      keep_alive_ = false;
      res.keep_alive(false);
    }
    http::response_serializer<http::empty_body> serializer{res};
    http::write_header(socket_, serializer, ec_);
  }

  void StreamLine(const json::value& line) override {
    if (ec_) return;
    std::string text = NdjsonLine(line);
    if (chunked_) {
      asio::write(socket_, http::make_chunk(asio::buffer(text)), ec_);
    } else {
      asio::write(socket_, asio::buffer(text), ec_);
    }
  }

  bool PeerGone() const override { return static_cast<bool>(ec_); }

  void FinishStream() override {
    if (ec_ || !chunked_) return;
    asio::write(socket_, http::make_chunk_last(), ec_);
  }

  int Hijack() override {
    if (ec_) return -1;
    static constexpr std::string_view kUpgraded =
        "HTTP/1.1 101 UPGRADED\r\n"
        "Content-Type: application/vnd.strata.attach-stream\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: tcp\r\n\r\n";
    asio::write(socket_, asio::buffer(kUpgraded.data(), kUpgraded.size()), ec_);
    if (ec_) return -1;
    keep_alive_ = false;  // the connection ends with the handler
    return socket_.native_handle();
  }

 private:
  template <typename Response>
  void SetCommonFields(Response& res, std::string_view content_type) {
    res.set(http::field::server, "stratad/" + std::string(StrataVersion()));
    res.set(http::field::content_type, content_type);
    res.keep_alive(keep_alive_);
  }

  Socket& socket_;
  unsigned version_;
  bool keep_alive_;
  bool chunked_ = true;
  boost::system::error_code ec_;
};

}  // namespace

struct ApiServer::Impl {
  struct Connection {
    std::thread thread;
    int fd = -1;  // guarded by mu; -1 once the connection is closing
    std::atomic<bool> busy{false};
    std::atomic<bool> done{false};
  };

  Impl(const ApiServerOptions& opts, const ApiServices& services)
      : options(opts), access(opts.socket_group), router(services) {}

  Status Listen();
  void AcceptLoop();
  void Serve(Connection* conn, Socket socket);
  void ServeRequests(Connection* conn, Socket& socket);
  void ReapFinished();  // accept thread only
  void Stop();

  ApiServerOptions options;
  ApiAccess access;
  ApiRouter router;
  asio::io_context io;  // owns the sockets; never run, all I/O is synchronous
  asio::local::stream_protocol::acceptor acceptor{io};
  ino_t socket_inode = 0;
  UniqueFd wake;  // eventfd: Stop() wakes the accept loop
  std::thread accept_thread;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  bool stopped = false;                                // guarded by mu
  std::list<std::unique_ptr<Connection>> connections;  // changed by the accept thread only
};

Status ApiServer::Impl::Listen() {
  const std::string& path = options.socket_path;
  RETURN_IF_ERROR(CheckSocketPath(path));
  RETURN_IF_ERROR(RemoveStaleSocket(path));
  wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return Error::FromErrno("eventfd");

  boost::system::error_code ec;
  asio::local::stream_protocol::endpoint endpoint(path);
  if (acceptor.open(endpoint.protocol(), ec)) return Error(ec.value(), "socket: " + ec.message());
  if (acceptor.bind(endpoint, ec)) return Error(ec.value(), "bind " + path + ": " + ec.message());
  // Nobody can connect before listen(), so setting the mode here leaves no
  // window with wider permissions (and, unlike umask, touches no other
  // thread's files).
  struct stat st;
  if (options.socket_group != static_cast<gid_t>(-1) &&
      ::chown(path.c_str(), 0, options.socket_group) != 0) {
    Error e = Error::FromErrno("chown " + path);
    ::unlink(path.c_str());
    return e;
  }
  if (::chmod(path.c_str(), options.socket_mode) != 0 || ::lstat(path.c_str(), &st) != 0) {
    Error e = Error::FromErrno("chmod " + path);
    ::unlink(path.c_str());
    return e;
  }
  socket_inode = st.st_ino;
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec) ||
      acceptor.non_blocking(true, ec)) {
    ::unlink(path.c_str());
    return Error(ec.value(), "listen " + path + ": " + ec.message());
  }
  accept_thread = std::thread([this] { AcceptLoop(); });
  return Ok();
}

void ApiServer::Impl::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{acceptor.native_handle(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("api: poll: " + std::string(std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0 || stopping) return;

    Socket socket(io);
    boost::system::error_code ec;
    acceptor.accept(socket, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again ||
        ec == asio::error::interrupted || ec == asio::error::connection_aborted) {
      continue;
    }
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      LogWarning("api: accept: " + ec.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    ReapFinished();
    if (connections.size() >= options.max_connections) {
      LogWarning("api: refusing a connection: " + std::to_string(connections.size()) +
                 " connections open");
      continue;  // socket closes here
    }
    socket.non_blocking(false, ec);
    auto conn = std::make_unique<Connection>();
    Connection* raw = conn.get();
    {
      std::lock_guard lock(mu);
      raw->fd = socket.native_handle();
    }
    connections.push_back(std::move(conn));
    raw->thread =
        std::thread([this, raw, s = std::move(socket)]() mutable { Serve(raw, std::move(s)); });
  }
}

void ApiServer::Impl::ReapFinished() {
  for (auto it = connections.begin(); it != connections.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

// The connection boundary: nothing thrown below gets past here.
void ApiServer::Impl::Serve(Connection* conn, Socket socket) {
  try {
    ServeRequests(conn, socket);
  } catch (const std::exception& e) {
    LogWarning(std::string("api: connection dropped: ") + e.what());
  } catch (...) {
    LogWarning("api: connection dropped: unknown exception");
  }
  {
    // Unregister before the fd is closed, so Stop() never shuts down a
    // descriptor number that has been reused.
    std::lock_guard lock(mu);
    conn->fd = -1;
  }
  boost::system::error_code ignored;
  socket.shutdown(Socket::shutdown_both, ignored);
  socket.close(ignored);
  conn->done = true;
}

void ApiServer::Impl::ServeRequests(Connection* conn, Socket& socket) {
  beast::flat_buffer buffer;
  Status allowed = access.Check(socket.native_handle());
  if (!allowed.ok()) LogWarning("api: refused " + allowed.error().message());
  for (;;) {
    if (buffer.size() == 0 && !WaitReadable(socket.native_handle(), options.idle_timeout)) return;
    if (stopping) return;

    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxMessageBytes);
    boost::system::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      return;
    }
    if (ec) {
      BeastWriter writer(socket, 11, false);
      writer.Reply(400, ErrorToJson(Error::Invalid("bad HTTP request: " + ec.message())));
      return;
    }

    conn->busy = true;
    http::request<http::string_body>& req = parser.get();
    ApiRequest request{std::string(req.method_string()), std::string(req.target()),
                       std::move(req.body())};
    if (!allowed.ok()) {
      // Answered, so the client says why instead of seeing a reset.
      BeastWriter writer(socket, req.version(), false);
      writer.Reply(403, ErrorToJson(Error(EACCES,
                                          "permission denied: only root and the API "
                                          "group may use stratad")));
      conn->busy = false;
      return;
    }
    BeastWriter writer(socket, req.version(), req.keep_alive() && !stopping);
    router.Handle(request, writer);
    conn->busy = false;
    if (!writer.ok() || !writer.keep_alive()) return;
  }
}

void ApiServer::Impl::Stop() {
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    stopped = true;
  }
  stopping = true;
  if (accept_thread.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
    accept_thread.join();
  }
  boost::system::error_code ignored;
  acceptor.close(ignored);
  // Remove the socket file only if it is still the one we bound.
  struct stat st;
  if (socket_inode != 0 && ::lstat(options.socket_path.c_str(), &st) == 0 &&
      st.st_ino == socket_inode) {
    ::unlink(options.socket_path.c_str());
  }

  // The accept thread is gone, so the list no longer changes. Shutting down
  // the read side ends idle connections (their next read sees EOF) while a
  // request in progress can still write its answer.
  size_t busy = 0;
  {
    std::lock_guard lock(mu);
    for (auto& conn : connections) {
      if (conn->fd >= 0) ::shutdown(conn->fd, SHUT_RD);
      if (conn->busy) ++busy;
    }
  }
  if (busy > 0) LogInfo("api: waiting for " + std::to_string(busy) + " request(s) in progress");
  for (auto& conn : connections) conn->thread.join();
  connections.clear();
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { Stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiServerOptions& options,
                                                    const ApiServices& services) {
  auto impl = std::make_unique<Impl>(options, services);
  RETURN_IF_ERROR_CTX(impl->Listen(), "api socket");
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

void ApiServer::Stop() { impl_->Stop(); }

const std::string& ApiServer::socket_path() const { return impl_->options.socket_path; }

}  // namespace strata::runtime
