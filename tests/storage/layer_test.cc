// Layer import from tar streams, and tar-split reassembly byte for byte.
#define BOOST_TEST_MODULE layer
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <map>

#include "storage/index.h"
#include "storage/layer_importer.h"
#include "storage/object_store.h"
#include "storage/tar_split.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;
using strata::testing::TarBuilder;

namespace {

struct Fixture {
  TempDir dir = testing::MakeTempDir();
  std::unique_ptr<Index> index;
  std::unique_ptr<ObjectStore> objects;
  Fixture() {
    index = std::move(Index::Open({dir.path() + "/db"}).value());
    ObjectStoreOptions o;
    o.objects_dir = dir.path() + "/objects";
    o.tmp_dir = dir.path() + "/tmp";
    Index* idx = index.get();
    o.is_recorded = [idx](const ObjectId& id) -> Result<bool> {
      ASSIGN_OR_RETURN(auto r, idx->GetObject(id));
      return r.has_value();
    };
    objects = std::move(ObjectStore::Open(o).value());
  }

  Result<LayerContents> Import(const std::string& tar, size_t max_read = SIZE_MAX) {
    testing::StringSource compressed(tar, max_read);
    ASSIGN_OR_RETURN(auto plain, DecompressingSource::Open(&compressed));
    return ImportLayer(*objects, *plain);
  }

  // Imports, commits, and returns the reassembled tar.
  std::string RoundTrip(const std::string& tar, LayerContents* out = nullptr) {
    auto layer = Import(tar);
    BOOST_REQUIRE_MESSAGE(layer.ok(), testing::ErrorText(layer));
    Index::Batch batch;
    layer->AddToBatch(&batch);
    for (const auto& [path, e] : layer->entries) {
      if (e.has_object()) batch.PutObject(e.object, {e.size, 0});
    }
    BOOST_REQUIRE(index->Write(batch).ok());
    objects->Release(layer->created_objects);
    std::string back;
    auto st = ReassembleLayer(*index, *objects, layer->diff_id, [&](std::string_view s) {
      back.append(s);
      return Ok();
    });
    BOOST_REQUIRE_MESSAGE(st.ok(), testing::ErrorText(st));
    if (out != nullptr) *out = std::move(layer).value();
    return back;
  }

