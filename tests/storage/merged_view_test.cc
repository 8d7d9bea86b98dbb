// The merged view core, driven without a store or a mount.
#define BOOST_TEST_MODULE merged_view
#include <boost/test/unit_test.hpp>

#include "storage/merged_view.h"

using namespace strata::storage;

namespace {

using Layer = std::vector<std::pair<std::string, Entry>>;

Entry Dir(bool opaque = false, uint32_t mode = 0755) {
  Entry e;
  e.type = EntryType::kDirectory;
  e.mode = mode;
  e.opaque = opaque;
  return e;
}
Entry Implicit() {
  Entry e = Dir();
  e.implicit = true;
  return e;
}
Entry File(uint64_t size = 1) {
  Entry e;
  e.type = EntryType::kRegular;
  e.size = size;
  e.mode = 0644;
  return e;
}
Entry Whiteout() {
  Entry e;
  e.type = EntryType::kWhiteout;
  return e;
}
Entry Symlink(const std::string& target) {
  Entry e;
  e.type = EntryType::kSymlink;
  e.link_target = target;
  return e;
}

std::vector<std::string> Paths(const MergedViewBuilder& v) {
  std::vector<std::string> out;
  for (const auto& [path, e] : v.entries()) out.push_back(path);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(upper_replaces_and_whiteouts_delete_subtrees) {
  MergedViewBuilder v;
  BOOST_REQUIRE(v.ApplyLayer(0, {{"/a", Dir()}, {"/b", File()}, {"/a/x", File()},
                                 {"/a/y", Dir()}, {"/a/y/z", File()}}).ok());
  BOOST_REQUIRE(v.ApplyLayer(1, {{"/a", Implicit()}, {"/b", File(7)}, {"/a/y", Whiteout()}}).ok());
  BOOST_TEST(Paths(v) == (std::vector<std::string>{"/", "/a", "/a/x", "/b"}),
             boost::test_tools::per_element());
  BOOST_TEST(v.entries().at("/b").entry.size == 7u);
  BOOST_TEST(v.entries().at("/b").layer == 1u);
  // An implicit directory keeps the lower layer's metadata.
  BOOST_TEST(v.entries().at("/a").layer == 0u);
}

BOOST_AUTO_TEST_CASE(opaque_dirs_hide_lower_children_only) {
  MergedViewBuilder v;
  BOOST_REQUIRE(v.ApplyLayer(0, {{"/d", Dir()}, {"/d/old", File()}, {"/d/sub", Dir()},
                                 {"/d/sub/deep", File()}, {"/e", File()}}).ok());
  BOOST_REQUIRE(v.ApplyLayer(1, {{"/d", Dir(true, 0700)}, {"/d/new", File()}}).ok());
  BOOST_TEST(Paths(v) == (std::vector<std::string>{"/", "/d", "/d/new", "/e"}),
             boost::test_tools::per_element());
  BOOST_TEST(v.entries().at("/d").entry.mode == 0700u);
  BOOST_TEST(!v.entries().at("/d").entry.opaque);
}

BOOST_AUTO_TEST_CASE(a_file_over_a_directory_hides_its_tree_and_back) {
  MergedViewBuilder v;
  BOOST_REQUIRE(v.ApplyLayer(0, {{"/x", Dir()}, {"/x/a", File()}}).ok());
  BOOST_REQUIRE(v.ApplyLayer(1, {{"/x", File()}}).ok());
  BOOST_TEST(Paths(v) == (std::vector<std::string>{"/", "/x"}), boost::test_tools::per_element());
  BOOST_REQUIRE(v.ApplyLayer(2, {{"/x", Dir()}, {"/x/b", File()}}).ok());
  BOOST_TEST(Paths(v) == (std::vector<std::string>{"/", "/x", "/x/b"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(writing_through_a_lower_symlink_is_refused) {
  MergedViewBuilder v;
  BOOST_REQUIRE(v.ApplyLayer(0, {{"/evil", Symlink("/etc")}}).ok());
  auto st = v.ApplyLayer(1, {{"/evil", Implicit()}, {"/evil/passwd", File()}});
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.error().message().find("symlink") != std::string::npos, st.error().message());
}

BOOST_AUTO_TEST_CASE(whiteout_of_a_missing_path_is_harmless) {
  MergedViewBuilder v;
  BOOST_REQUIRE(v.ApplyLayer(0, {{"/a", File()}}).ok());
  BOOST_REQUIRE(v.ApplyLayer(1, {{"/nothing", Whiteout()}}).ok());
  BOOST_TEST(Paths(v) == (std::vector<std::string>{"/", "/a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(many_layers_cost_one_pass_each) {
  // 500 layers (more than overlayfs stacks), each replacing one file and
  // adding one: the view holds the newest of each.
  MergedViewBuilder v;
  for (uint32_t i = 0; i < 500; ++i) {
    BOOST_REQUIRE(v.ApplyLayer(i, {{"/shared", File(i + 1)}, {"/f" + std::to_string(i), File()}}).ok());
  }
  BOOST_TEST(v.entries().size() == 502u);
  BOOST_TEST(v.entries().at("/shared").entry.size == 500u);
  BOOST_TEST(v.entries().at("/shared").layer == 499u);
}

BOOST_AUTO_TEST_CASE(link_counts_and_content_bytes) {
  Entry first = File(100);
  Entry link = File(100);
  link.hardlink_to = "/bin/a";
  MergedViewBuilder v;
  BOOST_REQUIRE(v.ApplyLayer(0, {{"/bin", Dir()}, {"/bin/a", first}, {"/bin/b", link},
                                 {"/bin/c", link}, {"/bin/sub", Dir()}, {"/other", File(5)}}).ok());
  // An upper layer removes the first name: the other two still share a group.
  BOOST_REQUIRE(v.ApplyLayer(1, {{"/bin", Implicit()}, {"/bin/a", Whiteout()}}).ok());
  v.Finish();
  BOOST_TEST(v.entries().at("/bin/b").nlink == 2u);
  BOOST_TEST(v.entries().at("/bin/c").nlink == 2u);
  BOOST_TEST(v.entries().at("/other").nlink == 1u);
  BOOST_TEST(v.entries().at("/bin").nlink == 3u);  // ".", parent's entry, "sub/.."
  BOOST_TEST(v.entries().at("/").nlink == 3u);
  BOOST_TEST(v.content_bytes() == 105u);
}
