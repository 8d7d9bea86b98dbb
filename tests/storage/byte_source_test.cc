// Byte sources: decompression (gzip through ISA-L, the rest through
// libarchive) and the read-ahead thread.
#define BOOST_TEST_MODULE byte_source
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstring>
#include <random>

#include "storage/byte_source.h"
#include "storage/gzip_source.h"
#include "storage/read_ahead_source.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;
using strata::testing::StringSource;

namespace {

// Compressible but not trivial: words from a small vocabulary, some random
// bytes.
std::string SampleData(size_t size, unsigned seed = 1) {
  std::mt19937 rng(seed);
  static const char* kWords[] = {"layer ", "object ", "strata ", "tar ", "\n", "\0\0\0\0"};
  std::string out;
  while (out.size() < size) {
    if (rng() % 8 == 0) {
      out.push_back(static_cast<char>(rng()));
    } else {
      const char* w = kWords[rng() % 6];
      out.append(w, w[0] == '\0' ? 4 : std::strlen(w));
    }
  }
  out.resize(size);
  return out;
}

// Reads a source to its end in reads of at most `step` bytes.
Result<std::string> ReadAll(ByteSource& source, size_t step = 1 << 16) {
  std::string out;
  std::string buf(step, '\0');
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, source.Read(buf.data(), buf.size()));
    if (got == 0) return out;
    out.append(buf.data(), got);
  }
}

Result<std::string> Decompress(const std::string& data, size_t max_read = SIZE_MAX,
                               size_t step = 1 << 16) {
  StringSource input(data, max_read);
  ASSIGN_OR_RETURN(auto plain, DecompressingSource::Open(&input));
  return ReadAll(*plain, step);
}

// Fails after handing out `good` bytes of data.
class FailingSource : public ByteSource {
 public:
  FailingSource(std::string data, size_t good) : data_(std::move(data)), good_(good) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= good_) return Error(ECONNRESET, "the network went away");
    size_t take = std::min(n, good_ - pos_);
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  std::string data_;
  size_t good_;
  size_t pos_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(gzip_round_trips_whatever_the_read_sizes) {
  const std::string data = SampleData(3 << 20);
  const std::string gz = testing::Compress(data, "gzip");
  BOOST_REQUIRE(GzipSource::LooksLikeGzip(gz));
  for (size_t max_read : {size_t{1}, size_t{7}, size_t{4096}, SIZE_MAX}) {
    for (size_t step : {size_t{1000}, size_t{1 << 20}}) {
      if (max_read == 1 && step == 1000) continue;  // too slow to be worth it
      auto back = Decompress(gz, max_read, step);
      BOOST_REQUIRE_MESSAGE(back.ok(), testing::ErrorText(back));
      BOOST_TEST((*back == data), "max_read " << max_read << " step " << step);
    }
  }
}

BOOST_AUTO_TEST_CASE(gzip_members_are_read_one_after_another) {
  const std::string a = SampleData(100000, 2), b = SampleData(70000, 3);
  auto back = Decompress(testing::Compress(a, "gzip") + testing::Compress(b, "gzip"), 999);
  BOOST_REQUIRE_MESSAGE(back.ok(), testing::ErrorText(back));
  BOOST_TEST((*back == a + b));
}

BOOST_AUTO_TEST_CASE(gzip_with_a_file_name_in_its_header) {
  // FNAME (flag 8) and a name before the deflate data, as `gzip -N` writes.
  const std::string data = SampleData(50000, 4);
  const std::string plain = testing::Compress(data, "gzip");
  BOOST_REQUIRE_EQUAL(static_cast<int>(plain[3]), 0);  // no optional fields
  std::string named = plain.substr(0, 10);
  named[3] = 8;
  named += std::string("layer.tar") + '\0';
  named += plain.substr(10);
  auto back = Decompress(named, 3);
  BOOST_REQUIRE_MESSAGE(back.ok(), testing::ErrorText(back));
  BOOST_TEST((*back == data));
}

BOOST_AUTO_TEST_CASE(what_follows_the_last_gzip_member_is_left_to_the_caller) {
  const std::string data = SampleData(80000, 5);
  const std::string blob = testing::Compress(data, "gzip") + std::string(1000, '\0') + "tail";
  StringSource input(blob, 777);
  HashingSource hashed(&input);
  auto plain = DecompressingSource::Open(&hashed);
  BOOST_REQUIRE(plain.ok());
  auto back = ReadAll(**plain);
  BOOST_REQUIRE_MESSAGE(back.ok(), testing::ErrorText(back));
  BOOST_TEST((*back == data));
  // The caller's hash of the blob still covers every byte once drained.
  BOOST_TEST(ReadAll(hashed).ok());
  BOOST_TEST(hashed.bytes() == blob.size());
  BOOST_TEST((hashed.Finish() == Sha256::Of(blob)));
}

