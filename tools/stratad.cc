// stratad: the service. It alone opens the store read-write and serves the
// API on a Unix socket until SIGTERM or SIGINT. This file only parses
// arguments and wires the components together.
//
// Exit status: 0 after a signal-initiated shutdown, 1 when the service cannot
// start, 2 on a usage error.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/api_access.h"
#include "runtime/api_protocol.h"
#include "runtime/api_server.h"
#include "runtime/api_tcp_forwarder.h"
#include "runtime/child_reaper.h"
#include "runtime/container_manager.h"
#include "runtime/cron_scheduler.h"
#include "runtime/gc_service.h"
#include "runtime/image_mounts.h"
#include "runtime/volume_status.h"
#include "fuse/fuse_server.h"
#include "registry/registries.h"
#include "monitor/monitor.h"
#include "storage/store.h"

namespace strata::tools {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// A write-back of a root with the writeback cache on opens every file the
// kernel knows and waits for its cached writes: minutes for a big one.
constexpr std::chrono::minutes kSelfAccessTimeout{10};

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// strata-runtime installed beside this binary, else runc from PATH.
std::string DefaultRuntime() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / "strata-runtime";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
  return "runc";
}

int Fail(const std::string& message) {
  std::cerr << "stratad: " << message << "\n";
  return kExitFailure;
}

