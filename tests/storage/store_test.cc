// The store facade: committing images, views, tags, references, usage.
#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>

#include <rocksdb/db.h>

#include "common/fs.h"
#include "storage/layer_importer.h"
#include "storage/schema.h"
#include "storage/store.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;
using strata::testing::TarBuilder;

namespace {

std::string Config(const std::vector<Digest>& diff_ids, const std::string& salt = "") {
  std::string ids;
  for (const auto& d : diff_ids) ids += (ids.empty() ? "\"" : ",\"") + d.str() + "\"";
  return R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",)"
         R"("config":{"Env":["SALT=)" + salt + R"("]},"rootfs":{"type":"layers","diff_ids":[)" +
         ids + "]}}";
}

struct Fixture {
  TempDir dir = testing::MakeTempDir();
  std::unique_ptr<Store> store = std::move(Store::Open({dir.path() + "/root"}).value());

  LayerContents Layer(const std::string& tar) {
    testing::StringSource src(tar);
    auto layer = ImportLayer(store->objects(), src);
    BOOST_REQUIRE_MESSAGE(layer.ok(), testing::ErrorText(layer));
    return std::move(layer).value();
  }

  // An image whose upper layer writes through a symlink of the lower one,
  // which a view must refuse. Keeps its layers (the image points at them).
  struct EvilImage {
    LayerContents lower, upper;
    Store::NewImage image;
  };
  std::unique_ptr<EvilImage> MakeEvilImage() {
    auto evil = std::make_unique<EvilImage>();
    evil->lower = Layer(TarBuilder().Symlink("evil", "/etc").Finish());
    evil->upper = Layer(TarBuilder().File("evil/passwd", "pwned").Finish());
    evil->image.diff_ids = {evil->lower.diff_id, evil->upper.diff_id};
    evil->image.new_layers = {&evil->lower, &evil->upper};
    evil->image.config = Config(evil->image.diff_ids);
    return evil;
  }
  void Discard(const EvilImage& evil) {
    store->objects().Discard(evil.lower.created_objects);
    store->objects().Discard(evil.upper.created_objects);
  }

