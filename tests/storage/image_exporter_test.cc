// Image export: OCI layout, OCI archive, docker-archive; byte-for-byte
// layers; round trips; a failed export leaves nothing.
#define BOOST_TEST_MODULE image_exporter
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "storage/image_dir.h"
#include "storage/image_exporter.h"
#include "storage/image_importer.h"
#include "tests/support/image_fixtures.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;
using namespace strata::testing;

namespace strata::storage {
std::ostream& boost_test_print_type(std::ostream& os, const Digest& d) { return os << d.str(); }
}  // namespace strata::storage

namespace {

std::string Layer(const std::string& name, size_t size) {
  return TarBuilder(TarBuilder::Format::kGnu)
      .Dir("data")
      .File("data/" + name, std::string(size, name[0]), {.mode = 0640, .uid = 1000, .gid = 1000})
      .Hardlink("data/" + name + ".link", "data/" + name)
      .Symlink("data/" + name + ".sym", name)
      .Finish();
}

struct Fixture {
  TempDir dir = MakeTempDir();
  std::unique_ptr<Store> store = std::move(Store::Open({dir.path() + "/root"}).value());
  TestImage image = MakeImage({Layer("a", 100000), Layer("b", 3), Layer("a", 100000)}, "gzip");

  Fixture() {
    WriteOciLayout(Path("in"), image, {"app:1"});
    ImportOptions options;
    options.path = Path("in");
    options.tags = {"localhost:5000/app:v2"};
    auto r = ImportImageArchive(*store, options);
    BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
  }

  std::string Path(const std::string& name) const { return dir.path() + "/" + name; }

  Status Export(const std::string& name, ExportFormat format) {
    ExportOptions options;
    options.ref = "app:1";
    options.path = Path(name);
    options.format = format;
    return ExportImageTo(*store, image.id(), options);
  }

