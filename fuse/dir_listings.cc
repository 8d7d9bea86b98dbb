#include "fuse/dir_listings.h"

namespace strata::fuse {

std::optional<DirListings::Listing> DirListings::Find(uint64_t ino, uint64_t offset) const {
  const uint32_t generation = Generation(offset);
  std::lock_guard lock(mu_);
  auto it = kept_.find({ino, generation});
  if (it == kept_.end()) return std::nullopt;
  return Listing{generation, it->second.entries};
}

DirListings::Listing DirListings::Add(uint64_t ino, Entries entries) {
  auto shared = std::make_shared<const Entries>(std::move(entries));
  std::lock_guard lock(mu_);
  const uint32_t generation = next_generation_;
  next_generation_ = next_generation_ >= 0x7fffffffu ? 1 : next_generation_ + 1;
  Key key{ino, generation};
  order_.push_back(key);
  kept_[key] = Kept{shared, std::prev(order_.end())};
  kept_entries_ += shared->size();
  // The newest stays even alone over the bound: its reader is on its way.
  while (kept_.size() > 1 && (kept_.size() > kMaxKept || kept_entries_ > kMaxKeptEntries)) {
    auto oldest = kept_.find(order_.front());
    kept_entries_ -= oldest->second.entries->size();
    kept_.erase(oldest);
    order_.pop_front();
  }
  return Listing{generation, std::move(shared)};
}

void DirListings::Drop(uint64_t ino, uint32_t generation) {
  std::lock_guard lock(mu_);
  auto it = kept_.find({ino, generation});
  if (it == kept_.end()) return;
  kept_entries_ -= it->second.entries->size();
  order_.erase(it->second.in_order);
  kept_.erase(it);
}

size_t DirListings::kept() const {
  std::lock_guard lock(mu_);
  return kept_.size();
}

}  // namespace strata::fuse
