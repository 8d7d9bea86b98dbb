// Maintenance of the store: GC roots and sweep, leases, the write gate,
// fsck's checks and repairs, squash's layer (diffID = sha256 of the tar its
// records replay).
#define BOOST_TEST_MODULE maintenance
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <shared_mutex>
#include <thread>

#include "storage/fsck.h"
#include "storage/gc.h"
#include "storage/image_importer.h"
#include "storage/image_prune.h"
#include "storage/lease.h"
#include "storage/squash.h"
#include "storage/tar_split.h"
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
  return TarBuilder(TarBuilder::Format::kPax)
      .Dir("data")
      .File("data/" + name, std::string(size, name[0]), {.mode = 0640, .uid = 1000, .gid = 1000})
      .Hardlink("data/" + name + ".link", "data/" + name)
      .Symlink("data/" + name + ".sym", name)
      .Finish();
}

struct Fixture {
  TempDir dir = MakeTempDir();
  std::unique_ptr<Store> store = std::move(Store::Open({dir.path() + "/root"}).value());

  Digest Import(const std::vector<std::string>& tars, const std::string& tag,
                const std::string& salt = "") {
    TestImage image = MakeImage(tars, nullptr, "amd64", salt);
    std::string path = dir.path() + "/in-" + image.id().hex().substr(0, 8);
    WriteOciLayout(path, image);
    ImportOptions options;
    options.path = path;
    if (!tag.empty()) options.tags = {tag};
    auto r = ImportImageArchive(*store, options);
    BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
    return r->image_id;
  }

  size_t ObjectFiles() {
    size_t n = 0;
    for (const auto& [path, content] : ReadTree(store->root() + "/objects")) {
      (void)content;
      if (path.back() != '/') ++n;
    }
    return n;
  }

  GcReport Gc(GcOptions options = {}) {
    auto r = CollectGarbage(*store, options);
    BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
    return *r;
  }

  FsckReport Fsck(bool repair = false) {
    auto r = CheckStore(*store, {.repair = repair, .threads = 2});
    BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
    return *r;
  }

  // The layer's tar as export replays it.
  std::string Replay(const Digest& diff_id) {
    std::string out;
    Status st = ReassembleLayer(store->index(), store->objects(), diff_id, [&](std::string_view s) {
      out.append(s);
      return Ok();
    });
    BOOST_REQUIRE_MESSAGE(st.ok(), ErrorText(st));
    return out;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(gc_keeps_tagged_and_removes_unreached, Fixture) {
  Import({Layer("a", 5000)}, "keep:1");
  Digest gone = Import({Layer("b", 7000)}, "gone:1");
  BOOST_TEST(ObjectFiles() == 2u);
  auto removed = store->RemoveImage("gone:1");
  BOOST_REQUIRE(removed.ok());

  GcReport dry = Gc({.dry_run = true});
  BOOST_TEST(dry.objects == 1u);
  BOOST_TEST(dry.object_bytes == 7000u);
  BOOST_TEST(dry.layers == 1u);
  BOOST_TEST(ObjectFiles() == 2u);  // a dry run changes nothing

  GcReport done = Gc();
  BOOST_TEST(done.objects == 1u);
  BOOST_TEST(done.bytes_reclaimed >= 7000u);
  BOOST_TEST(ObjectFiles() == 1u);
  BOOST_TEST(!PathExists(store->blob_path(gone)));
  BOOST_TEST(Fsck().clean());
  BOOST_TEST(Gc().bytes_reclaimed == 0u);
}

BOOST_FIXTURE_TEST_CASE(gc_roots_containers_and_leases, Fixture) {
  std::string tar_c = Layer("c", 3000), tar_l = Layer("l", 4000);
  Digest c = Import({tar_c}, "c:1");
  Import({tar_l}, "l:1");
  BOOST_REQUIRE(store->RemoveImage("c:1").ok());
  BOOST_REQUIRE(store->RemoveImage("l:1").ok());
  // A container holds c's chain; a lease holds l's layer.
  GcOptions options;
  Digest chain = ChainId(Digest(), Sha256::Of(tar_c));
  options.containers = [&]() -> Result<std::vector<ContainerRoot>> {
    return std::vector<ContainerRoot>{{"ctr", chain}};
  };
  {
    auto lease = Lease::Acquire(store->index(), {.description = "test",
                                                 .ttl = std::chrono::seconds(60),
                                                 .layers = {Sha256::Of(tar_l)},
                                                 .objects = {}});
    BOOST_REQUIRE(lease.ok());
    GcReport r = Gc(options);
    BOOST_TEST(r.objects == 0u);
    BOOST_TEST(r.leases_kept == 1u);
    BOOST_TEST(ObjectFiles() == 2u);
  }
  // The lease ended: l goes, the container's chain stays.
  GcReport r = Gc(options);
  BOOST_TEST(r.objects == 1u);
  BOOST_TEST(r.object_bytes == 4000u);
  BOOST_TEST(ObjectFiles() == 1u);
  BOOST_TEST(Replay(Sha256::Of(tar_c)) == tar_c);
  (void)c;
  // An expired lease is no root, and GC removes its record.
  auto expired = Lease::Acquire(store->index(), {.description = "old",
                                                 .ttl = std::chrono::seconds(-1),
                                                 .layers = {Sha256::Of(tar_c)},
                                                 .objects = {}});
  BOOST_REQUIRE(expired.ok());
  r = Gc();
  BOOST_TEST(r.leases_expired == 1u);
  BOOST_TEST(ObjectFiles() == 0u);
}

BOOST_FIXTURE_TEST_CASE(gc_waits_for_writers_and_keeps_young_files, Fixture) {
  // A writer holds the gate: GC waits for it.
  std::atomic<bool> gc_done{false};
  std::thread gc;
  {
    std::shared_lock hold(store->write_gate());
    gc = std::thread([&] {
      (void)CollectGarbage(*store, {});
      gc_done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    BOOST_TEST(!gc_done);
  }
  gc.join();
  BOOST_TEST(gc_done);
  // A file newer than the GC's start stays even if nothing names it.
  WriteTestFile(store->tmp_dir() + "/young", "x");
  struct timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) + 3600, 0}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, (store->tmp_dir() + "/young").c_str(), times, 0) == 0);
  WriteTestFile(store->tmp_dir() + "/old", "y");
  GcReport r = Gc();
  BOOST_TEST(r.tmp_entries == 1u);
  BOOST_TEST(PathExists(store->tmp_dir() + "/young"));
  BOOST_TEST(!PathExists(store->tmp_dir() + "/old"));
}

