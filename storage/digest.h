// Content names used by the store.
//
// Digest: an OCI sha256 digest ("sha256:<64 hex>"), naming layers (diffID),
// chains (chainID), images (config digest) and blobs.
// ObjectId: an XXH3-128 hash (32 hex) naming one file's content in objects/.
// Both are plain values (digest.cc); the hashers are single-threaded
// streaming states (sha256.cc, object_hasher.cc: apart, so that the client,
// which only parses and prints digests, loads neither libcrypto nor
// libxxhash).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::storage {

std::string HexEncode(std::string_view bytes);
// Returns false unless hex is lower-case hex of even length.
bool HexDecode(std::string_view hex, std::string* out);

class Digest {
 public:
  Digest() { bytes_.fill(0); }
  static Digest FromBytes(std::string_view raw32);
  // Accepts "sha256:<64 lower-case hex>" only.
  static Result<Digest> Parse(std::string_view text);
  // Accepts "<64 hex>" (an image ID prefix is resolved elsewhere).
  static Result<Digest> FromHex(std::string_view hex);

  std::string hex() const;
  std::string str() const { return "sha256:" + hex(); }
  std::string_view raw() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  bool empty() const;
  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::array<uint8_t, 32> bytes_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  Digest Finish();
  static Digest Of(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// chainID(L0) = diffID(L0); chainID(L0..Ln) = sha256(chainID(L0..Ln-1) + " " + diffID(Ln)).
Digest ChainId(const Digest& parent_chain, const Digest& diff_id);

class ObjectId {
 public:
  ObjectId() { bytes_.fill(0); }
  static ObjectId FromBytes(std::string_view raw16);
  static Result<ObjectId> FromHex(std::string_view hex);
  std::string hex() const;
  std::string_view raw() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  friend bool operator==(const ObjectId&, const ObjectId&) = default;
  friend auto operator<=>(const ObjectId&, const ObjectId&) = default;

 private:
  std::array<uint8_t, 16> bytes_;
};

class ObjectHasher {
 public:
  ObjectHasher();
  ~ObjectHasher();
  ObjectHasher(const ObjectHasher&) = delete;
  ObjectHasher& operator=(const ObjectHasher&) = delete;
  void Update(std::string_view data);
  ObjectId Finish();
  static ObjectId Of(std::string_view data);

 private:
  void* state_;  // XXH3_state_t*
};

}  // namespace strata::storage