int Main(int argc, char** argv) {
  CLI::App app{"stratad: the strata service (store, union filesystem, API)",
               "stratad"};
  std::string root = EnvOr("STRATA_ROOT", "/var/lib/strata");
  std::string socket = EnvOr("STRATA_SOCKET", "/run/strata/strata.sock");
  std::string metrics_addr = "127.0.0.1:9850";
  double low_space = 10;
  double statfs_timeout = 2;
  std::string runtime_path;
  app.add_option("--root", root, "the store's root directory [env STRATA_ROOT]")
      ->capture_default_str();
  app.add_option("--socket", socket, "the API's Unix socket [env STRATA_SOCKET]")
      ->capture_default_str();
  std::string api_group = "strata";
  app.add_option("--group", api_group,
                 "group that may use the API besides root (made if missing; the socket is "
                 "root:GROUP 0660)")
      ->capture_default_str();
  std::string api_addr;
  bool api_addr_allow_remote = false;
  app.add_option("--api-addr", api_addr,
                 "HOST:PORT to serve the API on over TCP too (none by default; loopback only "
                 "unless --api-addr-allow-remote; no authentication: see docs/security.md)");
  app.add_flag("--api-addr-allow-remote", api_addr_allow_remote,
               "let --api-addr take a non-loopback address");
  app.add_option("--metrics-addr", metrics_addr,
                 "HOST:PORT to serve Prometheus /metrics on (port 0: any free port; "
                 "\"none\": no metrics)")
      ->capture_default_str();
  app.add_option("--low-space", low_space,
                 "PCT: a volume with less than PCT% of its size available is low on space "
                 "(strata_volume_low, one log line each way)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  app.add_option("--statfs-timeout", statfs_timeout,
                 "seconds a scrape waits for the filesystems behind volumes (a hung one shows "
                 "as strata_volume_up 0)")
      ->check(CLI::Range(0.01, 60.0))
      ->capture_default_str();
  int64_t gc_interval = 0;
  app.add_option("--gc-interval", gc_interval,
                 "seconds between garbage collections (0: none, the default; 'strata gc' "
                 "collects on request)")
      ->check(CLI::NonNegativeNumber);
  registry::RegistriesOptions registry_options;
  app.add_option("--insecure-registry", registry_options.insecure,
                 "HOST[:PORT] reached over plain HTTP or unverified TLS (repeatable; loopback "
                 "registries always are)")
      ->allow_extra_args(false);
  app.add_option("--registry-certs-dir", registry_options.certs_dir,
                 "DIR/HOST[:PORT]/*.crt: CAs a registry's TLS is checked with besides the "
                 "system's (docker's certs.d; a loopback registry with a directory is verified)")
      ->capture_default_str();
  app.add_option("--max-concurrent-transfers", registry_options.parallel,
                 "layers pulled or pushed at once per image")
      ->capture_default_str();
  app.add_option("--runtime", runtime_path,
                 "OCI runtime for containers: strata-runtime, runc or crun (default: "
                 "strata-runtime beside stratad, else runc from PATH)");
  bool fuse_writeback = false;
  app.add_option("--fuse-writeback-cache", fuse_writeback,
                 "the kernel gathers container writes before they reach the upper: small "
                 "writes about a third faster, but every close makes the next stat a round "
                 "trip, and writes not yet written back are lost if stratad dies (on|off)")
      ->capture_default_str();
  bool fuse_io_uring = true;
  app.add_option("--fuse-io-uring", fuse_io_uring,
                 "FUSE requests over io_uring, one queue per CPU, where the kernel has it "
                 "(Linux 6.14+; turns on fuse's enable_uring module parameter) (on|off)")
      ->capture_default_str();
  bool debug = false;
  app.add_flag("--debug", debug,
               "log debug lines too (each registry response: method, URL, HTTP version, status)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "stratad: " << e.what() << " (see 'stratad --help')\n";
    return kExitUsage;
  }

  if (debug) SetLogLevel(LogLevel::kDebug);

  // Block the shutdown signals before any thread exists (RocksDB starts
  // some in Open), so that every thread inherits the mask and only the
  // sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // The FUSE session keeps descriptors of files the kernel knows
  // (fuse/node_files.h, fuse/lower_files.h): the soft limit goes up to the
  // hard one, as container engines do. Containers get their own limit.
  if (struct rlimit rl {}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      LogWarning(Error::FromErrno("raise the open file limit").message());
    }
  }

  std::error_code ec;
  std::filesystem::path abs_root = std::filesystem::absolute(root, ec);
  if (!ec) root = abs_root.lexically_normal().string();

  // Flags are checked before anything starts, so that a wrong one is the
  // only line printed.
  if (!api_addr.empty()) {
    if (Status s = runtime::ApiTcpForwarder::Check(
            {.address = api_addr, .socket_path = socket, .allow_remote = api_addr_allow_remote});
        !s.ok()) {
      return Fail(s.error().message());
    }
  }

  auto store = storage::Store::Open({.root = root});
  if (!store.ok()) {
    if (store.error().code() == EBUSY)
      return Fail("store " + root + " is in use by another stratad");
    return Fail("open store " + root + ": " + store.error().message());
  }

  std::string socket_dir = std::filesystem::path(socket).parent_path().string();
  if (!socket_dir.empty()) {
    if (Status s = MakeDirs(socket_dir, 0755); !s.ok()) return Fail(s.error().message());
  }
  // The union filesystem: image views and container roots under <root>/mnt.
  auto fuse = fuse::FuseServer::Start(
      {.mountpoint = root + "/mnt",
       .statfs_dir = root,
       .writeback_cache = fuse_writeback,
       .io_uring = fuse_io_uring});
  if (!fuse.ok()) return Fail("FUSE: " + fuse.error().message());
  // stratad's children: containers' inits (it is their subreaper) and the
  // helpers that touch its own FUSE mount.
  auto reaper = runtime::ChildReaper::Start();
  if (!reaper.ok()) return Fail(reaper.error().message());
  // What stratad does on its own mount (write-backs) runs in a child.
  (*fuse)->SetSelfAccess([r = reaper->get()](const std::function<Status()>& work) -> Status {
    auto done = r->Call(
        [&]() -> Result<std::string> {
          RETURN_IF_ERROR(work());
          return std::string();
        },
        kSelfAccessTimeout);
    if (!done.ok()) return done.error();
    return Ok();
  });
  auto mounts = runtime::ImageMounts::Open(**store, **fuse, **reaper);
  if (!mounts.ok()) return Fail("mounts: " + mounts.error().message());

  if (runtime_path.empty()) runtime_path = DefaultRuntime();
  auto containers = runtime::ContainerManager::Open(
      {.store = store->get(), .fuse = fuse->get(), .reaper = reaper->get(),
       .runtime = runtime_path});
  if (!containers.ok()) return Fail("containers: " + containers.error().message());
  // What containers read in /run/strata (mnt/status/<id>).
  auto volume_status = std::make_unique<runtime::VolumeStatus>(**containers, root);
  (*fuse)->SetStatusSource(volume_status.get());
  // Scheduled jobs, kept in the index; they run once the containers are back.
  auto cron =
      runtime::CronScheduler::Open({.index = &(*store)->index(), .containers = containers->get()});
  if (!cron.ok()) return Fail(cron.error().message());

  runtime::ApiServices services{**store, mounts->get(), containers->get()};
  registry::Registries registries(registry_options);
  services.registries = &registries;
  services.cron = cron->get();
  auto gc = runtime::GcService::Start({.store = store->get(),
                                       .containers = containers->get(),
                                       .interval = std::chrono::seconds(gc_interval)});
  if (!gc.ok()) return Fail("gc: " + gc.error().message());
  services.gc = gc->get();
  auto group = runtime::EnsureApiGroup(api_group);
  if (!group.ok()) return Fail("API group: " + group.error().message());
  auto server =
      runtime::ApiServer::Start({.socket_path = socket, .socket_group = *group}, services);
  if (!server.ok()) return Fail(server.error().message());
  std::unique_ptr<runtime::ApiTcpForwarder> tcp;
  if (!api_addr.empty()) {
    auto started = runtime::ApiTcpForwarder::Start(
        {.address = api_addr, .socket_path = socket, .allow_remote = api_addr_allow_remote});
    if (!started.ok()) return Fail(started.error().message());
    tcp = std::move(*started);
    LogWarning("serving the API over TCP on " + api_addr.substr(0, api_addr.rfind(':')) + ":" +
               std::to_string(tcp->port()) + " without authentication");
  }
  std::unique_ptr<monitor::Monitor> metrics;
  if (metrics_addr != "none") {
    auto started = monitor::Monitor::Start(
        {.address = metrics_addr,
         .store = store->get(),
         .fuse = &(*fuse)->stats(),
         .containers = containers->get(),
         .gc = gc->get(),
         .cron = cron->get(),
         .low_space_percent = low_space,
         .statfs_timeout = std::chrono::milliseconds(std::llround(statfs_timeout * 1000))});
    if (!started.ok()) return Fail(started.error().message());
    metrics = std::move(*started);
    LogInfo("serving metrics on " + metrics_addr.substr(0, metrics_addr.rfind(':')) + ":" +
            std::to_string(metrics->port()) + "/metrics");
  }
  (*containers)->RestoreContainers();
  (*cron)->Start();

  LogInfo("stratad " + std::string(runtime::StrataVersion()) + " serving store " + root + " on " +
          socket + " (runtime " + runtime_path + ")");
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  LogInfo(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
  // Containers first: requests waiting on them (wait, logs -f) then end,
  // so the server's Stop does not wait for them forever. No job starts
  // meanwhile; the jobs' runs end with the containers.
  (*cron)->Shutdown();
  (*containers)->Shutdown();
  (*server)->Stop();
  metrics.reset();
  // Tear down in reverse order: nothing may use what is already gone.
  server = Error();
  cron = Error();
  gc = Error();
  (*fuse)->SetStatusSource(nullptr);
  volume_status.reset();
  containers = Error();
  (*mounts)->UnmountAll();
  mounts = Error();
  (*fuse)->SetSelfAccess(nullptr);
  reaper = Error();
  (*fuse)->Stop();
  fuse = Error();
  store = Error();
  return 0;
}

}  // namespace
}  // namespace strata::tools

int main(int argc, char** argv) { return strata::tools::Main(argc, argv); }