BOOST_FIXTURE_TEST_CASE(prune_removes_untagged_unused, Fixture) {
  Digest untagged = Import({Layer("u", 100)}, "");
  Digest used = Import({Layer("v", 100)}, "", "used");
  Digest tagged = Import({Layer("t", 100)}, "t:1");
  auto r = PruneImages(*store, {used}, false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->removed.size() == 1u);
  BOOST_TEST(r->removed[0] == untagged);
  BOOST_TEST(!store->index().GetImage(untagged)->has_value());
  BOOST_TEST(store->index().GetImage(used)->has_value());
  BOOST_TEST(store->index().GetImage(tagged)->has_value());
}

BOOST_FIXTURE_TEST_CASE(fsck_repairs_a_view_and_reports_damage, Fixture) {
  std::string tar = Layer("f", 20000);
  Digest id = Import({tar}, "f:1");
  BOOST_TEST(Fsck().clean());

  // A view entry that disagrees with the layers: repairable.
  auto image = *store->index().GetImage(id);
  Index::Batch batch;
  ViewEntry bogus;
  bogus.entry.type = EntryType::kRegular;
  bogus.entry.mode = 0644;
  batch.PutViewEntry(image->chain, "/bogus", bogus);
  BOOST_REQUIRE(store->index().Write(batch).ok());
  FsckReport found = Fsck();
  BOOST_TEST(!found.clean());
  BOOST_TEST(found.problems.at(0).kind == "view");
  FsckReport fixed = Fsck(true);
  BOOST_TEST(fixed.repaired());
  BOOST_TEST(Fsck().clean());
  BOOST_TEST(!store->index().LookupView(image->chain, "/bogus")->has_value());

  // A corrupt object: quarantined, the image named, still damaged.
  ObjectId object = store->index().GetEntry(Sha256::Of(tar), "/data/f")->value().object;
  std::string path = store->objects().PathOf(object);
  ::chmod(path.c_str(), 0644);
  WriteTestFile(path, std::string(20000, 'X'));
  FsckReport bad = Fsck();
  BOOST_TEST(!bad.clean());
  BOOST_TEST(bad.images_hurt == std::vector<std::string>{id.str()});
  FsckReport after = Fsck(true);
  BOOST_TEST(!after.repaired());
  BOOST_TEST(PathExists(store->root() + "/quarantine/" + object.hex()));
  BOOST_TEST(!PathExists(path));
}

BOOST_FIXTURE_TEST_CASE(squash_makes_one_layer_whose_records_replay_its_diff_id, Fixture) {
  std::string base = TarBuilder()
                         .Dir("etc")
                         .File("etc/a", "first a", {.mode = 0600, .uid = 0, .gid = 0})
                         .File("etc/gone", "to be removed")
                         .Fifo("etc/fifo")
                         .CharDevice("etc/null", 1, 3)
                         .Finish();
  std::string top = TarBuilder()
                        .Dir("etc")
                        .File("etc/a", std::string(70000, 'z'))
                        .File("etc/.wh.gone", "")
                        .Hardlink("etc/a2", "etc/a")
                        .Finish();
  Import({base, top}, "two:1");
  size_t objects_before = ObjectFiles();
  auto r = SquashImage(*store, "two:1", "flat:1");
  BOOST_REQUIRE_MESSAGE(r.ok(), ErrorText(r));
  BOOST_TEST(r->layers_before == 2u);
  BOOST_TEST(ObjectFiles() == objects_before);  // nothing copied
  std::string tar = Replay(r->diff_id);
  BOOST_TEST(Sha256::Of(tar) == r->diff_id);
  BOOST_TEST(tar.size() == r->tar_size);
  // The config names that diffID and is the image ID; history kept.
  auto config = ReadFile(store->blob_path(r->image_id));
  BOOST_REQUIRE(config.ok());
  BOOST_TEST(Sha256::Of(*config) == r->image_id);
  auto parsed = oci::ParseImageConfig(*config, "config");
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->diff_ids == std::vector<Digest>{r->diff_id});
  BOOST_TEST(parsed->history.size() == 3u);
  // The squashed view: no whiteout, the top content, a hard link.
  auto image = *store->index().GetImage(r->image_id);
  BOOST_TEST(!store->index().LookupView(image->chain, "/etc/gone")->has_value());
  auto a = store->index().LookupView(image->chain, "/etc/a");
  BOOST_REQUIRE(a.ok() && a->has_value());
  BOOST_TEST((*a)->entry.size == 70000u);
  BOOST_TEST((*a)->nlink == 2u);
  BOOST_TEST(store->index().LookupView(image->chain, "/etc/null")->has_value());
  // Importing the replayed tar as a layer gives the same diffID.
  TestImage again = MakeImage({tar}, nullptr);
  BOOST_TEST(again.diff_ids[0] == r->diff_id);
  BOOST_TEST(Fsck().clean());
}