  // Commits an image of the given layer tars; returns its ID.
  Digest Commit(const std::vector<std::string>& tars, const std::string& tag,
                const std::string& salt = "") {
    std::vector<LayerContents> layers;
    for (const auto& tar : tars) layers.push_back(Layer(tar));
    Store::NewImage image;
    for (const auto& l : layers) {
      image.diff_ids.push_back(l.diff_id);
      image.new_layers.push_back(&l);
    }
    image.config = Config(image.diff_ids, salt);
    if (!tag.empty()) image.tags = {*Store::NormalizeTag(tag)};
    auto id = store->CommitImage(image);
    BOOST_REQUIRE_MESSAGE(id.ok(), testing::ErrorText(id));
    return *id;
  }
};

std::string Base() {
  return TarBuilder()
      .Dir("bin")
      .File("bin/busybox", std::string(50000, 'B'))
      .Hardlink("bin/sh", "bin/busybox")
      .Dir("etc")
      .File("etc/passwd", "root\n")
      .File("etc/old", "old")
      .Finish();
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(commit_makes_one_view_with_point_lookups_and_prefix_listings, Fixture) {
  std::string upper = TarBuilder().Dir("etc").File("etc/.wh.old", "").File("etc/new", "n").Finish();
  Digest id = Commit({Base(), upper}, "app:1");
  auto image = store->index().GetImage(id);
  BOOST_REQUIRE(image.ok() && image->has_value());
  const Digest chain = (*image)->chain;
  auto chain_record = store->index().GetChain(chain);
  BOOST_REQUIRE(chain_record.ok() && chain_record->has_value());
  BOOST_TEST((*chain_record)->view_ready);
  BOOST_TEST((*chain_record)->depth == 2u);

  auto passwd = store->index().LookupView(chain, "/etc/passwd");
  BOOST_REQUIRE(passwd.ok() && passwd->has_value());
  BOOST_TEST((*passwd)->layer == 0u);
  auto old = store->index().LookupView(chain, "/etc/old");
  BOOST_TEST((old.ok() && !old->has_value()));
  std::vector<std::string> names;
  BOOST_REQUIRE(store->index().ListViewDir(chain, "/etc", [&](std::string_view n, const ViewEntry&) {
    names.emplace_back(n);
    return Ok();
  }).ok());
  BOOST_TEST(names == (std::vector<std::string>{"new", "passwd"}), boost::test_tools::per_element());
  // Hard links count once in the image size.
  BOOST_TEST((*image)->size == 50000u + 5u + 1u);
  // The config is stored under its digest, which is the image ID.
  auto config = store->ImageConfig("app:1");
  BOOST_REQUIRE(config.ok());
  BOOST_TEST(Sha256::Of(*config).str() == id.str());
}

BOOST_FIXTURE_TEST_CASE(references_resolve_by_tag_id_and_prefix, Fixture) {
  Digest id = Commit({Base()}, "busybox");
  BOOST_TEST(store->ResolveImage("busybox")->str() == id.str());
  BOOST_TEST(store->ResolveImage("busybox:latest")->str() == id.str());
  BOOST_TEST(store->ResolveImage(id.str())->str() == id.str());
  BOOST_TEST(store->ResolveImage(id.hex())->str() == id.str());
  BOOST_TEST(store->ResolveImage(id.hex().substr(0, 12))->str() == id.str());
  auto missing = store->ResolveImage("nope");
  BOOST_TEST(!missing.ok());
  BOOST_TEST(missing.error().IsNotFound());
  BOOST_TEST(!Store::NormalizeTag("UPPER").ok());
  BOOST_TEST(!Store::NormalizeTag("a//b").ok());
  BOOST_TEST(*Store::NormalizeTag("localhost:5000/x/y") == "localhost:5000/x/y:latest");
  BOOST_TEST(*Store::NormalizeTag("x:v1.2") == "x:v1.2");
}

BOOST_AUTO_TEST_CASE(tag_length_rules_apply_to_repository_and_tag) {
  // The longest repository, with its default tag, is accepted again in the
  // form it was normalized to.
  const std::string repo(255, 'a');
  auto tag = Store::NormalizeTag(repo);
  BOOST_REQUIRE(tag.ok());
  BOOST_TEST(*tag == repo + ":latest");
  BOOST_TEST(*Store::NormalizeTag(*tag) == *tag);
  BOOST_TEST(Store::NormalizeTag(repo + ":" + std::string(128, 't')).ok());
  auto long_repo = Store::NormalizeTag(repo + "a");
  BOOST_REQUIRE(!long_repo.ok());
  BOOST_TEST(long_repo.error().message().find("repository longer than 255") != std::string::npos);
  BOOST_TEST(!Store::NormalizeTag(repo + ":" + std::string(129, 't')).ok());
}

BOOST_FIXTURE_TEST_CASE(tag_and_remove_keep_content, Fixture) {
  Digest id = Commit({Base()}, "one");
  BOOST_REQUIRE(store->TagImage("one", "two:x").ok());
  BOOST_TEST(store->ResolveImage("two:x")->str() == id.str());
  auto removed = store->RemoveImage("one");
  BOOST_REQUIRE(removed.ok());
  BOOST_TEST(removed->size() == 1u);
  BOOST_TEST(store->ResolveImage("two:x").ok());  // the other tag stays
  BOOST_REQUIRE(store->RemoveImage("two:x").ok());
  BOOST_TEST(!store->ResolveImage(id.str()).ok());  // the last tag took the image
  // Content stays until GC: the layer and its objects are still indexed.
  auto layer = store->index().GetLayer(Sha256::Of(Base()));
  BOOST_TEST((layer.ok() && layer->has_value()));
  size_t objects = 0;
  BOOST_REQUIRE(store->index().ForEachObject([&](const ObjectId& o, const ObjectRecord&) {
    ++objects;
    BOOST_TEST(store->objects().Exists(o));
    return Ok();
  }).ok());
  BOOST_TEST(objects == 3u);
}

BOOST_FIXTURE_TEST_CASE(images_sharing_a_base_store_it_once, Fixture) {
  Commit({Base()}, "base");
  Commit({Base(), TarBuilder().File("extra", std::string(1000, 'e')).Finish()}, "derived");
  auto usage = store->DiskUsage();
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage->images.size() == 2u);
  BOOST_TEST(usage->layers == 2u);
  BOOST_TEST(usage->object_bytes == 50000u + 5u + 3u + 1000u);
  BOOST_TEST(usage->logical_bytes == 2 * (50000u + 5u + 3u) + 1000u);
  for (const auto& image : usage->images) {
    BOOST_TEST(image.shared == 50008u);
    BOOST_TEST(image.unique == (image.tags[0] == "derived:latest" ? 1000u : 0u));
  }
}

BOOST_FIXTURE_TEST_CASE(a_view_that_writes_through_a_lower_symlink_is_refused_whole, Fixture) {
  auto evil = MakeEvilImage();
  auto id = store->CommitImage(evil->image);
  BOOST_REQUIRE(!id.ok());
  BOOST_TEST(id.error().message().find("symlink") != std::string::npos, id.error().message());
  size_t records = 0;
  BOOST_REQUIRE(store->index().Dump([&](std::string_view family, std::string_view, std::string_view) {
    if (family != "meta") ++records;
  }).ok());
  BOOST_TEST(records == 0u);
  Discard(*evil);
}

BOOST_FIXTURE_TEST_CASE(a_refused_commit_leaves_no_blob_behind, Fixture) {
  // CommitImage writes the config before it builds the view (so that the
  // syncfs runs meanwhile): a refusal must take it away again.
  auto evil = MakeEvilImage();
  Store::NewImage& image = evil->image;
  image.manifest = R"({"schemaVersion":2})";
  BOOST_REQUIRE(!store->CommitImage(image).ok());
  BOOST_TEST(!PathExists(store->blob_path(Sha256::Of(image.config))));
  BOOST_TEST(!PathExists(store->blob_path(Sha256::Of(image.manifest))));
  Discard(*evil);
}

BOOST_FIXTURE_TEST_CASE(a_blob_cut_short_by_a_crash_is_written_again, Fixture) {
  // Blobs are not fsynced one by one (the commit's syncfs covers them), so a
  // power cut before that syncfs may leave a config cut short under its
  // name, named by no record. The next commit of that image rewrites it.
  const std::string tar = Base();
  LayerContents layer = Layer(tar);
  Store::NewImage image;
  image.diff_ids = {layer.diff_id};
  image.new_layers = {&layer};
  image.config = Config(image.diff_ids);
  const std::string path = store->blob_path(Sha256::Of(image.config));
  BOOST_REQUIRE(MakeDirs(path.substr(0, path.rfind('/'))).ok());
  BOOST_REQUIRE(ReplaceFile(path, image.config.substr(0, 10), 0444).ok());
  auto id = store->CommitImage(image);
  BOOST_REQUIRE_MESSAGE(id.ok(), testing::ErrorText(id));
  auto stored = ReadFile(path);
  BOOST_REQUIRE(stored.ok());
  BOOST_TEST((*stored == image.config));
  // A whole one is kept as it is.
  auto again = store->CommitImage(image);
  BOOST_REQUIRE_MESSAGE(again.ok(), testing::ErrorText(again));
  BOOST_TEST((*ReadFile(path) == image.config));
}

BOOST_AUTO_TEST_CASE(a_second_writer_is_refused_and_newer_schemas_too) {
  TempDir dir = testing::MakeTempDir();
  auto first = Store::Open({dir.path()});
  BOOST_REQUIRE(first.ok());
  auto second = Store::Open({dir.path()});
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().code() == EBUSY);
  BOOST_TEST(second.error().message().find("in use") != std::string::npos);
  first->reset();

  // A store written by a newer strata is refused with a clear message.
  {
    rocksdb::DBOptions options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}};
    for (const char* name : schema::kAllFamilies) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    BOOST_REQUIRE(rocksdb::DB::Open(options, dir.path() + "/db", families, &handles, &db).ok());
    BOOST_REQUIRE(db->Put({}, handles[1], "schema_version", std::string("\0\0\0\x09", 4)).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto newer = Store::Open({dir.path()});
  BOOST_REQUIRE(!newer.ok());
  BOOST_TEST(newer.error().message().find("newer") != std::string::npos, newer.error().message());
}