BOOST_AUTO_TEST_CASE(corrupt_or_truncated_gzip_is_refused) {
  const std::string data = SampleData(200000, 6);
  const std::string gz = testing::Compress(data, "gzip");
  for (size_t cut : {size_t{5}, size_t{10}, gz.size() / 3, gz.size() - 8, gz.size() - 1}) {
    auto back = Decompress(gz.substr(0, cut));
    BOOST_TEST(!back.ok(), "cut at " << cut);
  }
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 0x55;
  auto r = Decompress(bad_crc);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code() == EBADMSG);
  std::string bad_length = gz;
  bad_length[gz.size() - 2] ^= 0x01;
  BOOST_TEST(!Decompress(bad_length).ok());
  std::string bad_data = gz;
  for (size_t i = 100; i < 140; ++i) bad_data[i] = static_cast<char>(0xff);
  BOOST_TEST(!Decompress(bad_data).ok());
}

BOOST_AUTO_TEST_CASE(the_inputs_own_error_reaches_the_reader_unchanged) {
  const std::string gz = testing::Compress(SampleData(300000, 7), "gzip");
  FailingSource input(gz, gz.size() / 2);
  auto plain = DecompressingSource::Open(&input);
  BOOST_REQUIRE(plain.ok());
  auto back = ReadAll(**plain);
  BOOST_REQUIRE(!back.ok());
  BOOST_TEST(back.error().code() == ECONNRESET);
  BOOST_TEST(back.error().message() == "the network went away");
}

BOOST_AUTO_TEST_CASE(zstd_plain_and_empty_inputs_still_decompress) {
  const std::string data = SampleData(120000, 8);
  auto z = Decompress(testing::Compress(data, "zstd"), 500);
  BOOST_REQUIRE_MESSAGE(z.ok(), testing::ErrorText(z));
  BOOST_TEST((*z == data));
  // A plain tar passes through (first bytes that are not a magic number).
  const std::string tar = testing::TarBuilder().File("a", data).Finish();
  auto p = Decompress(tar, 1);
  BOOST_REQUIRE_MESSAGE(p.ok(), testing::ErrorText(p));
  BOOST_TEST((*p == tar));
  auto e = Decompress("");
  BOOST_REQUIRE(e.ok());
  BOOST_TEST(e->empty());
}

BOOST_AUTO_TEST_CASE(read_ahead_hands_out_the_same_bytes) {
  const std::string data = SampleData(5 << 20, 9);
  for (size_t chunk : {size_t{1000}, size_t{1 << 18}}) {
    StringSource input(data, 12345);
    ReadAheadSource ahead(&input, chunk, 3);
    auto back = ReadAll(ahead, 7777);
    BOOST_REQUIRE_MESSAGE(back.ok(), testing::ErrorText(back));
    BOOST_TEST((*back == data));
    // The end stays the end.
    char c;
    auto again = ahead.Read(&c, 1);
    BOOST_REQUIRE(again.ok());
    BOOST_TEST(*again == 0u);
  }
}

BOOST_AUTO_TEST_CASE(read_ahead_without_hashing_hands_out_the_same_bytes) {
  // Hash::kNo (a pull): the reader hashes, as ImportLayer's ByteSource
  // overload does, and gets the digest of the whole stream.
  const std::string data = SampleData(3 << 20, 11);
  StringSource input(data, 54321);
  ReadAheadSource ahead(&input, ReadAheadSource::Hash::kNo);
  HashingSource hashed(&ahead);
  auto back = ReadAll(hashed, 10000);
  BOOST_REQUIRE_MESSAGE(back.ok(), testing::ErrorText(back));
  BOOST_TEST((*back == data));
  BOOST_TEST((hashed.Finish() == Sha256::Of(data)));
}

BOOST_AUTO_TEST_CASE(read_ahead_delivers_the_data_before_the_error) {
  const std::string data = SampleData(1 << 20, 10);
  FailingSource input(data, 600000);
  ReadAheadSource ahead(&input, 4096, 4);
  std::string got;
  char buf[10000];
  for (;;) {
    auto r = ahead.Read(buf, sizeof buf);
    if (!r.ok()) {
      BOOST_TEST(r.error().code() == ECONNRESET);
      break;
    }
    BOOST_REQUIRE(*r > 0);
    got.append(buf, *r);
  }
  BOOST_TEST((got == data.substr(0, 600000)));
  // The error is kept.
  auto again = ahead.Read(buf, sizeof buf);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().code() == ECONNRESET);
}

BOOST_AUTO_TEST_CASE(read_ahead_stops_reading_its_input_when_stopped) {
  // An endless input that counts its reads.
  class Endless : public ByteSource {
   public:
    std::atomic<uint64_t> reads{0};
    Result<size_t> Read(char* buf, size_t n) override {
      ++reads;
      std::memset(buf, 'x', n);
      return n;
    }
  } input;
  ReadAheadSource ahead(&input, 1024, 2);
  char buf[100];
  BOOST_REQUIRE(ahead.Read(buf, sizeof buf).ok());
  ahead.Stop();
  const uint64_t reads = input.reads;
  // At most `depth` chunks ahead of the reader.
  BOOST_TEST(reads <= 2u);
  // After Stop the input is the caller's: nobody else reads it.
  BOOST_TEST(input.Read(buf, sizeof buf).ok());
  BOOST_TEST(input.reads == reads + 1);
}
