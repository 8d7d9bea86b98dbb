// NodeFiles: which descriptor a node keeps, what is closed past the budget,
// and what outlives its root.
#define BOOST_TEST_MODULE node_files
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "fuse/node_files.h"

using namespace strata::fuse;

namespace {

NodeFiles::File Made(bool writable, bool lower = false) {
  return {strata::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)), lower, writable};
}

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int owner_a, owner_b;  // two roots

}  // namespace

BOOST_AUTO_TEST_CASE(a_writable_file_replaces_a_read_only_one_and_not_the_reverse) {
  NodeFiles files(16);
  auto ro = files.Put(5, &owner_a, Made(false));
  BOOST_TEST(files.Find(5) == ro);
  auto rw = files.Put(5, &owner_a, Made(true));
  BOOST_TEST(rw != ro);
  BOOST_TEST(files.Find(5) == rw);
  // A second read-only open (two readers raced) gets the kept one.
  BOOST_TEST(files.Put(5, &owner_a, Made(false)) == rw);
  BOOST_TEST(files.Put(5, &owner_a, Made(true)) == rw);
  // The replaced file stays open while it is held.
  BOOST_TEST(IsOpen(ro->fd.get()));
  BOOST_TEST(files.size() == 1u);
}

BOOST_AUTO_TEST_CASE(past_the_budget_the_oldest_unpinned_files_close) {
  NodeFiles files(3);
  files.Put(1, &owner_a, Made(false), /*pinned=*/true);
  for (uint64_t n = 2; n <= 6; ++n) files.Put(n, &owner_a, Made(false));
  // Nodes 2 and 3 went; the pinned node 1 is not counted.
  BOOST_TEST(files.Find(1) != nullptr);
  BOOST_TEST(files.Find(2) == nullptr);
  BOOST_TEST(files.Find(3) == nullptr);
  for (uint64_t n = 4; n <= 6; ++n) BOOST_TEST(files.Find(n) != nullptr);
  // A pinned node leaves the count: one more fits.
  files.Pin(4);
  files.Put(7, &owner_a, Made(false));
  BOOST_TEST(files.Find(4) != nullptr);
  BOOST_TEST(files.Find(5) != nullptr);
  BOOST_TEST(files.size() == 5u);
}

BOOST_AUTO_TEST_CASE(forget_closes_and_a_root_takes_only_its_unpinned_files) {
  NodeFiles files(16);
  auto held = files.Put(1, &owner_a, Made(false));
  files.Put(2, &owner_a, Made(false), /*pinned=*/true);
  files.Put(3, &owner_b, Made(false));
  files.Put(4, &owner_a, Made(true));
  const int fd4 = files.Find(4)->fd.get();
  files.ForgetRoot(&owner_a);
  BOOST_TEST(files.Find(1) == nullptr);
  BOOST_TEST(files.Find(4) == nullptr);
  BOOST_TEST(!IsOpen(fd4));
  BOOST_TEST(IsOpen(held->fd.get()));  // still held by a request
  // An open file whose last name went stays until the kernel forgets it.
  BOOST_TEST(files.Find(2) != nullptr);
  BOOST_TEST(files.Find(3) != nullptr);
  const int fd2 = files.Find(2)->fd.get();
  files.Forget(2);
  BOOST_TEST(files.Find(2) == nullptr);
  BOOST_TEST(!IsOpen(fd2));
  files.Forget(99);  // unknown: nothing
  BOOST_TEST(files.size() == 1u);
}
