#define BOOST_TEST_MODULE object_store
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/fs.h"
#include "storage/object_store.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;

namespace {

struct Fixture {
  TempDir dir = testing::MakeTempDir();
  std::set<ObjectId> recorded;
  std::unique_ptr<ObjectStore> store;
  Fixture() {
    ObjectStoreOptions o;
    o.objects_dir = dir.path() + "/objects";
    o.tmp_dir = dir.path() + "/tmp";
    o.is_recorded = [this](const ObjectId& id) -> Result<bool> { return recorded.count(id) > 0; };
    store = std::move(ObjectStore::Open(o).value());
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(put_names_content_by_hash_and_dedups, Fixture) {
  auto a = store->Put("hello");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->created);
  BOOST_TEST((a->id == ObjectHasher::Of("hello")));
  BOOST_TEST(*ReadFile(store->PathOf(a->id)) == "hello");
  std::string hex = a->id.hex();
  BOOST_TEST(store->PathOf(a->id) == dir.path() + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2));
  recorded.insert(a->id);
  store->Release({a->id});
  auto b = store->Put("hello");
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(!b->created);  // a dedup hit of a committed object
}

BOOST_FIXTURE_TEST_CASE(large_content_streams_through_tmp, Fixture) {
  std::string big(3 << 20, 'x');
  big[12345] = 'y';
  auto w = store->NewWriter();
  for (size_t i = 0; i < big.size(); i += 100000) {
    BOOST_REQUIRE(w.Append(std::string_view(big).substr(i, 100000)).ok());
  }
  auto put = w.Commit();
  BOOST_REQUIRE(put.ok());
  BOOST_TEST(put->size == big.size());
  BOOST_TEST((*ReadFile(store->PathOf(put->id)) == big));
}

BOOST_FIXTURE_TEST_CASE(a_recorded_object_with_other_content_is_a_collision, Fixture) {
  auto a = store->Put("genuine");
  BOOST_REQUIRE(a.ok());
  recorded.insert(a->id);
  store->Release({a->id});
  // Forge: put other bytes in the file of an id, then write content that
  // hashes to that id. The store must compare content and refuse.
  std::string path = store->PathOf(a->id);
  ::chmod(path.c_str(), 0644);
  BOOST_REQUIRE(WriteFileAtomic(path, "forged!").ok());
  auto b = store->Put("genuine");
  BOOST_TEST(!b.ok());
  BOOST_TEST(b.error().code() == EEXIST);
  BOOST_TEST(*ReadFile(path) == "forged!");  // never replaced
}

BOOST_FIXTURE_TEST_CASE(unrecorded_debris_is_replaced, Fixture) {
  ObjectId id = ObjectHasher::Of("content");
  std::string path = store->PathOf(id);
  BOOST_REQUIRE(MakeDirs(path.substr(0, path.rfind('/'))).ok());
  BOOST_REQUIRE(WriteFileAtomic(path, "half").ok());  // a crashed import's file
  auto put = store->Put("content");
  BOOST_REQUIRE(put.ok());
  BOOST_TEST(*ReadFile(path) == "content");
}

BOOST_FIXTURE_TEST_CASE(discard_removes_only_unshared_pending_objects, Fixture) {
  auto a = store->Put("one");   // import A creates it
  auto b = store->Put("one");   // import B finds it pending and shares it
  BOOST_REQUIRE(a.ok() && b.ok());
  BOOST_TEST(b->created);
  store->Discard({a->id});      // A fails
  BOOST_TEST(store->Exists(a->id));
  store->Discard({b->id});      // B fails too
  BOOST_TEST(!store->Exists(a->id));
  // The shard directory went with its last object.
  std::string path = store->PathOf(a->id);
  BOOST_TEST(!PathExists(path.substr(0, path.rfind('/'))));
  BOOST_TEST(store->Sync().ok());
  // The same content again: its shard directory is made again (small
  // contents and staged large ones).
  auto again = store->Put("one");
  BOOST_REQUIRE_MESSAGE(again.ok(), testing::ErrorText(again));
  BOOST_TEST(again->created);
  BOOST_TEST(*ReadFile(path) == "one");
  const std::string big(3 << 20, 'b');
  auto large = store->Put(big);
  BOOST_REQUIRE(large.ok());
  store->Discard({large->id});
  BOOST_TEST(!store->Exists(large->id));
  auto large_again = store->Put(big);
  BOOST_REQUIRE_MESSAGE(large_again.ok(), testing::ErrorText(large_again));
  BOOST_TEST(*ReadFile(store->PathOf(large->id)) == big);
}

BOOST_FIXTURE_TEST_CASE(a_large_content_with_its_size_known_goes_straight_to_tmp, Fixture) {
  // NewWriter(size): no buffering of a content over the inline limit; the
  // object is the same as without the hint.
  std::string big(2 << 20, 'z');
  big[777] = 'q';
  auto w = store->NewWriter(big.size());
  BOOST_REQUIRE(w.Append(std::string_view(big).substr(0, 1000)).ok());
  BOOST_REQUIRE(w.Append(std::string_view(big).substr(1000)).ok());
  auto put = w.Commit();
  BOOST_REQUIRE(put.ok());
  BOOST_TEST((put->id == ObjectHasher::Of(big)));
  BOOST_TEST((*ReadFile(store->PathOf(put->id)) == big));
  auto small = store->NewWriter(5);
  BOOST_REQUIRE(small.Append("hel").ok());
  BOOST_REQUIRE(small.Append("lo").ok());
  auto s = small.Commit();
  BOOST_REQUIRE(s.ok());
  BOOST_TEST((s->id == ObjectHasher::Of("hello")));
}

BOOST_FIXTURE_TEST_CASE(writeback_starts_in_the_background_past_a_threshold, Fixture) {
  // Past kWritebackFiles new objects the background thread runs a syncfs
  // pass; Sync() still works, and the store closes with the thread joined.
  BOOST_TEST(store->writeback_passes() == 0u);
  for (uint64_t i = 0; i < ObjectStore::kWritebackFiles + 10; ++i) {
    BOOST_REQUIRE(store->Put("object " + std::to_string(i)).ok());
  }
  for (int i = 0; i < 500 && store->writeback_passes() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(store->writeback_passes() >= 1u);
  BOOST_TEST(store->Sync().ok());
  store.reset();
}
