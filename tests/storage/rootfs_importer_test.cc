// import-rootfs: a directory streamed as a tar, or a tar file; the minimal
// config; all or nothing.
#define BOOST_TEST_MODULE rootfs_importer
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "storage/oci.h"
#include "storage/rootfs_importer.h"
#include "storage/tar_reader.h"
#include "storage/tree_tar_source.h"
#include "tests/support/image_fixtures.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;
using namespace strata::testing;

namespace strata::storage {
std::ostream& boost_test_print_type(std::ostream& os, const Digest& d) { return os << d.str(); }
}  // namespace strata::storage

namespace {

struct Fixture {
  TempDir dir = MakeTempDir();
  std::unique_ptr<Store> store = std::move(Store::Open({dir.path() + "/root"}).value());

  std::string Path(const std::string& name) const { return dir.path() + "/" + name; }

  Result<ImportResult> Import(const std::string& path, const std::string& tag = "rootfs:1") {
    RootfsImportOptions options;
    options.path = path;
    options.tag = tag;
    return ImportRootfsTree(*store, options);
  }

  // A tree with one of each kind of entry the tar can hold.
  std::string MakeTree() {
    std::string root = Path("tree");
    WriteTestFile(root + "/bin/tool", std::string(300000, 't'));
    BOOST_REQUIRE(::chmod((root + "/bin/tool").c_str(), 04755) == 0);
    BOOST_REQUIRE(::link((root + "/bin/tool").c_str(), (root + "/bin/alias").c_str()) == 0);
    BOOST_REQUIRE(::symlink("tool", (root + "/bin/link").c_str()) == 0);
    BOOST_REQUIRE(::mkfifo((root + "/fifo").c_str(), 0600) == 0);
    WriteTestFile(root + "/etc/empty", "");
    WriteTestFile(root + "/etc/x", "attr");
    BOOST_REQUIRE(::mkdir((root + "/empty-dir").c_str(), 0700) == 0);
    if (::lchown((root + "/etc/x").c_str(), 1234, 5678) != 0) BOOST_TEST_MESSAGE("no chown");
    xattrs_ = ::setxattr((root + "/etc/x").c_str(), "user.color", "blue", 4, 0) == 0;
    return root;
  }
  bool xattrs_ = false;
};

std::vector<TarHeader> Headers(const std::string& tar) {
  StringSource src(tar);
  TarReader reader(&src);
  std::vector<TarHeader> out;
  std::string raw;
  TarHeader h;
  for (;;) {
    auto more = reader.Next(&h, &raw);
    BOOST_REQUIRE_MESSAGE(more.ok(), ErrorText(more));
    if (!*more) break;
    out.push_back(h);
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(tree_tar_source_keeps_every_kind_of_entry, Fixture) {
  std::string root = MakeTree();
  auto src = TreeTarSource::Open(root);
  BOOST_REQUIRE_MESSAGE(src.ok(), ErrorText(src));
  std::string tar;
  char buf[7000];  // odd sizes exercise the buffering
  for (;;) {
    auto n = (*src)->Read(buf, sizeof buf);
    BOOST_REQUIRE_MESSAGE(n.ok(), ErrorText(n));
    if (*n == 0) break;
    tar.append(buf, *n);
  }
  std::map<std::string, TarHeader> by_path;
  std::vector<std::string> order;
  for (auto& h : Headers(tar)) {
    order.push_back(h.path);
    by_path[h.path] = h;
  }
  BOOST_TEST(order ==
             (std::vector<std::string>{"bin/", "bin/alias", "bin/link", "bin/tool", "empty-dir/",
                                       "etc/", "etc/empty", "etc/x", "fifo"}));
  BOOST_TEST(by_path["bin/alias"].typeflag == '0');  // the first name has the content
  BOOST_TEST(by_path["bin/alias"].size == 300000u);
  BOOST_TEST(by_path["bin/alias"].mode == 04755u);
  BOOST_TEST(by_path["bin/tool"].typeflag == '1');
  BOOST_TEST(by_path["bin/tool"].link == "bin/alias");
  BOOST_TEST(by_path["bin/link"].typeflag == '2');
  BOOST_TEST(by_path["bin/link"].link == "tool");
  BOOST_TEST(by_path["fifo"].typeflag == '6');
  BOOST_TEST(by_path["empty-dir/"].mode == 0700u);
  if (::geteuid() == 0) {
    BOOST_TEST(by_path["etc/x"].uid == 1234u);
    BOOST_TEST(by_path["etc/x"].gid == 5678u);
  }
  if (xattrs_) {
    BOOST_TEST((by_path["etc/x"].xattrs ==
                std::vector<std::pair<std::string, std::string>>{{"user.color", "blue"}}));
  }
}

BOOST_FIXTURE_TEST_CASE(imports_a_directory, Fixture) {
  std::string root = MakeTree();
  auto r = Import(root, "docker.io/me/rootfs");
  BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
  BOOST_TEST(r->tags == (std::vector<std::string>{"docker.io/me/rootfs:latest"}));
  BOOST_TEST(r->layers == 1u);
  BOOST_TEST(r->objects_created == 2u);  // the tool and "attr"

  auto config = store->ImageConfig("docker.io/me/rootfs");
  BOOST_REQUIRE(config.ok());
  BOOST_TEST(Sha256::Of(*config) == r->image_id);
  auto parsed = oci::ParseImageConfig(*config, "config");
  BOOST_REQUIRE_MESSAGE(parsed.ok(), ErrorText(parsed));
  BOOST_TEST(parsed->architecture == "amd64");
  BOOST_TEST(parsed->os == "linux");
  BOOST_TEST(parsed->created.size() == 20u);  // 2024-01-02T03:04:05Z
  BOOST_REQUIRE(parsed->history.size() == 1u);
  BOOST_TEST(parsed->history[0].created_by == "strata image import-rootfs");
  BOOST_REQUIRE(parsed->diff_ids.size() == 1u);

  auto record = store->index().GetImage(r->image_id);
  BOOST_REQUIRE(record.ok() && record->has_value());
  auto tool = store->index().LookupView((*record)->chain, "/bin/tool");
  BOOST_REQUIRE(tool.ok() && tool->has_value());
  BOOST_TEST((*tool)->entry.size == 300000u);
  BOOST_TEST((*tool)->entry.mode == 04755u);
  auto fifo = store->index().LookupView((*record)->chain, "/fifo");
  BOOST_REQUIRE(fifo.ok() && fifo->has_value());
  BOOST_TEST(((*fifo)->entry.type == EntryType::kFifo));

  // The same tree again: the layer is reused, no object is left pending.
  auto again = Import(root, "rootfs:2");
  BOOST_REQUIRE_MESSAGE(again.ok(), ErrorText(again));
  BOOST_TEST(again->layers_reused == 1u);
  BOOST_TEST(again->objects_created == 0u);
}

BOOST_FIXTURE_TEST_CASE(imports_tar_files, Fixture) {
  std::string tar = TarBuilder().Dir("etc").File("etc/hostname", "box\n").Finish();
  for (const char* filter : {"", "gzip", "zstd"}) {
    std::string name = std::string("rootfs.tar.") + filter;
    WriteTestFile(Path(name), *filter ? Compress(tar, filter) : tar);
    auto r = Import(Path(name), "t:" + std::string(*filter ? filter : "plain"));
    BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
    auto record = store->index().GetImage(r->image_id);
    BOOST_REQUIRE(record.ok() && record->has_value());
    BOOST_TEST((*record)->diff_ids[0] == Sha256::Of(tar));
  }
}

BOOST_FIXTURE_TEST_CASE(refusals_leave_the_store_unchanged, Fixture) {
  WriteTestFile(Path("ok.tar"), TarBuilder().File("a", "a").Finish());
  WriteTestFile(Path("evil.tar"),
                TarBuilder().File("fine", std::string(10000, 'f')).File("../escape", "x").Finish());
  auto check = [&](const std::string& path, const std::string& tag, int code,
                   const std::string& needle) {
    std::string before = StoreSnapshot(*store);
    auto r = Import(path, tag);
    BOOST_REQUIRE_MESSAGE(!r.ok(), path + " was imported");
    BOOST_TEST(r.error().code() == code, r.error().message());
    BOOST_TEST(r.error().message().rfind("import-rootfs " + path + ": ", 0) == 0,
               r.error().message());
    BOOST_TEST(r.error().message().find(needle) != std::string::npos, r.error().message());
    BOOST_TEST(StoreSnapshot(*store) == before);
  };
  check(Path("ok.tar"), "", EINVAL, "a tag is required");
  check(Path("ok.tar"), "UPPER:case", EINVAL, "invalid image name");
  check(Path("missing"), "m:1", ENOENT, "No such file");
  check(Path("evil.tar"), "e:1", EINVAL, "..");
  RootfsImportOptions options;
  options.path = Path("ok.tar");
  options.tag = "p:1";
  options.architecture = "amd 64";
  auto r = ImportRootfsTree(*store, options);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message().find("invalid platform") != std::string::npos);
}