  // Files beside the targets: nothing but what the test made.
  std::vector<std::string> Leftovers() const {
    std::vector<std::string> names;
    for (const auto& [path, content] : ReadTree(dir.path())) {
      if (path.find(".tmp-") != std::string::npos) names.push_back(path);
    }
    return names;
  }
};

// Extracts a tar file into a new directory (regular files only).
std::map<std::string, std::string> Untar(const std::string& tar, const std::string& dir) {
  auto staged = TempDir::Create(dir, "untar-");
  BOOST_REQUIRE(staged.ok());
  auto st = ExtractImageArchive(tar, staged->path(), ExtractLimits{1 << 30, 1000});
  BOOST_REQUIRE_MESSAGE(st.ok(), ErrorText(st));
  return ReadTree(staged->path());
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(oci_layout_holds_the_image_byte_for_byte, Fixture) {
  BOOST_REQUIRE_MESSAGE(Export("out", ExportFormat::kOciLayout).ok(), "export");
  auto files = ReadTree(Path("out"));
  BOOST_TEST(oci::ParseLayoutFile(files.at("oci-layout"), "oci-layout").ok());
  auto index = oci::ParseImageIndex(files.at("index.json"), "index.json");
  BOOST_REQUIRE_MESSAGE(index.ok(), ErrorText(index));
  BOOST_REQUIRE(index->manifests.size() == 2u);  // one entry per tag
  BOOST_TEST(index->manifests[0].annotations.at("org.opencontainers.image.ref.name") == "app:1");
  BOOST_TEST(index->manifests[1].annotations.at("org.opencontainers.image.ref.name") ==
             "localhost:5000/app:v2");
  BOOST_TEST(index->manifests[0].platform->architecture == "amd64");
  const oci::Descriptor& md = index->manifests[0];
  const std::string& manifest = files.at("blobs/sha256/" + md.digest.hex());
  BOOST_TEST(Sha256::Of(manifest) == md.digest);
  auto m = oci::ParseManifest(manifest, "manifest");
  BOOST_REQUIRE_MESSAGE(m.ok(), ErrorText(m));
  BOOST_TEST(m->config.digest == image.id());
  BOOST_TEST(files.at("blobs/sha256/" + image.id().hex()) == image.config);
  BOOST_REQUIRE(m->layers.size() == 3u);
  for (size_t i = 0; i < 3; ++i) {
    BOOST_TEST(m->layers[i].media_type == oci::media_type::kOciLayer);
    BOOST_TEST(m->layers[i].digest == image.diff_ids[i]);
    BOOST_TEST(files.at("blobs/sha256/" + image.diff_ids[i].hex()) == image.tars[i]);
  }
  BOOST_TEST(Leftovers().empty());
  struct stat st;
  BOOST_REQUIRE(::stat(Path("out").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0755u);
}

BOOST_FIXTURE_TEST_CASE(every_format_round_trips_to_the_same_image, Fixture) {
  BOOST_REQUIRE(Export("layout", ExportFormat::kOciLayout).ok());
  BOOST_REQUIRE(Export("image.oci.tar", ExportFormat::kOciArchive).ok());
  BOOST_REQUIRE(Export("image.docker.tar", ExportFormat::kDockerArchive).ok());

  auto docker = Untar(Path("image.docker.tar"), dir.path());
  auto entries = oci::ParseDockerArchiveManifest(docker.at("manifest.json"), "manifest.json");
  BOOST_REQUIRE_MESSAGE(entries.ok(), ErrorText(entries));
  BOOST_REQUIRE(entries->size() == 1u);
  BOOST_TEST((*entries)[0].config == image.id().hex() + ".json");
  BOOST_TEST((*entries)[0].repo_tags ==
             (std::vector<std::string>{"app:1", "localhost:5000/app:v2"}));
  BOOST_TEST((*entries)[0].layers.size() == 3u);
  BOOST_TEST(docker.at((*entries)[0].layers[1]) == image.tars[1]);
  BOOST_TEST(docker.count("repositories") == 1u);

  for (const char* name : {"layout", "image.oci.tar", "image.docker.tar"}) {
    TempDir other = MakeTempDir();
    auto second = Store::Open({other.path() + "/root"});
    BOOST_REQUIRE(second.ok());
    ImportOptions options;
    options.path = Path(name);
    auto r = ImportImageArchive(**second, options);
    BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
    BOOST_TEST(r->image_id == image.id(), name);
    BOOST_TEST(r->tags == (std::vector<std::string>{"app:1", "localhost:5000/app:v2"}), name);
  }
  BOOST_TEST(Leftovers().empty());
}

BOOST_FIXTURE_TEST_CASE(refuses_occupied_targets, Fixture) {
  WriteTestFile(Path("full/file"), "keep me");
  Status st = Export("full", ExportFormat::kOciLayout);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.error().code() == EEXIST);
  BOOST_TEST(st.error().message().rfind("export app:1: ", 0) == 0, st.error().message());
  BOOST_TEST(ReadTree(Path("full")).size() == 1u);

  BOOST_REQUIRE(::mkdir(Path("empty").c_str(), 0700) == 0);
  BOOST_TEST(Export("empty", ExportFormat::kOciLayout).ok());  // an empty dir is replaced

  st = Export("full", ExportFormat::kDockerArchive);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.error().code() == EISDIR);

  WriteTestFile(Path("old.tar"), "old");
  BOOST_TEST(Export("old.tar", ExportFormat::kOciArchive).ok());  // replaced, like docker save -o
  BOOST_TEST(ReadFile(Path("old.tar"))->size() > 3u);
  BOOST_TEST(Leftovers().empty());
}

BOOST_FIXTURE_TEST_CASE(a_layer_that_does_not_reproduce_fails_and_leaves_nothing, Fixture) {
  // Damage the object of "b"'s 3-byte file without changing its size.
  auto view = store->index().GetEntry(image.diff_ids[1], "/data/b");
  BOOST_REQUIRE(view.ok() && view->has_value());
  std::string object = store->objects().PathOf((*view)->object);
  BOOST_REQUIRE(::chmod(object.c_str(), 0644) == 0);
  WriteTestFile(object, "xyz");

  for (auto format :
       {ExportFormat::kOciLayout, ExportFormat::kOciArchive, ExportFormat::kDockerArchive}) {
    Status st = Export("broken", format);
    BOOST_REQUIRE(!st.ok());
    BOOST_TEST(st.error().code() == EBADMSG);
    BOOST_TEST(st.error().message().find("layer " + image.diff_ids[1].str() +
                                         " does not reproduce its diffID") != std::string::npos,
               st.error().message());
    BOOST_TEST(!PathExists(Path("broken")));
    BOOST_TEST(Leftovers().empty());
  }
}

BOOST_FIXTURE_TEST_CASE(unknown_image, Fixture) {
  ExportOptions options;
  options.path = Path("x.tar");
  Status st = ExportImageTo(*store, Sha256::Of("nothing"), options);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.error().IsNotFound());
  BOOST_TEST(!PathExists(Path("x.tar")));
}
