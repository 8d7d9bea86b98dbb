// The union core driven without a mount: a real store's merged view as the
// lower, a temporary upper in overlayfs format.
#define BOOST_TEST_MODULE union_root
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>

#include "fuse/lower.h"
#include "fuse/union_root.h"
#include "storage/layer_importer.h"
#include "storage/store.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::fuse;
using strata::testing::TarBuilder;
using strata::testing::TarMeta;

namespace {

std::string Base() {
  return TarBuilder()
      .Dir("etc")
      .File("etc/passwd", "root:x:0:0\n", {.mode = 0640, .uid = 0, .gid = 42, .mtime = 1111111111,
                                           .xattrs = {{"user.origin", "lower"}}})
      .File("etc/hosts", "127.0.0.1 localhost\n")
      .Dir("data", {.mode = 0750, .uid = 7, .gid = 8})
      .File("data/a", "A")
      .Dir("data/sub")
      .File("data/sub/b", "B")
      .File("bin/tool", std::string(100000, 't'), {.mode = 0755})
      .Hardlink("bin/tool-link", "bin/tool")
      .Symlink("bin/sh", "tool")
      .Fifo("run/pipe")
      .CharDevice("dev/null", 1, 3)
      .Finish();
}

std::string Upper() {
  // A second layer: a whiteout and an opaque directory.
  return TarBuilder()
      .Dir("etc")
      .File("etc/.wh.hosts", "")
      .Dir("opaque")
      .File("opaque/.wh..wh..opq", "")
      .File("opaque/new", "n")
      .Finish();
}

struct Fixture {
  TempDir dir = testing::MakeTempDir();
  std::unique_ptr<storage::Store> store;
  storage::Digest chain;

  Fixture() {
    if (::geteuid() != 0) {
      BOOST_TEST_MESSAGE("needs root (whiteouts are device nodes); skipped");
      std::exit(77);
    }
    store = std::move(storage::Store::Open({dir.path() + "/store"}).value());
    std::vector<storage::LayerContents> layers;
    for (const auto& tar : {Base(), Upper()}) {
      testing::StringSource src(tar);
      layers.push_back(std::move(storage::ImportLayer(store->objects(), src).value()));
    }
    storage::Store::NewImage image;
    std::string ids;
    for (const auto& l : layers) {
      image.diff_ids.push_back(l.diff_id);
      image.new_layers.push_back(&l);
      ids += (ids.empty() ? "\"" : ",\"") + l.diff_id.str() + "\"";
    }
    image.config = R"({"rootfs":{"type":"layers","diff_ids":[)" + ids + "]}}";
    auto id = store->CommitImage(image);
    BOOST_REQUIRE_MESSAGE(id.ok(), testing::ErrorText(id));
    chain = (*store->index().GetImage(*id))->chain;
  }

  std::unique_ptr<UnionRoot> Root(bool writable) {
    UnionRootOptions o;
    o.lower = MakeChainLower(store->index(), store->objects(), chain);
    if (writable) {
      o.upper_dir = dir.path() + "/upper";
      o.work_dir = dir.path() + "/work";
    } else {
      o.statfs_dir = dir.path();
    }
    auto root = UnionRoot::Open(std::move(o));
    BOOST_REQUIRE_MESSAGE(root.ok(), testing::ErrorText(root));
    return std::move(root).value();
  }

