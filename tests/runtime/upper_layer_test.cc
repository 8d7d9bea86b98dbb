// A container's upper (overlayfs format) as an OCI layer tar: whiteouts,
// opaque directories, hard links, dropped overlay xattrs, the runtime's
// mount points left out.
#define BOOST_TEST_MODULE runtime_upper_layer
#include <boost/test/unit_test.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>

#include "common/fs.h"
#include "runtime/upper_layer.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

struct TarEntry {
  mode_t type = 0;
  std::string content;
  std::string hardlink;
  std::map<std::string, std::string> xattrs;
};

// The whole tar OpenUpperLayer makes of upper.
std::string UpperTar(const std::string& upper) {
  auto source = OpenUpperLayer(upper);
  BOOST_REQUIRE_MESSAGE(source.ok(), (source.ok() ? "" : source.error().message()));
  std::string tar;
  char buf[65536];
  for (;;) {
    auto n = (*source)->Read(buf, sizeof buf);
    BOOST_REQUIRE_MESSAGE(n.ok(), (n.ok() ? "" : n.error().message()));
    if (*n == 0) break;
    tar.append(buf, *n);
  }
  return tar;
}

std::map<std::string, TarEntry> ReadTar(const std::string& tar) {
  std::map<std::string, TarEntry> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  BOOST_REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e)) t.hardlink = archive_entry_hardlink(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) t.content.append(buf, n);
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs[name] = std::string(static_cast<const char*>(value), size);
    }
    std::string p = archive_entry_pathname(e);
    if (!p.empty() && p.back() == '/') p.pop_back();
    out[p] = t;
  }
  archive_read_free(a);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(overlay_format_becomes_oci_format) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: whiteouts (0/0 devices) and trusted.* xattrs need root");
    return;
  }
  TempDir dir = testing::MakeTempDir();
  std::string up = dir.path() + "/upper";
  BOOST_REQUIRE(MakeDirs(up + "/etc/opaque").ok());
  BOOST_REQUIRE(WriteFileAtomic(up + "/etc/new", "hello").ok());
  BOOST_REQUIRE(::link((up + "/etc/new").c_str(), (up + "/etc/new2").c_str()) == 0);
  BOOST_REQUIRE(::mknod((up + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  BOOST_REQUIRE(::mknod((up + "/topgone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  BOOST_REQUIRE(::setxattr((up + "/etc/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  BOOST_REQUIRE(WriteFileAtomic(up + "/etc/opaque/kept", "k").ok());
  BOOST_REQUIRE(::setxattr((up + "/etc/new").c_str(), "user.note", "n", 1, 0) == 0);
  BOOST_REQUIRE(::symlink("new", (up + "/etc/link").c_str()) == 0);
  BOOST_REQUIRE(WriteFileAtomic(up + "/etc/hostname", "").ok());  // a mount point, left out
  BOOST_REQUIRE(MakeDirs(up + "/run/strata").ok());                // the status mount point, too
  BOOST_REQUIRE(MakeDirs(up + "/srv/strata").ok());                // elsewhere: an empty dir kept

  auto entries = ReadTar(UpperTar(up));
  BOOST_TEST(entries.count("etc"));
  BOOST_TEST(entries["etc/new"].content == "hello");
  BOOST_TEST(entries["etc/new"].xattrs["user.note"] == "n");
  BOOST_TEST(entries["etc/new2"].hardlink == "etc/new");
  BOOST_TEST(entries.count("etc/.wh.gone"));
  BOOST_TEST(entries["etc/.wh.gone"].type == AE_IFREG);
  BOOST_TEST(!entries.count("etc/gone"));
  BOOST_TEST(entries.count(".wh.topgone"));
  BOOST_TEST(!entries.count("topgone"));
  BOOST_TEST(entries.count("etc/opaque/.wh..wh..opq"));
  BOOST_TEST(entries["etc/opaque"].xattrs.empty());  // trusted.overlay.* dropped
  BOOST_TEST(entries["etc/opaque/kept"].content == "k");
  BOOST_TEST(entries["etc/link"].type == AE_IFLNK);
  BOOST_TEST(!entries.count("etc/hostname"));
  BOOST_TEST(!entries.count("run/strata"));
  BOOST_TEST(entries.count("srv/strata"));
}

BOOST_AUTO_TEST_CASE(an_empty_upper_is_an_empty_layer) {
  TempDir dir = testing::MakeTempDir();
  BOOST_REQUIRE(MakeDirs(dir.path() + "/upper").ok());
  const std::string tar = UpperTar(dir.path() + "/upper");
  BOOST_TEST(!tar.empty());  // the end-of-archive blocks
  BOOST_TEST(ReadTar(tar).empty());
}
