#include "storage/read_ahead_source.h"

#include <algorithm>
#include <cstring>

namespace strata::storage {

ReadAheadSource::ReadAheadSource(ByteSource* inner, size_t chunk_size, size_t depth, Hash hash)
    : inner_(inner), chunk_size_(std::max<size_t>(chunk_size, 1)), hash_(hash == Hash::kYes) {
  free_.resize(std::max<size_t>(depth, 1));
  thread_ = std::thread([this] { Produce(); });
}

ReadAheadSource::~ReadAheadSource() { Stop(); }

void ReadAheadSource::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  free_cv_.notify_all();
  filled_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Digest ReadAheadSource::Finish() {
  Stop();
  return sha_.Finish();
}

void ReadAheadSource::Produce() {
  for (;;) {
    Chunk chunk;
    {
      std::unique_lock lock(mu_);
      free_cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      chunk = std::move(free_.back());
      free_.pop_back();
    }
    if (!chunk.data) chunk.data = std::make_unique<char[]>(chunk_size_);
    Result<size_t> got = inner_->Read(chunk.data.get(), chunk_size_);
    if (got.ok() && hash_) sha_.Update({chunk.data.get(), *got});
    {
      std::lock_guard lock(mu_);
      if (!got.ok()) {
        error_ = std::move(got).error();
        ended_ = true;
      } else if (*got == 0) {
        ended_ = true;
      } else {
        chunk.size = *got;
        filled_.push_back(std::move(chunk));
      }
    }
    filled_cv_.notify_one();
    if (!got.ok() || *got == 0) return;
  }
}

Result<size_t> ReadAheadSource::Read(char* buf, size_t n) {
  if (n == 0) return size_t{0};
  if (current_pos_ == current_.size) {
    std::unique_lock lock(mu_);
    if (current_.data) {
      // Hand the spent chunk back for the producer to fill again.
      current_.size = 0;
      free_.push_back(std::move(current_));
      current_ = Chunk();
      free_cv_.notify_one();
    }
    current_pos_ = 0;
    filled_cv_.wait(lock, [&] { return !filled_.empty() || ended_ || stop_; });
    if (filled_.empty()) {
      if (error_) return *error_;
      if (!ended_) return Error(ECANCELED, "read after the read-ahead was stopped");
      return size_t{0};
    }
    current_ = std::move(filled_.front());
    filled_.pop_front();
  }
  const size_t take = std::min(n, current_.size - current_pos_);
  std::memcpy(buf, current_.data.get() + current_pos_, take);
  current_pos_ += take;
  bytes_ += take;
  return take;
}

}  // namespace strata::storage
