// DirListings: offsets that name their listing, and a bound on what is kept.
#define BOOST_TEST_MODULE dir_listings
#include <boost/test/unit_test.hpp>

#include "fuse/dir_listings.h"

using namespace strata::fuse;

namespace {

DirListings::Entries Names(std::initializer_list<const char*> names) {
  DirListings::Entries entries;
  for (const char* n : names) entries.push_back({n, 0, 1});
  return entries;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_offset_finds_the_listing_it_came_from) {
  DirListings listings;
  auto first = listings.Add(7, Names({".", "..", "a", "b"}));
  // Another reader lists the directory again (it changed meanwhile).
  auto second = listings.Add(7, Names({".", "..", "b"}));
  BOOST_TEST(first.generation != second.generation);
  const uint64_t after_a = DirListings::OffsetAfter(first.generation, 2);
  BOOST_TEST(static_cast<int64_t>(after_a) > 0);
  BOOST_TEST(DirListings::NextIndex(after_a) == 3u);
  auto found = listings.Find(7, after_a);
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found->generation == first.generation);
  BOOST_TEST((*found->entries)[3].name == "b");  // the first reader's "b", not shifted
  BOOST_TEST(!listings.Find(8, after_a).has_value());  // another directory
  listings.Drop(7, first.generation);
  BOOST_TEST(!listings.Find(7, after_a).has_value());
  BOOST_TEST(listings.Find(7, DirListings::OffsetAfter(second.generation, 0)).has_value());
}

BOOST_AUTO_TEST_CASE(huge_listings_are_kept_to_a_bounded_number_of_entries) {
  DirListings listings;
  DirListings::Entries big(DirListings::kMaxKeptEntries / 2 + 1, DirEntry{"x", 0, 1});
  auto first = listings.Add(1, big);
  auto second = listings.Add(2, big);  // over the bound together: the older goes
  BOOST_TEST(!listings.Find(1, DirListings::OffsetAfter(first.generation, 0)).has_value());
  BOOST_TEST(listings.Find(2, DirListings::OffsetAfter(second.generation, 0)).has_value());
  BOOST_TEST(listings.kept() == 1u);
  // One alone over the bound is kept: its reader is reading it.
  DirListings::Entries huge(DirListings::kMaxKeptEntries + 1, DirEntry{"y", 0, 1});
  auto third = listings.Add(3, std::move(huge));
  BOOST_TEST(listings.Find(3, DirListings::OffsetAfter(third.generation, 0)).has_value());
  BOOST_TEST(listings.kept() == 1u);
}

BOOST_AUTO_TEST_CASE(readers_that_stop_halfway_leave_a_bounded_number) {
  DirListings listings;
  for (uint64_t ino = 1; ino <= DirListings::kMaxKept + 50; ++ino) {
    listings.Add(ino, Names({".", ".."}));
  }
  BOOST_TEST(listings.kept() == DirListings::kMaxKept);
  // The oldest went first.
  BOOST_TEST(!listings.Find(1, DirListings::OffsetAfter(1, 0)).has_value());
  const auto last_generation = static_cast<uint32_t>(DirListings::kMaxKept + 50);
  BOOST_TEST(listings.Find(DirListings::kMaxKept + 50,
                           DirListings::OffsetAfter(last_generation, 0))
                 .has_value());
}