  std::string UpperPath(const std::string& p) { return dir.path() + "/upper" + p; }
};

std::string ReadAllFd(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::vector<std::string> Names(UnionRoot& root, const std::string& path) {
  auto entries = root.ReadDir(path);
  BOOST_REQUIRE_MESSAGE(entries.ok(), testing::ErrorText(entries));
  std::vector<std::string> out;
  for (const auto& e : *entries) out.push_back(e.name);
  return out;
}

int Code(const Status& s) { return s.ok() ? 0 : s.error().code(); }
template <typename T>
int Code(const Result<T>& r) { return r.ok() ? 0 : r.error().code(); }

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_read_only_view_shows_the_merged_tree, Fixture) {
  auto root = Root(false);
  BOOST_TEST(Names(*root, "/") == (std::vector<std::string>{"bin", "data", "dev", "etc", "opaque", "run"}),
             boost::test_tools::per_element());
  BOOST_TEST(Names(*root, "/etc") == (std::vector<std::string>{"passwd"}), boost::test_tools::per_element());
  auto st = root->Stat("/etc/passwd");
  BOOST_REQUIRE(st.ok());
  BOOST_TEST((st->st_mode & 07777) == 0640u);
  BOOST_TEST(st->st_gid == 42u);
  BOOST_TEST(st->st_mtime == 1111111111);
  BOOST_TEST(Code(root->Stat("/etc/hosts")) == ENOENT);
  BOOST_TEST(*root->ReadLink("/bin/sh") == "tool");
  BOOST_TEST(S_ISFIFO(root->Stat("/run/pipe")->st_mode));
  BOOST_TEST(root->Stat("/dev/null")->st_rdev == makedev(1, 3));
  // Hard links: one inode number, two links.
  BOOST_TEST(root->Stat("/bin/tool")->st_ino == root->Stat("/bin/tool-link")->st_ino);
  BOOST_TEST(root->Stat("/bin/tool")->st_nlink == 2u);
  BOOST_TEST(root->Stat("/bin/tool")->st_ino != root->Stat("/bin/sh")->st_ino);
  auto f = root->OpenFile("/etc/passwd", O_RDONLY);
  BOOST_REQUIRE(f.ok());
  BOOST_TEST(f->lower);
  BOOST_TEST(ReadAllFd(f->fd.get()) == "root:x:0:0\n");
  BOOST_TEST(*root->GetXattr("/etc/passwd", "user.origin") == "lower");
  // Nothing changes a view.
  BOOST_TEST(Code(root->OpenFile("/etc/passwd", O_WRONLY)) == EROFS);
  BOOST_TEST(Code(root->Unlink("/etc/passwd")) == EROFS);
  BOOST_TEST(Code(root->Mkdir("/x", 0755, {})) == EROFS);
}

BOOST_FIXTURE_TEST_CASE(writing_a_lower_file_copies_it_up_whole_and_keeps_its_inode, Fixture) {
  auto root = Root(true);
  uint64_t ino = root->Stat("/etc/passwd")->st_ino;
  auto f = root->OpenFile("/etc/passwd", O_WRONLY | O_APPEND);
  BOOST_REQUIRE_MESSAGE(f.ok(), testing::ErrorText(f));
  BOOST_TEST(!f->lower);
  BOOST_REQUIRE(::write(f->fd.get(), "x\n", 2) == 2);
  struct stat st;
  BOOST_REQUIRE(::lstat(UpperPath("/etc/passwd").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0640u);
  BOOST_TEST(st.st_gid == 42u);
  BOOST_TEST(*ReadFile(UpperPath("/etc/passwd")) == "root:x:0:0\nx\n");
  char value[16];
  BOOST_TEST(::getxattr(UpperPath("/etc/passwd").c_str(), "user.origin", value, sizeof value) == 5);
  BOOST_TEST(root->Stat("/etc/passwd")->st_ino == ino);
  // The parent came up too, with its metadata; the lower's whiteout of
  // hosts is not resurrected.
  BOOST_TEST(Names(*root, "/etc") == (std::vector<std::string>{"passwd"}), boost::test_tools::per_element());
  // Nothing is left in work/.
  BOOST_TEST(::rmdir((dir.path() + "/work").c_str()) == 0);
}

BOOST_FIXTURE_TEST_CASE(hard_link_groups_survive_copy_up, Fixture) {
  auto root = Root(true);
  uint64_t ino = root->Stat("/bin/tool")->st_ino;
  auto f = root->OpenFile("/bin/tool", O_WRONLY | O_TRUNC);
  BOOST_REQUIRE(f.ok());
  BOOST_REQUIRE(::write(f->fd.get(), "new", 3) == 3);
  auto link = root->OpenFile("/bin/tool-link", O_RDONLY);
  BOOST_REQUIRE(link.ok());
  BOOST_TEST(ReadAllFd(link->fd.get()) == "new");
  BOOST_TEST(root->Stat("/bin/tool-link")->st_nlink == 2u);
  BOOST_TEST(root->Stat("/bin/tool-link")->st_ino == ino);
  BOOST_TEST(root->Stat("/bin/tool")->st_ino == ino);
}

BOOST_FIXTURE_TEST_CASE(deleting_lower_entries_leaves_whiteouts, Fixture) {
  auto root = Root(true);
  BOOST_REQUIRE(root->Unlink("/data/a").ok());
  struct stat st;
  BOOST_REQUIRE(::lstat(UpperPath("/data/a").c_str(), &st) == 0);
  BOOST_TEST(S_ISCHR(st.st_mode));
  BOOST_TEST(st.st_rdev == 0u);
  BOOST_TEST(Code(root->Stat("/data/a")) == ENOENT);
  BOOST_TEST(Names(*root, "/data") == (std::vector<std::string>{"sub"}), boost::test_tools::per_element());
  BOOST_TEST(Code(root->Rmdir("/data")) == ENOTEMPTY);
  BOOST_TEST(Code(root->Unlink("/data/sub")) == EISDIR);
  BOOST_REQUIRE(root->Unlink("/data/sub/b").ok());
  BOOST_REQUIRE(root->Rmdir("/data/sub").ok());
  BOOST_REQUIRE(root->Rmdir("/data").ok());
  BOOST_TEST(Code(root->Stat("/data")) == ENOENT);
  // A new directory in its place is opaque: the old children stay gone.
  BOOST_REQUIRE(root->Mkdir("/data", 0700, {5, 6}).ok());
  BOOST_TEST(Names(*root, "/data").empty());
  BOOST_TEST(root->Stat("/data")->st_uid == 5u);
  BOOST_TEST(Code(root->Stat("/data/a")) == ENOENT);
  // ... and its opaque marker is bookkeeping nobody sees.
  BOOST_TEST(root->ListXattr("/data")->empty());
  BOOST_TEST(Code(root->GetXattr("/data", "trusted.overlay.opaque")) == ENODATA);
  BOOST_TEST(Code(root->SetXattr("/data", "trusted.overlay.opaque", "n", 0)) == EPERM);
  // A file created over a whiteout replaces it.
  BOOST_REQUIRE(root->Unlink("/etc/passwd").ok());
  auto f = root->Create("/etc/passwd", 0600, O_WRONLY, {1, 1});
  BOOST_REQUIRE_MESSAGE(f.ok(), testing::ErrorText(f));
  BOOST_TEST(root->Stat("/etc/passwd")->st_size == 0);
  BOOST_TEST(root->Stat("/etc/passwd")->st_uid == 1u);
}

BOOST_FIXTURE_TEST_CASE(renaming_a_directory_with_lower_children_works, Fixture) {
  auto root = Root(true);
  BOOST_REQUIRE(root->Rename("/data", "/moved", 0).ok());
  BOOST_TEST(Code(root->Stat("/data")) == ENOENT);
  BOOST_TEST(Names(*root, "/moved") == (std::vector<std::string>{"a", "sub"}), boost::test_tools::per_element());
  BOOST_TEST(Names(*root, "/moved/sub") == (std::vector<std::string>{"b"}), boost::test_tools::per_element());
  auto b = root->OpenFile("/moved/sub/b", O_RDONLY);
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(ReadAllFd(b->fd.get()) == "B");
  BOOST_TEST(root->Stat("/moved")->st_uid == 7u);
  // And back over the whiteout it left.
  BOOST_REQUIRE(root->Rename("/moved", "/data", 0).ok());
  BOOST_TEST(Names(*root, "/data") == (std::vector<std::string>{"a", "sub"}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(rename_flags, Fixture) {
  auto root = Root(true);
  BOOST_TEST(Code(root->Rename("/etc/passwd", "/data/a", RENAME_NOREPLACE)) == EEXIST);
  BOOST_REQUIRE(root->Rename("/etc/passwd", "/data/a", RENAME_EXCHANGE).ok());
  auto a = root->OpenFile("/data/a", O_RDONLY);
  BOOST_TEST(ReadAllFd(a->fd.get()) == "root:x:0:0\n");
  auto p = root->OpenFile("/etc/passwd", O_RDONLY);
  BOOST_TEST(ReadAllFd(p->fd.get()) == "A");
  BOOST_TEST(Code(root->Rename("/data", "/data/sub/x", 0)) == EINVAL);
  BOOST_TEST(Code(root->Rename("/data", "/etc", 0)) == ENOTEMPTY);
  BOOST_TEST(Code(root->Rename("/etc/passwd", "/data", 0)) == EISDIR);
  // A plain rename of a lower file leaves a whiteout behind.
  BOOST_REQUIRE(root->Rename("/etc/passwd", "/passwd", 0).ok());
  BOOST_TEST(Code(root->Stat("/etc/passwd")) == ENOENT);
  BOOST_TEST(Names(*root, "/etc").empty());
}

BOOST_FIXTURE_TEST_CASE(links_symlinks_nodes_and_attributes, Fixture) {
  auto root = Root(true);
  BOOST_REQUIRE(root->Link("/etc/passwd", "/etc/passwd2").ok());
  BOOST_TEST(root->Stat("/etc/passwd")->st_ino == root->Stat("/etc/passwd2")->st_ino);
  BOOST_TEST(root->Stat("/etc/passwd2")->st_nlink == 2u);
  BOOST_REQUIRE(root->Symlink("/etc/passwd", "/link", {3, 4}).ok());
  BOOST_TEST(*root->ReadLink("/link") == "/etc/passwd");
  BOOST_TEST(root->Stat("/link")->st_uid == 3u);
  BOOST_REQUIRE(root->Mknod("/fifo", S_IFIFO | 0644, 0, {}).ok());
  BOOST_TEST(S_ISFIFO(root->Stat("/fifo")->st_mode));
  BOOST_TEST(Code(root->Mknod("/fake-whiteout", S_IFCHR | 0644, 0, {})) == EPERM);
  // Copy-up of special files keeps their type.
  BOOST_REQUIRE(root->SetAttr("/run/pipe", {.mode = 0600}).ok());
  BOOST_TEST(S_ISFIFO(root->Stat("/run/pipe")->st_mode));
  BOOST_REQUIRE(root->SetAttr("/dev/null", {.uid = 9}).ok());
  BOOST_TEST(root->Stat("/dev/null")->st_rdev == makedev(1, 3));
  BOOST_TEST(root->Stat("/dev/null")->st_uid == 9u);
  auto st = root->SetAttr("/bin/tool", {.size = 10});
  BOOST_REQUIRE(st.ok());
  BOOST_TEST(st->st_size == 10);
  BOOST_TEST(root->Stat("/bin/tool-link")->st_size == 10);
  struct timespec t = {12345, 678};
  BOOST_REQUIRE(root->SetAttr("/etc/hosts-missing", {.atime = t}).ok() == false);
  BOOST_REQUIRE(root->SetAttr("/data/a", {.atime = t, .mtime = t}).ok());
  BOOST_TEST(root->Stat("/data/a")->st_mtim.tv_sec == 12345);
  BOOST_REQUIRE(root->SetXattr("/data/a", "user.k", "v", 0).ok());
  BOOST_TEST(*root->GetXattr("/data/a", "user.k") == "v");
  BOOST_REQUIRE(root->RemoveXattr("/data/a", "user.k").ok());
  BOOST_TEST(Code(root->GetXattr("/data/a", "user.k")) == ENODATA);
  BOOST_TEST(root->StatFs().ok());
}

BOOST_FIXTURE_TEST_CASE(an_opaque_lower_directory_and_a_reopened_root_agree, Fixture) {
  {
    auto root = Root(true);
    BOOST_TEST(Names(*root, "/opaque") == (std::vector<std::string>{"new"}), boost::test_tools::per_element());
    BOOST_REQUIRE(root->Unlink("/data/a").ok());
    BOOST_REQUIRE(root->Mkdir("/fresh", 0755, {}).ok());
  }
  // The upper persists: a new root over it sees the same tree.
  auto root = Root(true);
  BOOST_TEST(Code(root->Stat("/data/a")) == ENOENT);
  BOOST_TEST(root->Stat("/fresh").ok());
  BOOST_TEST(Names(*root, "/data") == (std::vector<std::string>{"sub"}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(link_counts_follow_deletes_and_copy_up_keeps_times, Fixture) {
  auto root = Root(true);
  BOOST_TEST(root->Stat("/bin/tool-link")->st_nlink == 2u);
  BOOST_REQUIRE(root->Unlink("/bin/tool").ok());
  BOOST_TEST(root->Stat("/bin/tool-link")->st_nlink == 1u);
  // Merged directories report 1, as overlayfs does; lower ones their count.
  BOOST_TEST(root->Stat("/data")->st_nlink == 3u);
  BOOST_REQUIRE(root->Mkdir("/data/new", 0755, {}).ok());
  BOOST_TEST(root->Stat("/data")->st_nlink == 1u);
  // Copying a file up changes neither its parent's times nor, for a
  // directory, its own.
  auto before = root->Stat("/data");
  BOOST_REQUIRE(root->SetAttr("/data/sub/b", {.uid = 3}).ok());
  BOOST_TEST(root->Stat("/data")->st_mtim.tv_sec == before->st_mtim.tv_sec);
  BOOST_TEST(root->Stat("/data/sub")->st_mtim.tv_sec == 1700000000);
  // A file deleted and another made in its place get different numbers
  // even if the host reuses the inode.
  auto f = root->Create("/tmpfile", 0644, O_WRONLY, {});
  BOOST_REQUIRE(f.ok());
  uint64_t first = root->Stat("/tmpfile")->st_ino;
  BOOST_REQUIRE(root->Unlink("/tmpfile").ok());
  std::set<uint64_t> seen = {first};
  for (int i = 0; i < 20; ++i) {
    std::string name = "/t" + std::to_string(i);
    BOOST_REQUIRE(root->Create(name, 0644, O_WRONLY, {}).ok());
    BOOST_TEST(seen.insert(root->Stat(name)->st_ino).second);
  }
  // Exec opens carry flags openat2 would refuse; they are dropped.
  BOOST_REQUIRE(root->CopyUp("/bin/sh").ok());
  BOOST_TEST(root->OpenFile("/etc/passwd", O_RDONLY | 040).ok());
  BOOST_REQUIRE(root->CopyUp("/etc/passwd").ok());
  BOOST_TEST(root->OpenFile("/etc/passwd", O_RDONLY | 040).ok());
}

BOOST_FIXTURE_TEST_CASE(a_directory_made_over_a_moved_one_is_a_new_file, Fixture) {
  auto root = Root(true);
  uint64_t ino = root->Stat("/data")->st_ino;
  BOOST_REQUIRE(root->Rename("/data", "/moved", 0).ok());
  BOOST_TEST(root->Stat("/moved")->st_ino == ino);
  BOOST_REQUIRE(root->Mkdir("/data", 0755, {}).ok());
  BOOST_TEST(root->Stat("/data")->st_ino != ino);  // opaque: not the lower directory
  BOOST_REQUIRE(root->Rename("/data", "/away", 0).ok());
  BOOST_REQUIRE(root->Rename("/moved", "/data", 0).ok());
  BOOST_TEST(Names(*root, "/data") == (std::vector<std::string>{"a", "sub"}),
             boost::test_tools::per_element());
  BOOST_TEST(root->Stat("/data")->st_ino == ino);
}

BOOST_FIXTURE_TEST_CASE(copying_up_a_hard_link_group_keeps_directory_times, Fixture) {
  auto root = Root(true);
  auto before = root->Stat("/bin");
  BOOST_REQUIRE(root->CopyUp("/bin/tool").ok());
  BOOST_TEST(root->Stat("/bin/tool-link")->st_nlink == 2u);
  struct stat st;
  BOOST_REQUIRE(::lstat(UpperPath("/bin").c_str(), &st) == 0);
  BOOST_TEST(st.st_mtim.tv_sec == before->st_mtim.tv_sec);
}
