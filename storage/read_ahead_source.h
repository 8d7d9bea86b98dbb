// ReadAheadSource: reads another source on a thread of its own, a few
// chunks ahead of its reader, and computes the stream's sha256 there too,
// so that producing the bytes (download, sha256 of the compressed blob,
// gunzip, the diffID's sha256) and consuming them (tar parsing, object
// files) run on two cores at once.
//
// Lifecycle: the thread starts in the constructor and reads `inner` until
// its end, its first error, or Stop(). Until Stop() returns (the destructor
// calls it), `inner` and everything below it belong to that thread: the
// caller must not touch them. Stop() waits for the read in progress, which
// for a network source can take until that source's own timeout.
//
// Read hands out the chunks in order, then inner's end (0) or its error,
// exactly as reading `inner` directly would. At most depth chunks of
// chunk_size bytes are held. Finish() is the sha256 of what the thread read
// from `inner`: what Read handed out, once Read has returned 0.
//
// With Hash::kNo the thread does not hash (Finish() must not be called):
// for a producer that is already the busier of the two threads (a pull's
// download + sha256 + gunzip), the caller hashes on the reader's side
// (ImportLayer's ByteSource overload), which balances the two cores.
//
// Thread safety: one reader thread (besides the internal one).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/result.h"
#include "storage/byte_source.h"

namespace strata::storage {

class ReadAheadSource : public DigestingSource {
 public:
  enum class Hash { kYes, kNo };
  explicit ReadAheadSource(ByteSource* inner, size_t chunk_size = 1 << 18, size_t depth = 8,
                           Hash hash = Hash::kYes);
  ReadAheadSource(ByteSource* inner, Hash hash) : ReadAheadSource(inner, 1 << 18, 8, hash) {}
  ~ReadAheadSource() override;
  ReadAheadSource(const ReadAheadSource&) = delete;
  ReadAheadSource& operator=(const ReadAheadSource&) = delete;

  Result<size_t> Read(char* buf, size_t n) override;
  // Stops the thread (Stop) and returns the sha256 of what it read.
  Digest Finish() override;
  uint64_t bytes() const override { return bytes_; }
  // Ends reading ahead and joins the thread; `inner` is the caller's again.
  void Stop();

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size = 0;  // bytes of data filled
  };
  void Produce();

  ByteSource* inner_;
  const size_t chunk_size_;
  const bool hash_;
  std::mutex mu_;
  std::condition_variable filled_cv_;  // a chunk, the end or an error is ready
  std::condition_variable free_cv_;    // a chunk was handed back, or stop
  std::deque<Chunk> filled_;           // guarded by mu_
  std::vector<Chunk> free_;            // guarded by mu_
  bool ended_ = false;                 // guarded by mu_: inner gave 0 or an error
  std::optional<Error> error_;         // guarded by mu_
  bool stop_ = false;                  // guarded by mu_
  Sha256 sha_;                         // the thread's until it is joined
  // The reader's current chunk (only the reader touches these).
  Chunk current_;
  size_t current_pos_ = 0;
  uint64_t bytes_ = 0;
  std::thread thread_;
};

}  // namespace strata::storage
