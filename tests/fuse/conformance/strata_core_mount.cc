// strata_core_mount: the conformance suite's "strata-core" provider — strata's
// FUSE session (fuse::FuseServer over fuse::UnionRoot) mounted directly on a
// store, without stratad. It exists so that the union filesystem can be
// checked before `strata mount` is wired into stratad, and afterwards as a
// second way in that does not depend on the CLI.
//
//   strata_core_mount --root STORE --mnt DIR [--read-only-store]
//
// Opens the store read-write (no stratad may hold it) or, with
// --read-only-store, read-only beside a running stratad (the images it
// mounts must be imported already: a read-only index sees the store as it
// was when opened; container roots write only to their upper). Mounts the
// session at
// DIR, prints "ready" and then reads commands, one a line, from stdin:
//
//   add NAME IMAGE UPPER WORK
//                         a container root at DIR/containers/NAME over the
//                         chain of IMAGE (a tag or ID), upper and work dirs
//                         as given (created if missing)
//   view NAME IMAGE       a read-only view of IMAGE at DIR/images/NAME
//   rm CATEGORY NAME      removes a root (open files keep working)
//   quit                  (or end of input) unmounts and exits 0
//
// Each command answers one line: "ok" or "err MESSAGE". SIGTERM and SIGINT
// also unmount and exit 0; SIGKILL leaves a stale mount, which the next
// start detaches (FuseServer::CleanStaleMount).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "common/fs.h"
#include "fuse/fuse_server.h"
#include "fuse/lower.h"
#include "storage/store.h"

using namespace strata;

namespace {

int Usage() {
  std::cerr << "usage: strata_core_mount --root STORE --mnt DIR [--read-only-store]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root, mnt;
  bool read_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--read-only-store") {
      read_only = true;
    } else if ((k == "--root" || k == "--mnt") && i + 1 < argc) {
      (k == "--root" ? root : mnt) = argv[++i];
    } else {
      return Usage();
    }
  }
  if (root.empty() || mnt.empty()) return Usage();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = storage::Store::Open({.root = root, .read_only = read_only});
  if (!store.ok()) {
    std::cerr << "strata_core_mount: open store: " << store.error().message() << "\n";
    return 1;
  }
  auto server = fuse::FuseServer::Start({.mountpoint = mnt, .statfs_dir = root});
  if (!server.ok()) {
    std::cerr << "strata_core_mount: " << server.error().message() << "\n";
    return 1;
  }

  // Signals end the process cleanly from a thread of their own; stdin's
  // end does the same from the main thread.
  std::thread([&signals, srv = server->get()] {
    int sig = 0;
    while (sigwait(&signals, &sig) != 0) {
    }
    srv->Stop();
    std::_Exit(0);
  }).detach();

  std::cout << "ready" << std::endl;
  // The chain of an image reference.
  auto chain_of = [&](const std::string& ref) -> Result<storage::Digest> {
    auto id = (*store)->ResolveImage(ref);
    if (!id.ok()) return id.error();
    auto record = (*store)->index().GetImage(*id);
    if (!record.ok()) return record.error();
    if (!record->has_value()) return Error::NotFound("no image record for " + ref);
    return (**record).chain;
  };

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, a, b, c, d;
    in >> cmd >> a >> b >> c >> d;
    Status st;
    if (cmd == "add") {
      auto chain = chain_of(b);
      if (!chain.ok()) st = chain.error();
      else if (Status s = MakeDirs(c, 0755); !s.ok()) st = s;
      else if (Status s2 = MakeDirs(d, 0755); !s2.ok()) st = s2;
      else {
        fuse::UnionRootOptions o;
        o.lower = fuse::MakeChainLower((*store)->index(), (*store)->objects(), *chain);
        o.upper_dir = c;
        o.work_dir = d;
        auto r = fuse::UnionRoot::Open(std::move(o));
        if (!r.ok()) st = r.error();
        else st = (*server)->AddRoot("containers", a, std::move(r).value());
      }
    } else if (cmd == "view") {
      auto chain = chain_of(b);
      if (!chain.ok()) {
        st = chain.error();
      } else {
        fuse::UnionRootOptions o;
        o.lower = fuse::MakeChainLower((*store)->index(), (*store)->objects(), *chain);
        o.statfs_dir = root;
        auto r = fuse::UnionRoot::Open(std::move(o));
        if (!r.ok()) st = r.error();
        else st = (*server)->AddRoot("images", a, std::move(r).value());
      }
    } else if (cmd == "rm") {
      st = (*server)->RemoveRoot(a, b);
    } else if (cmd == "quit") {
      break;
    } else {
      st = Error::Invalid("unknown command: " + line);
    }
    if (st.ok()) std::cout << "ok" << std::endl;
    else std::cout << "err " << st.error().message() << std::endl;
  }
  (*server)->Stop();
  return 0;
}