  static std::map<std::string, Entry> ByPath(const LayerContents& l) {
    return {l.entries.begin(), l.entries.end()};
  }
};

std::string SampleTar(TarBuilder::Format format) {
  TarBuilder t(format);
  t.Dir("./");
  t.Dir("bin");
  t.File("bin/tool", std::string(70000, 'b'), {.mode = 04755, .uid = 1, .gid = 2});
  t.Hardlink("bin/tool2", "bin/tool");
  t.Symlink("bin/sh", "tool");
  t.File("etc/passwd", "root:x:0:0::/root:/bin/sh\n", {.mode = 0644, .mtime = 1234567890});
  t.File("empty", "");
  t.Fifo("run/fifo");
  t.CharDevice("dev/null", 1, 3);
  std::string long_dir(120, 'd');
  t.File(long_dir + "/" + std::string(200, 'n'), "long");
  return t.Finish();
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(reassembles_every_format_byte_for_byte, Fixture) {
  for (auto format : {TarBuilder::Format::kPax, TarBuilder::Format::kGnu}) {
    std::string tar = SampleTar(format);
    LayerContents layer;
    BOOST_TEST((RoundTrip(tar, &layer) == tar));
    BOOST_TEST(layer.diff_id.str() == Sha256::Of(tar).str());
    BOOST_TEST(layer.record.tar_size == tar.size());
  }
  TarBuilder ustar(TarBuilder::Format::kUstar);
  ustar.File(std::string(80, 'p') + "/" + std::string(90, 'q'), "prefix-split name");
  std::string tar = ustar.Finish();
  BOOST_TEST((RoundTrip(tar) == tar));
}

BOOST_FIXTURE_TEST_CASE(entries_carry_metadata, Fixture) {
  LayerContents layer;
  RoundTrip(SampleTar(TarBuilder::Format::kPax), &layer);
  auto e = ByPath(layer);
  BOOST_TEST(e.count("/"));
  BOOST_TEST((e["/bin/tool"].type == EntryType::kRegular));
  BOOST_TEST(e["/bin/tool"].mode == 04755u);
  BOOST_TEST(e["/bin/tool"].uid == 1u);
  BOOST_TEST(e["/bin/tool"].size == 70000u);
  BOOST_TEST(e["/bin/tool2"].hardlink_to == "/bin/tool");
  BOOST_TEST((e["/bin/tool2"].object == e["/bin/tool"].object));
  BOOST_TEST((e["/bin/sh"].type == EntryType::kSymlink));
  BOOST_TEST(e["/bin/sh"].link_target == "tool");
  BOOST_TEST(e["/etc/passwd"].mtime_sec == 1234567890);
  BOOST_TEST(e["/etc"].implicit);  // no header of its own
  BOOST_TEST((e["/run/fifo"].type == EntryType::kFifo));
  BOOST_TEST((e["/dev/null"].type == EntryType::kCharDevice));
  BOOST_TEST(e["/dev/null"].rdev_major == 1u);
  BOOST_TEST(e["/dev/null"].rdev_minor == 3u);
  BOOST_TEST(e.count("/" + std::string(120, 'd') + "/" + std::string(200, 'n')));
  // Hard links count their content once.
  BOOST_TEST(layer.record.content_bytes == 70000u + 26u + 4u);
  // The index lists a directory with one prefix scan.
  std::vector<std::string> names;
  BOOST_REQUIRE(index->ForEachEntry(layer.diff_id, [&](const std::string& p, const Entry&) {
    names.push_back(p);
    return Ok();
  }).ok());
  BOOST_TEST(names.front() == "/");
  auto stored = index->GetEntry(layer.diff_id, "/bin/tool");
  BOOST_TEST((stored.ok() && stored->has_value() && (*stored)->size == 70000u));
}

BOOST_FIXTURE_TEST_CASE(pax_xattrs_and_times, Fixture) {
  TarBuilder t(TarBuilder::Format::kPax);
  t.File("x", "data", {.mode = 0600, .mtime = 1600000000, .mtime_nsec = 123456789,
                       .xattrs = {{"user.color", "blue"}, {"security.capability", std::string("\1\0\0\2", 4)}}});
  std::string tar = t.Finish();
  LayerContents layer;
  BOOST_TEST((RoundTrip(tar, &layer) == tar));
  auto e = ByPath(layer)["/x"];
  BOOST_TEST(e.mtime_nsec == 123456789u);
  BOOST_REQUIRE(e.xattrs.size() == 2u);
  BOOST_TEST(e.xattrs[0].first == "security.capability");
  BOOST_TEST(e.xattrs[1].second == "blue");
}

BOOST_FIXTURE_TEST_CASE(whiteouts_and_opaque_dirs, Fixture) {
  TarBuilder t;
  t.Dir("etc");
  t.File("etc/.wh.old.conf", "");
  t.Dir("var/cache");
  t.File("var/cache/.wh..wh..opq", "");
  t.File("var/cache/new", "n");
  LayerContents layer;
  RoundTrip(t.Finish(), &layer);
  auto e = ByPath(layer);
  BOOST_TEST((e["/etc/old.conf"].type == EntryType::kWhiteout));
  BOOST_TEST(e["/var/cache"].opaque);
  BOOST_TEST(!e.count("/var/cache/.wh..wh..opq"));
}

BOOST_FIXTURE_TEST_CASE(compressed_layers, Fixture) {
  std::string tar = SampleTar(TarBuilder::Format::kPax);
  for (const char* filter : {"gzip", "zstd"}) {
    auto layer = Import(testing::Compress(tar, filter));
    BOOST_REQUIRE_MESSAGE(layer.ok(), filter);
    BOOST_TEST(layer->diff_id.str() == Sha256::Of(tar).str());
    objects->Release(layer->created_objects);
  }
}

BOOST_FIXTURE_TEST_CASE(reads_in_odd_pieces, Fixture) {
  std::string tar = SampleTar(TarBuilder::Format::kGnu);
  auto layer = Import(tar, 7);  // the source hands out 7 bytes at a time
  BOOST_REQUIRE(layer.ok());
  BOOST_TEST(layer->diff_id.str() == Sha256::Of(tar).str());
  objects->Release(layer->created_objects);
}

namespace {
void ExpectRefused(Fixture& f, const std::string& tar, const std::string& needle) {
  auto layer = f.Import(tar);
  BOOST_TEST_CONTEXT(needle) {
    BOOST_REQUIRE(!layer.ok());
    BOOST_TEST(layer.error().message().find(needle) != std::string::npos,
               layer.error().message());
  }
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(hostile_layers_are_refused_and_leave_no_objects, Fixture) {
  ExpectRefused(*this, TarBuilder().File("../escape", "x").Finish(), "..");
  ExpectRefused(*this, TarBuilder().File("a/../../escape", "x").Finish(), "..");
  ExpectRefused(*this, TarBuilder().File("/etc/passwd", "x").Finish(), "absolute");
  ExpectRefused(*this, TarBuilder().File("dup", "1").File("dup", "2").Finish(), "twice");
  ExpectRefused(*this, TarBuilder().Symlink("evil", "/etc").File("evil/passwd", "x").Finish(),
                "symlink");
  ExpectRefused(*this, TarBuilder().Hardlink("h", "missing").Finish(), "hard link");
  ExpectRefused(*this, TarBuilder().File(std::string(10000, 'a'), "x").Finish(), "exceeds");
  // A size field larger than the data: the archive ends inside the entry.
  std::string big = TarBuilder().File("big", std::string(100000, 'z')).Finish();
  ExpectRefused(*this, big.substr(0, 50000), "ends inside");
  // A truncated gzip stream.
  std::string gz = testing::Compress(SampleTar(TarBuilder::Format::kPax), "gzip");
  ExpectRefused(*this, gz.substr(0, gz.size() / 2), "");
  // A corrupted header checksum.
  std::string bad = TarBuilder().File("f", "x").Finish();
  bad[0] = 'g';
  ExpectRefused(*this, bad, "checksum");
  // Nothing was left in objects/ by any of them.
  size_t files = 0;
  for (int shard = 0; shard < 256; ++shard) {
    char name[3];
    snprintf(name, sizeof name, "%02x", shard);
    files += PathExists(dir.path() + "/objects/" + name);
  }
  BOOST_TEST(files == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_tar_without_end_blocks_and_with_trailing_data, Fixture) {
  std::string tar = TarBuilder().File("a", "1").Finish();
  // Trailing garbage after the end blocks is kept verbatim.
  std::string with_tail = tar + "trailing";
  BOOST_TEST((RoundTrip(with_tail) == with_tail));
}

BOOST_FIXTURE_TEST_CASE(a_tar_cut_after_its_last_content_is_accepted, Fixture) {
  // Some writers end the stream right after the last file's content, with
  // neither padding nor end blocks; the bytes still reproduce exactly.
  std::string tar = TarBuilder(TarBuilder::Format::kUstar).File("a", "12345").Finish();
  std::string cut = tar.substr(0, 512 + 5);
  BOOST_TEST((RoundTrip(cut) == cut));
  std::string half_padded = tar.substr(0, 512 + 100);
  BOOST_TEST((RoundTrip(half_padded) == half_padded));
}

BOOST_FIXTURE_TEST_CASE(pre_1970_times, Fixture) {
  // libarchive's pax writer puts a pax mtime record and, in the ustar
  // field, a negative base-256 number.
  std::string tar = TarBuilder().File("old", "x", {.mode = 0644, .mtime = -86400}).Finish();
  LayerContents layer;
  BOOST_TEST((RoundTrip(tar, &layer) == tar));
  BOOST_TEST(ByPath(layer)["/old"].mtime_sec == -86400);
  // Without the pax record: GNU tar's full 12-byte base-256 field.
  std::string bare = tar.substr(1024, 1024) + std::string(1024, '\0');
  const unsigned char mtime[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xfe, 0xae, 0x80};  // -86400
  std::memcpy(&bare[136], mtime, 12);
  std::memset(&bare[148], ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(bare[i]);
  snprintf(&bare[148], 8, "%06o", sum);
  bare[155] = ' ';
  LayerContents bare_layer;
  BOOST_TEST((RoundTrip(bare, &bare_layer) == bare));
  BOOST_TEST(ByPath(bare_layer)["/old"].mtime_sec == -86400);
}
