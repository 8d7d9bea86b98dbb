// ApiServer + ApiRouter + ApiClient together: a real Store in a temporary
// root, a real Unix socket, real HTTP.
#define BOOST_TEST_MODULE runtime_api_server
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/api_client.h"
#include "runtime/api_protocol.h"
#include "runtime/api_server.h"
#include "storage/store.h"

namespace json = boost::json;
using namespace strata;
using namespace strata::runtime;

namespace {

template <typename T>
T Check(Result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
  return std::move(r).value();
}

void CheckOk(const Status& s) {
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message()));
}

UniqueFd ConnectRaw(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  BOOST_REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

struct Fixture {
  Fixture()
      : dir(Check(TempDir::Create("/tmp", "strata-api-test"))),
        store(Check(storage::Store::Open({.root = dir.path() + "/root"}))),
        socket(dir.path() + "/api.sock"),
        server(Check(ApiServer::Start({.socket_path = socket}, *store))),
        client(socket) {}

  ApiResponse Get(const std::string& target) { return Check(client.Request("GET", target)); }

  // A small root filesystem to import.
  std::string MakeRootfs() {
    std::string rootfs = dir.path() + "/rootfs";
    CheckOk(MakeDirs(rootfs + "/etc"));
    CheckOk(WriteFileAtomic(rootfs + "/etc/hostname", "strata\n"));
    CheckOk(WriteFileAtomic(rootfs + "/hello", std::string(100000, 'h')));
    return rootfs;
  }

  TempDir dir;
  std::unique_ptr<storage::Store> store;
  std::string socket;
  std::unique_ptr<ApiServer> server;
  ApiClient client;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(api_server, Fixture)

BOOST_AUTO_TEST_CASE(socket_has_mode_0660) {
  struct stat st;
  BOOST_REQUIRE(::stat(socket.c_str(), &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST((st.st_mode & 07777) == 0660u);
}

BOOST_AUTO_TEST_CASE(version_and_empty_listings) {
  ApiResponse v = Get("/v1/version");
  BOOST_TEST(v.status == 200u);
  BOOST_TEST(v.body.at("version").as_string() == StrataVersion());
  BOOST_TEST(v.body.at("api_version").as_string() == "v1");

  ApiResponse images = Get("/v1/images");
  BOOST_TEST(images.status == 200u);
  BOOST_TEST(images.body.at("images").as_array().empty());

  ApiResponse df = Get("/v1/system/df");
  BOOST_TEST(df.status == 200u);
  BOOST_TEST(df.body.at("object_bytes").to_number<uint64_t>() == 0u);
}

BOOST_AUTO_TEST_CASE(errors_map_to_statuses) {
  ApiResponse missing = Get(BuildTarget({"images", "nope"}));
  BOOST_TEST(missing.status == 404u);
  BOOST_TEST(missing.error().code() == ENOENT);

  BOOST_TEST(Get("/v1/no-such-route").status == 404u);
  BOOST_TEST(Get("/v2/images").status == 404u);
  BOOST_TEST(Get("/v1/images/%zz").status == 400u);
  BOOST_TEST(Check(client.Request("PUT", "/v1/images")).status == 405u);

  ApiResponse bad_body = Check(
      client.Request("POST", BuildTarget({"images", "x", "tag"}), json::value("not an object")));
  BOOST_TEST(bad_body.status == 400u);
  BOOST_TEST(bad_body.error().code() == EINVAL);

  // Validation happens before any stream starts, so these are plain 4xx.
  ApiResponse relative = Check(client.RunOperation(
      "POST", BuildTarget({"images", "import"}), json::object{{"path", "relative/dir"}}, nullptr));
  BOOST_TEST(relative.status == 400u);
  ApiResponse absent =
      Check(client.RunOperation("POST", BuildTarget({"images", "import"}),
                                json::object{{"path", "/nonexistent/x.tar"}}, nullptr));
  BOOST_TEST(absent.status == 404u);
}

BOOST_AUTO_TEST_CASE(import_rootfs_streams_then_the_image_is_listed) {
  std::string rootfs = MakeRootfs();
  int progress_lines = 0;
  ApiResponse r =
      Check(client.RunOperation("POST", BuildTarget({"images", "import-rootfs"}),
                                json::object{{"path", rootfs}, {"tag", "localhost:5000/app:v2"}},
                                [&](const json::object&) { ++progress_lines; }));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
  std::string id(r.body.at("id").as_string());
  BOOST_TEST(id.rfind("sha256:", 0) == 0u);

  // A ref with '/' and ':' travels as one encoded segment.
  ApiResponse inspect = Get(BuildTarget({"images", "localhost:5000/app:v2"}));
  BOOST_REQUIRE(inspect.status == 200u);
  BOOST_TEST(inspect.body.at("id").as_string() == id);
  BOOST_TEST(inspect.body.at("config").is_object());

  ApiResponse history = Get(BuildTarget({"images", id, "history"}));
  BOOST_TEST(history.status == 200u);
  BOOST_TEST(!history.body.at("history").as_array().empty());

  ApiResponse tag = Check(
      client.Request("POST", BuildTarget({"images", id, "tag"}), json::object{{"name", "other"}}));
  BOOST_TEST(tag.status == 201u);
  BOOST_TEST(tag.body.at("tag").as_string() == "other:latest");

  ApiResponse bad_tag = Check(client.Request("POST", BuildTarget({"images", id, "tag"}),
                                             json::object{{"name", "Bad Tag!"}}));
  BOOST_TEST(bad_tag.status == 400u);

  ApiResponse list = Get("/v1/images");
  BOOST_REQUIRE(list.body.at("images").as_array().size() == 1u);

  ApiResponse rm = Check(client.Request("DELETE", BuildTarget({"images", "other"})));
  BOOST_TEST(rm.status == 200u);
  BOOST_TEST(Get(BuildTarget({"images", "other"})).status == 404u);
}

BOOST_AUTO_TEST_CASE(a_failing_operation_ends_its_stream_with_an_error_line) {
  std::string junk = dir.path() + "/junk.tar";
  CheckOk(WriteFileAtomic(junk, "this is not a tar archive\n"));
  ApiResponse r = Check(client.RunOperation("POST", BuildTarget({"images", "import"}),
                                            json::object{{"path", junk}}, nullptr));
  BOOST_TEST(!r.ok());
  BOOST_TEST(!r.error().message().empty());
}

BOOST_AUTO_TEST_CASE(concurrent_clients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      ApiClient c(socket);
      for (int i = 0; i < 20; ++i) {
        auto r = c.Request("GET", "/v1/images");
        if (r.ok() && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == 160);
}

BOOST_AUTO_TEST_CASE(a_live_socket_is_not_taken_over) {
  auto second = ApiServer::Start({.socket_path = socket}, *store);
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().code() == EADDRINUSE);
  BOOST_TEST(Get("/v1/version").status == 200u);
}

BOOST_AUTO_TEST_CASE(stop_closes_idle_connections_and_removes_the_socket) {
  UniqueFd idle = ConnectRaw(socket);  // connected, never sends a request
  auto start = std::chrono::steady_clock::now();
  server->Stop();
  auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 5000);
  BOOST_TEST(!PathExists(socket));

  auto r = client.Request("GET", "/v1/version");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message().find("cannot reach stratad at " + socket) == 0u);
  BOOST_TEST(r.error().message().find("(is stratad running?)") != std::string::npos);

  // A stale socket file (nobody listening) is replaced by the next server.
  UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
  BOOST_REQUIRE(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  auto again = Check(ApiServer::Start({.socket_path = socket}, *store));
  BOOST_TEST(Get("/v1/version").status == 200u);
}

BOOST_AUTO_TEST_CASE(a_path_that_is_not_a_socket_is_left_alone) {
  std::string file = dir.path() + "/regular";
  CheckOk(WriteFileAtomic(file, "keep me"));
  auto r = ApiServer::Start({.socket_path = file}, *store);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code() == EEXIST);
  BOOST_TEST(*ReadFile(file) == "keep me");
}

BOOST_AUTO_TEST_SUITE_END()
