// The FUSE session for real: a mount with an image view and a container
// root, driven with ordinary system calls.
#define BOOST_TEST_MODULE mount
#include <boost/test/unit_test.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fuse/fuse_server.h"
#include "fuse/lower.h"
#include "fuse/read_ahead.h"
#include "storage/layer_importer.h"
#include "storage/store.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::fuse;
using strata::testing::TarBuilder;

namespace {

struct Fixture {
  TempDir dir = testing::MakeTempDir();
  std::unique_ptr<storage::Store> store;
  storage::Digest chain;
  std::unique_ptr<FuseServer> server;
  std::string mnt;

  explicit Fixture(bool writeback_cache = true, bool io_uring = true) {
    if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
      BOOST_TEST_MESSAGE("needs root and /dev/fuse; skipped");
      std::exit(77);
    }
    store = std::move(storage::Store::Open({dir.path() + "/store"}).value());
    std::string tar = TarBuilder()
                          .Dir("etc")
                          .File("etc/passwd", "root:x:0:0\n", {.mode = 0644})
                          .File("etc/big", std::string(3 << 20, 'q'))
                          .Hardlink("etc/big-link", "etc/big")
                          .Symlink("etc/link", "passwd")
                          .Dir("tmp", {.mode = 01777})
                          .Finish();
    testing::StringSource src(tar);
    auto layer = std::move(storage::ImportLayer(store->objects(), src).value());
    storage::Store::NewImage image;
    image.diff_ids = {layer.diff_id};
    image.new_layers = {&layer};
    image.config = R"({"rootfs":{"type":"layers","diff_ids":[")" + layer.diff_id.str() + R"("]}})";
    auto id = store->CommitImage(image);
    BOOST_REQUIRE(id.ok());
    chain = (*store->index().GetImage(*id))->chain;

    mnt = dir.path() + "/mnt";
    auto started = FuseServer::Start({.mountpoint = mnt,
                                      .statfs_dir = dir.path(),
                                      .writeback_cache = writeback_cache,
                                      .io_uring = io_uring});
    BOOST_REQUIRE_MESSAGE(started.ok(), testing::ErrorText(started));
    server = std::move(started).value();
    UnionRootOptions view;
    view.lower = MakeChainLower(store->index(), store->objects(), chain);
    view.statfs_dir = dir.path();
    BOOST_REQUIRE(server->AddRoot("images", "img", std::move(UnionRoot::Open(std::move(view)).value())).ok());
    AddContainerRoot("c1");
  }
  // A container root over the image, its upper in dir/<name>.
  void AddContainerRoot(const std::string& name) {
    UnionRootOptions ctr;
    ctr.lower = MakeChainLower(store->index(), store->objects(), chain);
    ctr.upper_dir = dir.path() + "/" + name + "/upper";
    ctr.work_dir = dir.path() + "/" + name + "/work";
    BOOST_REQUIRE(server->AddRoot("containers", name, std::move(UnionRoot::Open(std::move(ctr)).value())).ok());
  }
  ~Fixture() {
    if (server) server->Stop();
  }
  std::string Img(const std::string& p) { return mnt + "/images/img" + p; }
  std::string Ctr(const std::string& p) { return mnt + "/containers/c1" + p; }
};

struct WriteThroughFixture : Fixture {
  WriteThroughFixture() : Fixture(/*writeback_cache=*/false) {}
};

// Requests through /dev/fuse only, as on kernels without FUSE over io_uring.
struct DevFuseFixture : Fixture {
  DevFuseFixture() : Fixture(/*writeback_cache=*/true, /*io_uring=*/false) {}
};

std::set<std::string> List(const std::string& path) {
  std::set<std::string> names;
  DIR* d = ::opendir(path.c_str());
  BOOST_REQUIRE_MESSAGE(d != nullptr, path);
  while (auto* de = ::readdir(d)) names.insert(de->d_name);
  ::closedir(d);
  return names;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_namespace_and_an_image_view, Fixture) {
  BOOST_TEST((List(mnt) == std::set<std::string>{".", "..", "containers", "images", "status"}));
  BOOST_TEST((List(mnt + "/images") == std::set<std::string>{".", "..", "img"}));
  BOOST_TEST(*ReadFile(Img("/etc/passwd")) == "root:x:0:0\n");
  BOOST_TEST(ReadFile(Img("/etc/big"))->size() == (3u << 20));
  struct stat a, b;
  BOOST_REQUIRE(::stat(Img("/etc/big").c_str(), &a) == 0);
  BOOST_REQUIRE(::stat(Img("/etc/big-link").c_str(), &b) == 0);
  BOOST_TEST(a.st_ino == b.st_ino);
  BOOST_TEST(a.st_nlink == 2u);
  char target[64] = {};
  BOOST_TEST(::readlink(Img("/etc/link").c_str(), target, sizeof target) == 6);
  BOOST_TEST(std::string(target) == "passwd");
  BOOST_TEST(::open(Img("/etc/new").c_str(), O_CREAT | O_WRONLY, 0644) == -1);
  BOOST_TEST(errno == EROFS);
}

