// Image import: OCI layouts, OCI archives, docker-archives; verification of
// every digest; all or nothing.
#define BOOST_TEST_MODULE image_importer
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "storage/image_dir.h"
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

std::string BaseLayer() {
  return TarBuilder()
      .Dir("bin", {.mode = 0755})
      .File("bin/busybox", std::string(70000, 'B'), {.mode = 0755})
      .Hardlink("bin/sh", "bin/busybox")
      .Symlink("bin/ls", "busybox")
      .Dir("etc", {.mode = 0755})
      .File("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
      .Finish();
}

std::string TopLayer(const std::string& unique = "top") {
  return TarBuilder()
      .File("etc/motd", "hello " + unique + "\n")
      .File(".wh.gone", "")
      .File("etc/" + unique, std::string(5000, 'u'))
      .Finish();
}

struct Fixture {
  TempDir dir = MakeTempDir();
  std::unique_ptr<Store> store = std::move(Store::Open({dir.path() + "/root"}).value());

  std::string Path(const std::string& name) const { return dir.path() + "/" + name; }

  Result<ImportResult> Import(const std::string& path, std::vector<std::string> tags = {},
                              const std::string& platform = "linux/amd64") {
    ImportOptions options;
    options.path = path;
    options.tags = std::move(tags);
    options.platform = platform;
    return ImportImageArchive(*store, options);
  }

  // Expects the import to fail with code, leaving the store as it was.
  void ExpectRefused(const std::string& path, int code, const std::string& needle,
                     std::vector<std::string> tags = {}) {
    std::string before = StoreSnapshot(*store);
    auto r = Import(path, std::move(tags));
    BOOST_REQUIRE_MESSAGE(!r.ok(), path + " was imported");
    const std::string& msg = r.error().message();
    BOOST_TEST(r.error().code() == code, msg);
    BOOST_TEST(msg.find(needle) != std::string::npos, msg + " lacks " + needle);
    BOOST_TEST(msg.rfind("import " + path + ": ", 0) == 0, msg);
    BOOST_TEST(msg.find('\n') == std::string::npos, msg);
    BOOST_TEST(StoreSnapshot(*store) == before);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(imports_an_oci_layout, Fixture) {
  TestImage image = MakeImage({BaseLayer(), TopLayer()}, "gzip");
  WriteOciLayout(Path("layout"), image, {"example.com/app:1.0", "latest"});
  std::vector<Progress> progress;
  ImportOptions options;
  options.path = Path("layout");
  options.tags = {"extra", "example.com/app:1.0"};
  options.progress = [&](const Progress& p) { progress.push_back(p); };
  auto r = ImportImageArchive(*store, options);
  BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
  BOOST_TEST(r->image_id == image.id());
  // The bare "latest" names no repository; duplicates collapse.
  BOOST_TEST(r->tags == (std::vector<std::string>{"example.com/app:1.0", "extra:latest"}));
  BOOST_TEST(r->layers == 2u);
  BOOST_TEST(r->layers_reused == 0u);
  BOOST_TEST(r->bytes_read == image.tars[0].size() + image.tars[1].size());
  BOOST_TEST(r->objects_created == 4u);  // busybox, passwd, motd, the unique file
  BOOST_REQUIRE(!progress.empty());
  BOOST_TEST(progress.back().phase == "commit");
  BOOST_TEST(progress.front().layers == 2u);

  auto record = store->index().GetImage(image.id());
  BOOST_REQUIRE(record.ok() && record->has_value());
  BOOST_TEST((*record)->manifest == image.manifest_digest());
  BOOST_TEST((*record)->diff_ids == image.diff_ids);
  BOOST_TEST(*store->index().GetTag("extra:latest").value() == image.id());
  for (size_t i = 0; i < 2; ++i) {
    auto blob = store->index().GetBlob(Sha256::Of(image.blobs[i]));
    BOOST_REQUIRE(blob.ok() && blob->has_value());
    BOOST_TEST(**blob == image.diff_ids[i]);
  }
  auto passwd = store->index().LookupView((*record)->chain, "/etc/passwd");
  BOOST_REQUIRE(passwd.ok() && passwd->has_value());
  BOOST_TEST((*passwd)->layer == 0u);
  BOOST_TEST(ReadTree(store->tmp_dir()).empty());
}

BOOST_FIXTURE_TEST_CASE(oci_archive_and_docker_archive_give_the_same_image, Fixture) {
  TestImage image = MakeImage({BaseLayer(), TopLayer()}, "zstd");
  WriteOciLayout(Path("layout"), image, {"app:v1"});
  WriteTestFile(Path("image.oci.tar"), TarOfTree(Path("layout")));
  WriteDockerArchive(Path("docker"), image, {"docker.io/library/app:v2"});
  WriteTestFile(Path("image.docker.tar.gz"), TarOfTree(Path("docker"), "gzip"));

  auto a = Import(Path("image.oci.tar"));
  BOOST_REQUIRE_MESSAGE(a.ok(), ErrorText(a));
  BOOST_TEST(a->image_id == image.id());
  BOOST_TEST(a->tags == (std::vector<std::string>{"app:v1"}));
  BOOST_TEST(a->layers_reused == 0u);

  auto b = Import(Path("image.docker.tar.gz"));
  BOOST_REQUIRE_MESSAGE(b.ok(), ErrorText(b));
  BOOST_TEST(b->image_id == image.id());
  BOOST_TEST(b->tags == (std::vector<std::string>{"app:v2"}));  // docker.io/library/ dropped
  BOOST_TEST(b->layers_reused == 2u);
  BOOST_TEST(b->objects_created == 0u);
  BOOST_TEST(b->bytes_read == 0u);
  BOOST_TEST(ReadTree(store->tmp_dir()).empty());

  // A docker-archive directory works too, and uncompressed layers.
  Fixture other;
  TestImage plain = MakeImage({BaseLayer()}, nullptr);
  WriteDockerArchive(other.Path("d"), plain, {});
  auto c = other.Import(other.Path("d"));
  BOOST_REQUIRE_MESSAGE(c.ok(), ErrorText(c));
  BOOST_TEST(c->image_id == plain.id());
  BOOST_TEST(c->tags.empty());
}

BOOST_FIXTURE_TEST_CASE(picks_the_platform_from_a_nested_index, Fixture) {
  TestImage amd = MakeImage({BaseLayer(), TopLayer("amd")}, "gzip", "amd64");
  TestImage arm = MakeImage({BaseLayer(), TopLayer("arm")}, "gzip", "arm64");
  WriteBlobs(Path("layout"), amd);
  WriteBlobs(Path("layout"), arm);
  namespace oci = storage::oci;
  oci::ImageIndex nested;
  nested.media_type = std::string(oci::media_type::kOciIndex);
  nested.manifests = {
      {std::string(oci::media_type::kOciManifest),
       amd.manifest_digest(),
       amd.manifest.size(),
       oci::Platform{"linux", "amd64", "", ""},
       {}},
      {std::string(oci::media_type::kOciManifest),
       arm.manifest_digest(),
       arm.manifest.size(),
       oci::Platform{"linux", "arm64", "v8", ""},
       {}},
  };
  std::string nested_json = oci::BuildImageIndex(nested);
  WriteTestFile(BlobFile(Path("layout"), Sha256::Of(nested_json)), nested_json);
  oci::ImageIndex top;
  top.manifests = {{std::string(oci::media_type::kOciIndex),
                    Sha256::Of(nested_json),
                    nested_json.size(),
                    std::nullopt,
                    {{"io.containerd.image.name", "docker.io/library/multi:1"}}}};
  WriteTestFile(Path("layout/index.json"), oci::BuildImageIndex(top));

  auto r = Import(Path("layout"), {}, "linux/arm64");
  BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
  BOOST_TEST(r->image_id == arm.id());
  BOOST_TEST(r->tags == (std::vector<std::string>{"multi:1"}));

  std::string before = StoreSnapshot(*store);
  auto none = Import(Path("layout"), {}, "linux/s390x");
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.error().IsNotFound());
  BOOST_TEST(none.error().message().find("no image for platform linux/s390x") != std::string::npos,
             none.error().message());
  BOOST_TEST(StoreSnapshot(*store) == before);

  auto amd64 = Import(Path("layout"));  // the default platform
  BOOST_REQUIRE_MESSAGE(amd64.ok(), ErrorText(amd64));
  BOOST_TEST(amd64->image_id == amd.id());
  BOOST_TEST(amd64->layers_reused == 1u);  // the shared base
}

BOOST_FIXTURE_TEST_CASE(refuses_digest_and_size_mismatches, Fixture) {
  TestImage image = MakeImage({BaseLayer(), TopLayer("bad")}, "gzip");
  auto layout = [&](const std::string& name) {
    WriteOciLayout(Path(name), image, {"app:1"});
    return Path(name);
  };

  // The second layer's blob is another gzip of the same tar: right diffID,
  // wrong digest. The first layer's objects must go again.
  std::string l2 = layout("wrong-layer-digest");
  WriteTestFile(BlobFile(l2, Sha256::Of(image.blobs[1])), Compress(image.tars[1], "zstd"));
  ExpectRefused(l2, EBADMSG, "layer 2");

  // The config's diffID names other content.
  TestImage wrong = image;
  {
    auto config = *oci::ParseImageConfig(wrong.config, "c");
    config.diff_ids[1] = Sha256::Of("something else");
    wrong.config = oci::BuildImageConfig(config);
    auto m = *oci::ParseManifest(wrong.manifest, "m");
    m.config.digest = wrong.id();
    m.config.size = wrong.config.size();
    wrong.manifest = oci::BuildManifest(m);
    WriteOciLayout(Path("wrong-diffid"), wrong);
    ExpectRefused(Path("wrong-diffid"), EBADMSG, "diffID mismatch");
  }

  // A descriptor size that does not match the blob.
  {
    TestImage sized = image;
    auto m = *oci::ParseManifest(sized.manifest, "m");
    m.layers[0].size += 1;
    sized.manifest = oci::BuildManifest(m);
    WriteOciLayout(Path("wrong-size"), sized);
    ExpectRefused(Path("wrong-size"), EBADMSG, "descriptor says");
  }

  // Manifest and config blobs whose content does not match their names.
  std::string l3 = layout("bad-manifest");
  WriteTestFile(BlobFile(l3, image.manifest_digest()), image.manifest + " ");
  ExpectRefused(l3, EBADMSG, "manifest");
  std::string l4 = layout("bad-config");
  std::string config = image.config;
  config[config.size() - 2] = ' ';
  WriteTestFile(BlobFile(l4, image.id()), config);
  ExpectRefused(l4, EBADMSG, "config");

  std::string l5 = layout("missing-blob");
  BOOST_REQUIRE(::unlink(BlobFile(l5, Sha256::Of(image.blobs[1])).c_str()) == 0);
  ExpectRefused(l5, ENOENT, "No such file");

  // A docker-archive whose config file name is not its digest.
  WriteDockerArchive(Path("docker"), image, {"app:2"});
  BOOST_REQUIRE(::rename(Path("docker/" + image.id().hex() + ".json").c_str(),
                         Path("docker/" + std::string(64, 'a') + ".json").c_str()) == 0);
  std::string manifest = *ReadFile(Path("docker/manifest.json"));
  manifest.replace(manifest.find(image.id().hex()), 64, std::string(64, 'a'));
  WriteTestFile(Path("docker/manifest.json"), manifest);
  ExpectRefused(Path("docker"), EBADMSG, "digest name");
}

BOOST_FIXTURE_TEST_CASE(refuses_malformed_and_hostile_images, Fixture) {
  TestImage image = MakeImage({BaseLayer(), TopLayer("hostile")}, "gzip");
  WriteOciLayout(Path("good"), image, {"app:1"});

  ExpectRefused(Path("nothing-here"), ENOENT, "No such file");
  ExpectRefused(Path("good"), EINVAL, "invalid image name", {"Bad Tag"});

  WriteOciLayout(Path("bad-json"), image);
  WriteTestFile(Path("bad-json/index.json"), "{\"schemaVersion\":2,");
  ExpectRefused(Path("bad-json"), EINVAL, "index.json: invalid JSON");

  WriteTestFile(Path("empty/readme"), "not an image");
  ExpectRefused(Path("empty"), EINVAL, "neither an OCI layout");
  ExpectRefused(Path("empty/readme"), EINVAL, "");  // not a tar

  // A layer tar with an escaping path: refused by the layer importer, and
  // the first layer's objects are discarded.
  TestImage evil = MakeImage({BaseLayer(), TarBuilder().File("../escape", "x").Finish()});
  WriteOciLayout(Path("evil"), evil);
  ExpectRefused(Path("evil"), EINVAL, "layer 2");

  // An archive whose members leave the staging directory.
  WriteTestFile(Path("escape.tar"), TarBuilder().File("../../escape", "x").Finish());
  ExpectRefused(Path("escape.tar"), EINVAL, "contains \"..\"");
  WriteTestFile(Path("abs.tar"), TarBuilder().File("/etc/escape", "x").Finish());
  ExpectRefused(Path("abs.tar"), EINVAL, "absolute");

  // A layout whose blob is a symlink out of the layout.
  WriteOciLayout(Path("link"), image);
  std::string blob = BlobFile(Path("link"), Sha256::Of(image.blobs[0]));
  WriteTestFile(Path("outside"), image.blobs[0]);
  BOOST_REQUIRE(::unlink(blob.c_str()) == 0);
  BOOST_REQUIRE(::symlink(Path("outside").c_str(), blob.c_str()) == 0);
  ExpectRefused(Path("link"), EINVAL, "leaves the image directory");

  // Two different images in one docker-archive.
  TestImage second = MakeImage({BaseLayer()}, "gzip", "amd64", "second");
  WriteDockerArchive(Path("two"), image, {"a:1"});
  std::string one = *ReadFile(Path("two/manifest.json"));
  WriteDockerArchive(Path("two"), second, {"b:1"});
  std::string two = *ReadFile(Path("two/manifest.json"));
  WriteTestFile(Path("two/manifest.json"), one.substr(0, one.size() - 1) + "," + two.substr(1));
  ExpectRefused(Path("two"), EINVAL, "holds 2 images");

  // Encrypted layers are named as such.
  TestImage enc = image;
  auto m = *oci::ParseManifest(enc.manifest, "m");
  m.layers[1].media_type += "+encrypted";
  enc.manifest = oci::BuildManifest(m);
  WriteOciLayout(Path("enc"), enc);
  ExpectRefused(Path("enc"), EINVAL, "encrypted layers are not supported");

  BOOST_TEST(Import(Path("good")).ok());
}

BOOST_FIXTURE_TEST_CASE(staging_respects_its_limits, Fixture) {
  WriteTestFile(Path("a.tar"), TarBuilder().File("a", std::string(1000, 'a')).Finish());
  ExtractLimits limits;
  limits.max_bytes = 999;
  auto staged = TempDir::Create(dir.path(), "stage-");
  BOOST_REQUIRE(staged.ok());
  auto st = ExtractImageArchive(Path("a.tar"), staged->path(), limits);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.error().code() == EFBIG);
  limits.max_bytes = 1000;
  limits.max_entries = 0;
  BOOST_TEST(!ExtractImageArchive(Path("a.tar"), staged->path(), limits).ok());

  // Hard links to earlier files are kept; symlinks and devices are skipped.
  WriteTestFile(Path("b.tar"), TarBuilder()
                                   .Dir("d")
                                   .File("d/f", "content")
                                   .Hardlink("g", "d/f")
                                   .Symlink("s", "/etc/passwd")
                                   .CharDevice("null", 1, 3)
                                   .Finish());
  auto b = TempDir::Create(dir.path(), "stage-");
  BOOST_REQUIRE(b.ok());
  BOOST_REQUIRE(ExtractImageArchive(Path("b.tar"), b->path(), ExtractLimits{1 << 20, 100}).ok());
  BOOST_TEST((ReadTree(b->path()) == std::map<std::string, std::string>{
                                         {"d/", ""}, {"d/f", "content"}, {"g", "content"}}));

  WriteTestFile(Path("dup.tar"), TarBuilder().File("f", "1").File("f", "2").Finish());
  auto c = TempDir::Create(dir.path(), "stage-");
  BOOST_REQUIRE(c.ok());
  auto dup = ExtractImageArchive(Path("dup.tar"), c->path(), ExtractLimits{1 << 20, 100});
  BOOST_REQUIRE(!dup.ok());
  BOOST_TEST(dup.error().message().find("duplicate") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(clean_relative_paths) {
  BOOST_TEST(*CleanRelativePath("./a//b/") == "a/b");
  BOOST_TEST(*CleanRelativePath(".") == "");
  BOOST_TEST(!CleanRelativePath("/a").ok());
  BOOST_TEST(!CleanRelativePath("a/../b").ok());
  BOOST_TEST(!CleanRelativePath(std::string("a\0b", 3)).ok());
  BOOST_TEST(!CleanRelativePath(std::string(256, 'x')).ok());
  BOOST_TEST(!CleanRelativePath(std::string(5000, '/')).ok());
}