// Read requests as large as a spliced reply allows: the readahead window
// and the mount's max_read are four pages under pipe-max-size (or 1 MiB).
// Files are opened without the session (node_files.h): after the first
// open, which the session answers ENOSYS, opens and closes send nothing.
// Reads and writes still reach the right file: a lower file is copied up by
// its first write (not by a write open), with its hard-link group, and
// O_TRUNC arrives as a truncate.
BOOST_FIXTURE_TEST_CASE(files_open_and_close_without_a_request, Fixture) {
  BOOST_REQUIRE(*ReadFile(Img("/etc/passwd")) == "root:x:0:0\n");  // the first open
  const FuseStats& stats = server->stats();
  const uint64_t opens = stats.op(FuseOp::kOpen).count;
  const uint64_t releases = stats.op(FuseOp::kRelease).count;
  for (int i = 0; i < 20; ++i) {
    BOOST_TEST(*ReadFile(Img("/etc/passwd")) == "root:x:0:0\n");
    BOOST_TEST(ReadFile(Ctr("/etc/big"))->size() == (3u << 20));
  }
  BOOST_TEST(stats.op(FuseOp::kOpen).count == opens);
  BOOST_TEST(stats.op(FuseOp::kRelease).count == releases);

  const std::string upper = dir.path() + "/c1/upper";
  {
    auto fd = OpenFile(Ctr("/etc/big"), O_RDWR);
    BOOST_REQUIRE(fd.ok());
    BOOST_TEST(::access((upper + "/etc/big").c_str(), F_OK) == -1);  // not copied up yet
    BOOST_REQUIRE(::pwrite(fd->get(), "Z", 1, 5) == 1);
    BOOST_REQUIRE(::fsync(fd->get()) == 0);
  }
  std::string expected = std::string(3 << 20, 'q');
  expected[5] = 'Z';
  BOOST_TEST((*ReadFile(upper + "/etc/big") == expected));
  BOOST_TEST((*ReadFile(Ctr("/etc/big-link")) == expected));
  struct stat a, b;
  BOOST_REQUIRE(::stat((upper + "/etc/big").c_str(), &a) == 0);
  BOOST_REQUIRE(::stat((upper + "/etc/big-link").c_str(), &b) == 0);
  BOOST_TEST(a.st_ino == b.st_ino);
  BOOST_TEST(*ReadFile(Img("/etc/big")) == std::string(3 << 20, 'q'));  // the image is unchanged

  UniqueFd trunc(::open(Ctr("/etc/passwd").c_str(), O_WRONLY | O_TRUNC));
  BOOST_REQUIRE(trunc);
  trunc.reset();
  BOOST_TEST(ReadFile(Ctr("/etc/passwd"))->empty());
  BOOST_REQUIRE(::stat((upper + "/etc/passwd").c_str(), &a) == 0);
  BOOST_TEST(a.st_size == 0);
}

// A lower file open for writing whose last name goes before it is written
// is copied up without a name at its first change; the upper never shows
// it.
BOOST_FIXTURE_TEST_CASE(a_lower_file_changed_after_its_last_name_went, Fixture) {
  auto fd = OpenFile(Ctr("/etc/passwd"), O_RDWR);
  BOOST_REQUIRE(fd.ok());
  BOOST_REQUIRE(::unlink(Ctr("/etc/passwd").c_str()) == 0);
  BOOST_REQUIRE(::ftruncate(fd->get(), 4) == 0);
  BOOST_REQUIRE(::pwrite(fd->get(), "!", 1, 4) == 1);
  BOOST_REQUIRE(::fsync(fd->get()) == 0);
  struct stat st;
  BOOST_REQUIRE(::fstat(fd->get(), &st) == 0);
  BOOST_TEST(st.st_size == 5);
  BOOST_TEST(st.st_nlink == 0u);
  char buf[16] = {};
  BOOST_TEST(::pread(fd->get(), buf, sizeof buf, 0) == 5);
  BOOST_TEST(std::string(buf) == "root!");
  BOOST_TEST((List(Ctr("/etc")) == std::set<std::string>{".", "..", "big", "big-link", "link"}));
  // The upper has only the whiteout.
  BOOST_REQUIRE(::lstat((dir.path() + "/c1/upper/etc/passwd").c_str(), &st) == 0);
  BOOST_TEST((S_ISCHR(st.st_mode) && st.st_rdev == 0));
  BOOST_TEST(*ReadFile(Img("/etc/passwd")) == "root:x:0:0\n");
}

BOOST_FIXTURE_TEST_CASE(the_mount_reads_ahead_in_requests_a_pipe_can_hold, Fixture) {
  const size_t size = SpliceableReadSize();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto pipe_max = ReadFile("/proc/sys/fs/pipe-max-size");
  BOOST_REQUIRE(pipe_max.ok());
  BOOST_TEST(size + 4 * page <= std::stoul(*pipe_max));
  BOOST_TEST(size >= (512u << 10));
  struct stat st;
  BOOST_REQUIRE(::stat(mnt.c_str(), &st) == 0);
  auto knob = ReadFile("/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                       std::to_string(minor(st.st_dev)) + "/read_ahead_kb");
  BOOST_REQUIRE(knob.ok());
  BOOST_TEST(std::stoul(*knob) == size >> 10);
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  BOOST_REQUIRE(mountinfo.ok());
  bool found = false;
  std::istringstream lines(*mountinfo);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" " + mnt + " ") == std::string::npos) continue;
    found = true;
    BOOST_TEST(line.find("max_read=" + std::to_string(size)) != std::string::npos, line);
  }
  BOOST_TEST(found);
}

// Without the writeback cache a write(2) has reached the upper when it
// returns: nothing is left in the kernel for a dying session to lose.
BOOST_FIXTURE_TEST_CASE(without_the_writeback_cache_writes_reach_the_upper_at_once,
                        WriteThroughFixture) {
  auto fd = OpenFile(Ctr("/tmp/wt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  BOOST_REQUIRE(fd.ok());
  BOOST_REQUIRE(WriteAll(fd->get(), "written through").ok());
  BOOST_TEST(*ReadFile(dir.path() + "/c1/upper/tmp/wt") == "written through");
  auto appended = OpenFile(Ctr("/etc/passwd"), O_WRONLY | O_APPEND);
  BOOST_REQUIRE(appended.ok());
  BOOST_REQUIRE(WriteAll(appended->get(), "x:y\n").ok());
  BOOST_TEST(*ReadFile(dir.path() + "/c1/upper/etc/passwd") == "root:x:0:0\nx:y\n");
}

// The kernel keeps the times of files written through the writeback cache
// and writes them back at a syncfs, also for a file whose last name is gone
// and which nothing holds open: that must not fail the syncfs (commit and
// unmount write back with one).
BOOST_FIXTURE_TEST_CASE(a_syncfs_after_a_written_file_was_removed_succeeds, Fixture) {
  BOOST_REQUIRE(::mkdir(Ctr("/scratch").c_str(), 0755) == 0);
  for (int i = 0; i < 3; ++i) {
    const std::string path = Ctr("/scratch/f" + std::to_string(i));
    BOOST_REQUIRE(WriteFileAtomic(path, "written").ok());
    auto fd = OpenFile(path, O_WRONLY | O_APPEND);
    BOOST_REQUIRE(fd.ok());
    BOOST_REQUIRE(WriteAll(fd->get(), " and more").ok());
  }
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(::unlink(Ctr("/scratch/f" + std::to_string(i)).c_str()) == 0);
  }
  BOOST_REQUIRE(::rmdir(Ctr("/scratch").c_str()) == 0);
  auto root = OpenFile(Ctr("/"), O_RDONLY | O_DIRECTORY);
  BOOST_REQUIRE(root.ok());
  BOOST_TEST(::syncfs(root->get()) == 0, std::strerror(errno));
}

// Commit reads the upper on the host once WriteBack has returned: what a
// process wrote and still holds open (its pages only in the kernel's cache)
// must be in the upper by then. A syncfs on the mount starts that writeback
// but need not wait for the session to have written it (Linux 6.18 does not
// wait for FUSE writeback in syncfs), so the file was often short. A lower
// file opened for writing and given whole new pages has sent the session
// nothing at all before.
BOOST_FIXTURE_TEST_CASE(write_back_leaves_no_cached_write_of_an_open_file_behind, Fixture) {
  const std::string content(64 << 20, 'c');
  struct stat st;
  for (int round = 0; round < 3; ++round) {
    const std::string name = "/tmp/open" + std::to_string(round);
    auto fd = OpenFile(Ctr(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_REQUIRE(fd.ok());
    BOOST_REQUIRE(WriteAll(fd->get(), content).ok());
    Status written = server->WriteBack(FuseServer::kContainers, "c1");
    BOOST_REQUIRE_MESSAGE(written.ok(), testing::ErrorText(written));
    BOOST_REQUIRE(::stat((dir.path() + "/c1/upper" + name).c_str(), &st) == 0);
    BOOST_TEST(st.st_size == static_cast<off_t>(content.size()),
               "round " << round << ": the upper has " << st.st_size << " bytes");
  }
  auto lower = OpenFile(Ctr("/etc/big"), O_WRONLY | O_APPEND);
  BOOST_REQUIRE(lower.ok());
  BOOST_REQUIRE(WriteAll(lower->get(), std::string(1 << 20, 'w')).ok());
  Status written = server->WriteBack(FuseServer::kContainers, "c1");
  BOOST_REQUIRE_MESSAGE(written.ok(), testing::ErrorText(written));
  BOOST_REQUIRE(::stat((dir.path() + "/c1/upper/etc/big").c_str(), &st) == 0);
  BOOST_TEST(st.st_size == (4 << 20));
}

namespace {

// What a container does to its root, and what the upper and the image show.
void WriteThroughAContainerRoot(Fixture& f) {
  auto Ctr = [&](const std::string& p) { return f.Ctr(p); };
  auto Img = [&](const std::string& p) { return f.Img(p); };
  const std::string dir_path = f.dir.path();
  {
    int fd = ::open(Ctr("/etc/passwd").c_str(), O_WRONLY | O_APPEND);
    BOOST_REQUIRE(fd >= 0);
    BOOST_TEST(::write(fd, "x\n", 2) == 2);
    ::close(fd);
  }
  BOOST_TEST(*ReadFile(Ctr("/etc/passwd")) == "root:x:0:0\nx\n");
  BOOST_TEST(*ReadFile(dir_path + "/c1/upper/etc/passwd") == "root:x:0:0\nx\n");
  BOOST_TEST(*ReadFile(Img("/etc/passwd")) == "root:x:0:0\n");  // the image is unchanged
  BOOST_REQUIRE(WriteFileAtomic(Ctr("/tmp/new"), "fresh").ok());
  BOOST_TEST(*ReadFile(Ctr("/tmp/new")) == "fresh");
  BOOST_REQUIRE(::unlink(Ctr("/etc/link").c_str()) == 0);
  BOOST_TEST((List(Ctr("/etc")) == std::set<std::string>{".", "..", "passwd", "big", "big-link"}));
  BOOST_REQUIRE(::mkdir(Ctr("/d").c_str(), 0755) == 0);
  BOOST_REQUIRE(::rename(Ctr("/etc").c_str(), Ctr("/d/etc").c_str()) == 0);
  BOOST_TEST(*ReadFile(Ctr("/d/etc/big-link")) == std::string(3 << 20, 'q'));
  // An open file whose name is unlinked keeps working, with no links left.
  int fd = ::open(Ctr("/tmp/new").c_str(), O_RDWR);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(::unlink(Ctr("/tmp/new").c_str()) == 0);
  struct stat st;
  BOOST_REQUIRE(::fstat(fd, &st) == 0);
  BOOST_TEST(st.st_nlink == 0u);
  char buf[8];
  BOOST_TEST(::pread(fd, buf, sizeof buf, 0) == 5);
  ::close(fd);
  // statfs reports the filesystem behind the upper.
  struct statvfs want, got;
  BOOST_REQUIRE(::statvfs((dir_path + "/c1/upper").c_str(), &want) == 0);
  BOOST_REQUIRE(::statvfs(Ctr("/").c_str(), &got) == 0);
  BOOST_TEST(got.f_blocks == want.f_blocks);
  // xattrs.
  BOOST_REQUIRE(::setxattr(Ctr("/d").c_str(), "user.k", "v", 1, 0) == 0);
  char v[4] = {};
  BOOST_TEST(::getxattr(Ctr("/d").c_str(), "user.k", v, sizeof v) == 1);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_container_root_writes_to_its_upper, Fixture) {
  WriteThroughAContainerRoot(*this);
}

BOOST_FIXTURE_TEST_CASE(over_dev_fuse_alone_a_container_root_works_the_same, DevFuseFixture) {
  WriteThroughAContainerRoot(*this);
  BOOST_TEST(server->uring_requests() == 0u);
}

// The kernel's enable_uring parameter is the sign that it has FUSE over
// io_uring; the fixture's session turned it on.
BOOST_FIXTURE_TEST_CASE(requests_travel_over_io_uring_when_the_kernel_has_it, Fixture) {
  const bool kernel_has_it = ::access("/sys/module/fuse/parameters/enable_uring", F_OK) == 0;
  // The rings take over once every CPU's queue has registered, just after
  // the session's INIT.
  struct stat st;
  struct statvfs fs;
  for (int i = 0; i < 500 && server->uring_requests() < 100; ++i) {
    BOOST_REQUIRE(::stat(Ctr("/etc/passwd").c_str(), &st) == 0);
    BOOST_REQUIRE(*ReadFile(Img("/etc/passwd")) == "root:x:0:0\n");
    BOOST_REQUIRE(::statvfs(Ctr("/").c_str(), &fs) == 0);  // a request every time
    if (server->uring_requests() == 0) ::usleep(10'000);
  }
  if (kernel_has_it) {
    BOOST_TEST(server->uring_requests() >= 100u);
    // Large replies (reads through libfuse's splice) and large requests
    // (writes) fit the ring's buffers.
    BOOST_TEST(*ReadFile(Img("/etc/big")) == std::string(3 << 20, 'q'));
    std::string big(5 << 20, 'w');
    BOOST_REQUIRE(WriteFileAtomic(Ctr("/tmp/big"), big).ok());
    auto root = OpenFile(Ctr("/"), O_RDONLY | O_DIRECTORY);
    BOOST_REQUIRE(root.ok());
    BOOST_REQUIRE(::syncfs(root->get()) == 0);  // the writeback cache's writes go out
    BOOST_TEST(*ReadFile(dir.path() + "/c1/upper/tmp/big") == big);
    BOOST_TEST(*ReadFile(Ctr("/tmp/big")) == big);
    // A child forked now (stratad forks the root warm-up) gets none of the
    // rings' mappings: they would keep the rings, and through them the
    // connection, alive after stratad died.
    pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
      auto maps = ReadFile("/proc/self/maps");
      ::_exit(maps.ok() && maps->find("io_uring") == std::string::npos ? 0 : 1);
    }
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    auto maps = ReadFile("/proc/self/maps");
    BOOST_REQUIRE(maps.ok());
    BOOST_TEST(maps->find("io_uring") != std::string::npos);  // the parent has them
  } else {
    BOOST_TEST(server->uring_requests() == 0u);
  }
}

BOOST_FIXTURE_TEST_CASE(concurrent_readers_and_writers, Fixture) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string path = Ctr("/tmp/f" + std::to_string(t));
      for (int i = 0; i < 50; ++i) {
        if (!WriteFileAtomic(path, std::to_string(i)).ok()) ++failures;
        auto big = ReadFile(Ctr("/etc/big"));
        if (!big.ok() || big->size() != (3u << 20)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(List(Ctr("/tmp")).size() == 10u);
}

BOOST_FIXTURE_TEST_CASE(removed_roots_disappear, Fixture) {
  BOOST_TEST((List(mnt + "/images") == std::set<std::string>{".", "..", "img"}));  // cached now
  BOOST_TEST(::access(Img("/etc").c_str(), F_OK) == 0);
  BOOST_REQUIRE(server->RemoveRoot("images", "img").ok());
  BOOST_TEST(::access(Img("/etc").c_str(), F_OK) != 0);
  BOOST_TEST((List(mnt + "/images") == std::set<std::string>{".", ".."}));
}

// The kernel keeps directory listings (no opendir): the levels that change
// other than through the mount are listed afresh when they do.
BOOST_FIXTURE_TEST_CASE(added_roots_show_in_a_listing_the_kernel_kept, Fixture) {
  BOOST_TEST((List(mnt + "/containers") == std::set<std::string>{".", "..", "c1"}));
  BOOST_TEST((List(mnt + "/containers") == std::set<std::string>{".", "..", "c1"}));
  AddContainerRoot("c2");
  BOOST_TEST((List(mnt + "/containers") == std::set<std::string>{".", "..", "c1", "c2"}));
  // A directory changed through the mount is listed afresh by the kernel.
  BOOST_TEST((List(Ctr("/tmp")) == std::set<std::string>{".", ".."}));
  BOOST_REQUIRE(WriteFileAtomic(Ctr("/tmp/a"), "a").ok());
  BOOST_TEST((List(Ctr("/tmp")) == std::set<std::string>{".", "..", "a"}));
}

namespace {

// A status source whose content changes at every read.
class CountingSource : public StatusSource {
 public:
  std::vector<std::string> Containers() override { return {"c1"}; }
  bool HasContainer(const std::string& id) override { return id == "c1"; }
  Result<std::string> Read(const std::string& id, const std::string& file) override {
    if (id != "c1") return Error::NotFound(id);
    return file + " " + std::to_string(++reads) + "\n";
  }
  std::atomic<int> reads{0};
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(status_files_are_fresh_and_read_only, Fixture) {
  // Without a source the directory is empty.
  BOOST_TEST((List(mnt + "/status") == std::set<std::string>{".", ".."}));
  CountingSource source;
  server->SetStatusSource(&source);
  BOOST_TEST((List(mnt + "/status") == std::set<std::string>{".", "..", "c1"}));
  BOOST_TEST(
      (List(mnt + "/status/c1") == std::set<std::string>{".", "..", "volumes", "volumes.json"}));
  auto first = ReadFile(mnt + "/status/c1/volumes");
  auto second = ReadFile(mnt + "/status/c1/volumes");
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(first->rfind("volumes ", 0) == 0u);
  BOOST_TEST(*first != *second);  // made again for each open
  struct stat st;
  BOOST_REQUIRE(::stat((mnt + "/status/c1/volumes.json").c_str(), &st) == 0);
  BOOST_TEST(S_ISREG(st.st_mode));
  BOOST_TEST((st.st_mode & 0777) == 0444u);
  BOOST_TEST(st.st_size > 0);  // the size of the content the next open serves
  {
    // Files are opened without the session (node_files.h), and root may
    // open a 0444 file for writing: the write is refused when it reaches
    // the session, which close reports; the next open serves the source's
    // content.
    UniqueFd fd(::open((mnt + "/status/c1/volumes").c_str(), O_WRONLY));
    BOOST_REQUIRE(fd);
    BOOST_TEST(::write(fd.get(), "x", 1) == 1);
    BOOST_TEST(::close(fd.release()) == -1);
    auto third = ReadFile(mnt + "/status/c1/volumes");
    BOOST_REQUIRE(third.ok());
    BOOST_TEST(third->rfind("volumes ", 0) == 0u);
  }
  BOOST_TEST(::open((mnt + "/status/c1/new").c_str(), O_CREAT | O_WRONLY, 0644) == -1);
  BOOST_TEST(::access((mnt + "/status/c2").c_str(), F_OK) == -1);
  BOOST_TEST(errno == ENOENT);
  server->SetStatusSource(nullptr);
  BOOST_TEST((List(mnt + "/status") == std::set<std::string>{".", ".."}));
}

namespace {

// A status source whose containers come and go.
class ChangingSource : public StatusSource {
 public:
  std::vector<std::string> Containers() override {
    std::lock_guard lock(mu);
    return ids;
  }
  bool HasContainer(const std::string& id) override {
    std::lock_guard lock(mu);
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }
  Result<std::string> Read(const std::string& id, const std::string&) override {
    if (!HasContainer(id)) return Error::NotFound(id);
    return std::string("x\n");
  }
  std::mutex mu;
  std::vector<std::string> ids = {"a"};
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_status_listing_follows_its_containers, Fixture) {
  ChangingSource source;
  server->SetStatusSource(&source);
  BOOST_TEST((List(mnt + "/status") == std::set<std::string>{".", "..", "a"}));
  {
    std::lock_guard lock(source.mu);
    source.ids = {"a", "b"};
  }
  server->StatusChanged();
  BOOST_TEST((List(mnt + "/status") == std::set<std::string>{".", "..", "a", "b"}));
  {
    std::lock_guard lock(source.mu);
    source.ids = {"b"};
  }
  server->StatusChanged();
  BOOST_TEST((List(mnt + "/status") == std::set<std::string>{".", "..", "b"}));
  server->SetStatusSource(nullptr);
}
