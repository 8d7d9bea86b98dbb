// OCI and docker image JSON: parsing (incl. hostile input), platform
// selection, building.
#define BOOST_TEST_MODULE oci
#include <boost/test/unit_test.hpp>

#include "storage/oci.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::storage;
using namespace strata::storage::oci;
using strata::testing::ErrorText;

namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

std::string Desc(const std::string& media_type, const std::string& digest, int size,
                 const std::string& extra = "") {
  return R"({"mediaType":")" + media_type + R"(","digest":")" + digest + R"(","size":)" +
         std::to_string(size) + extra + "}";
}

std::string PlatformJson(const std::string& os, const std::string& arch,
                         const std::string& variant = "") {
  std::string p = R"(,"platform":{"os":")" + os + R"(","architecture":")" + arch + "\"";
  if (!variant.empty()) p += R"(,"variant":")" + variant + "\"";
  return p + "}";
}

std::string Index(const std::vector<std::string>& manifests) {
  std::string list;
  for (const auto& m : manifests) list += (list.empty() ? "" : ",") + m;
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
         R"("manifests":[)" +
         list + "]}";
}

const std::string kManifestType(media_type::kOciManifest);

std::string ValidManifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
         R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
         kD1 + R"(","size":1469},"layers":[)" +
         Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kD2, 2479) + "," +
         Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kD3, 100) + "]}";
}

std::string ValidConfig() {
  return R"({"architecture":"arm64","variant":"v8","os":"linux","created":"2024-01-02T03:04:05.1Z",)"
         R"("author":"me","config":{"User":"1000:1000","Env":["PATH=/bin","A=b"],)"
         R"("Entrypoint":null,"Cmd":["sh","-c","echo hi"],"WorkingDir":"/w",)"
         R"("Labels":{"a":"1","b":"2"},"ExposedPorts":{"80/tcp":{},"53/udp":{}},)"
         R"("Volumes":{"/data":{}},"StopSignal":"SIGTERM","Healthcheck":{"Test":["NONE"]}},)"
         R"("container_config":{"Cmd":null},"rootfs":{"type":"layers","diff_ids":[")" +
         kD1 + R"(",")" + kD2 +
         R"("]},"history":[{"created":"2024-01-01T00:00:00Z","created_by":"ADD x /"},)"
         R"({"created_by":"CMD [\"sh\"]","empty_layer":true},{"comment":"c","author":"a"}]})";
}

// Every parse error is one line that names the file.
template <typename R>
void CheckError(const R& r, const std::string& file, const std::string& needle) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error containing " + needle);
  const std::string& msg = r.error().message();
  BOOST_TEST(r.error().code() == EINVAL);
  BOOST_TEST(msg.find('\n') == std::string::npos, msg);
  BOOST_TEST(msg.rfind(file + ": ", 0) == 0, msg);
  BOOST_TEST(msg.find(needle) != std::string::npos, msg + " lacks " + needle);
}

}  // namespace

BOOST_AUTO_TEST_CASE(parse_platform_normalizes_and_refuses) {
  auto p = ParsePlatform("linux/amd64");
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->str() == "linux/amd64");
  BOOST_TEST(ParsePlatform("Linux/x86_64")->str() == "linux/amd64");
  BOOST_TEST(ParsePlatform("linux/aarch64/8")->str() == "linux/arm64/v8");
  BOOST_TEST(ParsePlatform("linux/armhf")->str() == "linux/arm/v7");
  for (const char* bad : {"", "linux", "linux/", "/amd64", "linux//v8", "linux/amd64/v1/x",
                          "linux/amd 64", "linux/amd64\n"}) {
    auto r = ParsePlatform(bad);
    BOOST_TEST(!r.ok(), bad);
    if (!r.ok()) BOOST_TEST(r.error().message().find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(platform_matching_rules) {
  auto m = [](const char* want, const char* have) {
    return PlatformMatches(*ParsePlatform(want), *ParsePlatform(have));
  };
  BOOST_TEST(m("linux/arm64", "linux/arm64/v8"));
  BOOST_TEST(m("linux/arm64/v8", "linux/arm64"));  // v8 is arm64's default
  BOOST_TEST(!m("linux/arm/v6", "linux/arm"));     // arm's default is v7
  BOOST_TEST(!m("linux/arm/v7", "linux/arm/v6"));
  BOOST_TEST(!m("linux/amd64", "windows/amd64"));
  BOOST_TEST(!m("linux/amd64", "linux/arm64"));
  BOOST_TEST(m("linux/x86_64", "linux/amd64"));
}

BOOST_AUTO_TEST_CASE(select_manifest_by_platform) {
  auto index =
      ParseImageIndex(Index({Desc(kManifestType, kD1, 10, PlatformJson("linux", "amd64")),
                             Desc(kManifestType, kD2, 10, PlatformJson("linux", "arm64", "v8")),
                             Desc(kManifestType, kD3, 10, PlatformJson("linux", "arm", "v6")),
                             Desc(kManifestType, "sha256:" + std::string(64, '4'), 10,
                                  PlatformJson("linux", "arm", "v7")),
                             Desc(kManifestType, "sha256:" + std::string(64, '5'), 10,
                                  PlatformJson("unknown", "unknown"))}),
                      "index.json");
  BOOST_REQUIRE_MESSAGE(index.ok(), ErrorText(index));
  auto pick = [&](const char* platform) {
    return SelectManifest(*index, *ParsePlatform(platform), "index.json");
  };
  BOOST_TEST(*pick("linux/amd64") == 0u);
  BOOST_TEST(*pick("linux/arm64") == 1u);
  BOOST_TEST(*pick("linux/arm64/v8") == 1u);
  BOOST_TEST(*pick("linux/arm/v6") == 2u);
  BOOST_TEST(*pick("linux/arm") == 3u);  // the default variant wins
  auto none = pick("linux/s390x");
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.error().IsNotFound());
  BOOST_TEST(none.error().message().find("linux/arm64/v8") != std::string::npos,
             none.error().message());
}

BOOST_AUTO_TEST_CASE(select_manifest_without_platforms) {
  auto want = *ParsePlatform("linux/amd64");
  // One image listed once per tag: fine.
  auto tags =
      ParseImageIndex(Index({Desc(kManifestType, kD1, 10,
                                  R"(,"annotations":{"org.opencontainers.image.ref.name":"a"})"),
                             Desc(kManifestType, kD1, 10,
                                  R"(,"annotations":{"org.opencontainers.image.ref.name":"b"})")}),
                      "index.json");
  BOOST_REQUIRE(tags.ok());
  BOOST_TEST(*SelectManifest(*tags, want, "index.json") == 0u);
  BOOST_TEST(tags->manifests[1].annotations.at(std::string(kAnnotationRefName)) == "b");
  // Two different images and nothing to choose by: ambiguous.
  auto two = ParseImageIndex(Index({Desc(kManifestType, kD1, 10), Desc(kManifestType, kD2, 10)}),
                             "index.json");
  BOOST_REQUIRE(two.ok());
  CheckError(SelectManifest(*two, want, "index.json"), "index.json", "2 different images");
  // A platform match beats an entry without platform; other media types are ignored.
  auto mixed = ParseImageIndex(
      Index({Desc("application/vnd.example.sbom+json", kD3, 10), Desc(kManifestType, kD1, 10),
             Desc(kManifestType, kD2, 10, PlatformJson("linux", "amd64"))}),
      "index.json");
  BOOST_REQUIRE(mixed.ok());
  BOOST_TEST(*SelectManifest(*mixed, want, "index.json") == 2u);
  auto empty = ParseImageIndex(Index({}), "index.json");
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(SelectManifest(*empty, want, "index.json").error().IsNotFound());
}

BOOST_AUTO_TEST_CASE(parse_index_accepts_docker_manifest_list) {
  std::string list =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",)"
      R"("manifests":[)" +
      Desc(std::string(media_type::kDockerManifest), kD1, 528,
           R"(,"platform":{"architecture":"amd64","os":"linux","os.version":"10.0"})") +
      "]}";
  auto index = ParseImageIndex(list, "list");
  BOOST_REQUIRE_MESSAGE(index.ok(), ErrorText(index));
  BOOST_TEST(index->manifests.size() == 1u);
  BOOST_TEST(index->manifests[0].size == 528u);
  BOOST_TEST(index->manifests[0].platform->os_version == "10.0");
  BOOST_TEST(IsManifestMediaType(index->manifests[0].media_type));
}

BOOST_AUTO_TEST_CASE(parse_index_refuses_malformed_input) {
  const std::string f = "index.json";
  CheckError(ParseImageIndex("", f), f, "invalid JSON");
  CheckError(ParseImageIndex("{\"schemaVersion\":2,", f), f, "invalid JSON");
  CheckError(ParseImageIndex("[]", f), f, "must be an object");
  CheckError(ParseImageIndex("{\"schemaVersion\":2} x", f), f, "invalid JSON");
  CheckError(ParseImageIndex(R"({"manifests":[]})", f), f, "schemaVersion: missing");
  CheckError(ParseImageIndex(R"({"schemaVersion":1,"manifests":[]})", f), f, "schema 1");
  CheckError(ParseImageIndex(R"({"schemaVersion":"2","manifests":[]})", f), f, "schemaVersion");
  CheckError(ParseImageIndex(R"({"schemaVersion":2})", f), f, "manifests: missing");
  CheckError(ParseImageIndex(R"({"schemaVersion":2,"manifests":{}})", f), f,
             "manifests: must be an array");
  CheckError(
      ParseImageIndex(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})",
          f),
      f, "mediaType: not an image index");
  CheckError(ParseImageIndex(Index({Desc(kManifestType, "sha512:abc", 1)}), f), f,
             "manifests[0].digest: unsupported digest");
  CheckError(ParseImageIndex(Index({Desc(kManifestType, "sha256:ABC", 1)}), f), f,
             "manifests[0].digest: invalid sha256 digest");
  CheckError(ParseImageIndex(Index({Desc(kManifestType, kD1, -1)}), f), f,
             "manifests[0].size: must not be negative");
  CheckError(
      ParseImageIndex(Index({R"({"mediaType":"x","digest":")" + kD1 + R"(","size":1.5})"}), f), f,
      "manifests[0].size: must be a non-negative integer");
  CheckError(
      ParseImageIndex(Index({R"({"mediaType":"x","digest":")" + kD1 + R"(","size":"1"})"}), f), f,
      "manifests[0].size");
  CheckError(ParseImageIndex(Index({R"({"digest":")" + kD1 + R"(","size":1})"}), f), f,
             "manifests[0].mediaType: missing");
  CheckError(ParseImageIndex(Index({Desc(kManifestType, kD1, 1, R"(,"annotations":{"k":1})")}), f),
             f, "manifests[0].annotations[\"k\"]: must be a string");
  CheckError(
      ParseImageIndex(Index({Desc(kManifestType, kD1, 1, R"(,"platform":{"os":"linux"})")}), f), f,
      "manifests[0].platform.architecture: missing");
  // A hostile key or value cannot break the one-line rule.
  CheckError(
      ParseImageIndex(Index({Desc(kManifestType, kD1, 1, R"(,"annotations":{"a\nb":[]})")}), f), f,
      "a\\x0ab");
  // Deep nesting and invalid UTF-8 are refused, not crashed on.
  CheckError(ParseImageIndex(std::string(10000, '[') + std::string(10000, ']'), f), f,
             "invalid JSON");
  CheckError(ParseImageIndex("{\"schemaVersion\":2,\"manifests\":[],\"x\":\"\xff\"}", f), f,
             "invalid JSON");
}

BOOST_AUTO_TEST_CASE(truncated_documents_fail_cleanly) {
  const std::string docs[] = {
      ValidManifest(), ValidConfig(),
      Index({Desc(kManifestType, kD1, 10, PlatformJson("linux", "amd64"))})};
  for (const std::string& doc : docs) {
    for (size_t n = 0; n < doc.size(); ++n) {
      std::string cut = doc.substr(0, n);
      auto a = ParseManifest(cut, "m");
      auto b = ParseImageConfig(cut, "c");
      auto c = ParseImageIndex(cut, "i");
      BOOST_TEST(!a.ok());
      BOOST_TEST(!b.ok());
      BOOST_TEST(!c.ok());
      if (!a.ok()) BOOST_TEST(a.error().message().find('\n') == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_manifest) {
  auto m = ParseManifest(ValidManifest(), "blobs/sha256/x");
  BOOST_REQUIRE_MESSAGE(m.ok(), ErrorText(m));
  BOOST_TEST(m->media_type == media_type::kDockerManifest);
  BOOST_TEST(m->config.digest.str() == kD1);
  BOOST_TEST(m->config.size == 1469u);
  BOOST_TEST(m->layers.size() == 2u);
  BOOST_TEST(m->layers[1].size == 100u);
  BOOST_TEST(IsLayerMediaType(m->layers[0].media_type));
  BOOST_TEST(!IsLayerMediaType("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"));

  const std::string f = "m.json";
  CheckError(ParseManifest(Index({}), f), f, "an image index where a manifest was expected");
  CheckError(ParseManifest(R"({"schemaVersion":2,"layers":[]})", f), f, "config: missing");
  CheckError(ParseManifest(R"({"schemaVersion":2,"config":)" + Desc("x", kD1, 1) + "}", f), f,
             "layers: missing");
  CheckError(
      ParseManifest(R"({"schemaVersion":2,"config":)" + Desc("x", kD1, 1) + R"(,"layers":[1]})", f),
      f, "layers[0]: must be an object");
  CheckError(
      ParseManifest(
          R"({"schemaVersion":2,"config":)" + Desc("x", "sha256:", 1) + R"(,"layers":[]})", f),
      f, "config.digest");
}

BOOST_AUTO_TEST_CASE(parse_config) {
  auto c = ParseImageConfig(ValidConfig(), "config.json");
  BOOST_REQUIRE_MESSAGE(c.ok(), ErrorText(c));
  BOOST_TEST(c->architecture == "arm64");
  BOOST_TEST(c->variant == "v8");
  BOOST_TEST(c->os == "linux");
  BOOST_TEST(c->created == "2024-01-02T03:04:05.1Z");
  BOOST_TEST(c->config.user == "1000:1000");
  BOOST_TEST(c->config.env == (std::vector<std::string>{"PATH=/bin", "A=b"}));
  BOOST_TEST(c->config.entrypoint.empty());
  BOOST_TEST(c->config.cmd == (std::vector<std::string>{"sh", "-c", "echo hi"}));
  BOOST_TEST(c->config.working_dir == "/w");
  BOOST_TEST(c->config.labels.at("b") == "2");
  BOOST_TEST(c->config.exposed_ports == (std::vector<std::string>{"53/udp", "80/tcp"}));
  BOOST_TEST(c->config.volumes == (std::vector<std::string>{"/data"}));
  BOOST_TEST(c->config.stop_signal == "SIGTERM");
  BOOST_TEST(c->diff_ids.size() == 2u);
  BOOST_TEST(c->diff_ids[1].str() == kD2);
  BOOST_TEST(c->history.size() == 3u);
  BOOST_TEST(c->history[1].empty_layer);
  BOOST_TEST(c->history[1].created_by == "CMD [\"sh\"]");
  BOOST_TEST(c->history[2].comment == "c");

  // The minimal config: rootfs only; null config is fine.
  auto minimal =
      ParseImageConfig(R"({"config":null,"rootfs":{"type":"layers","diff_ids":[]}})", "c");
  BOOST_REQUIRE_MESSAGE(minimal.ok(), ErrorText(minimal));
  BOOST_TEST(minimal->diff_ids.empty());

  const std::string f = "cfg";
  CheckError(ParseImageConfig("{}", f), f, "rootfs: missing");
  CheckError(ParseImageConfig(R"({"rootfs":{"type":"tar","diff_ids":[]}})", f), f,
             "rootfs.type: must be \"layers\"");
  CheckError(ParseImageConfig(R"({"rootfs":{"type":"layers"}})", f), f, "rootfs.diff_ids: missing");
  CheckError(ParseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":["sha256:1"]}})", f), f,
             "rootfs.diff_ids[0]");
  CheckError(
      ParseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":[1]}})", f), f,
      "config.Env[0]: must be a string");
  CheckError(
      ParseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":[]},"config":{"Cmd":"sh"}})", f), f,
      "config.Cmd: must be an array");
  CheckError(ParseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":[]},"history":[1]})", f), f,
             "history[0]: must be an object");
  CheckError(
      ParseImageConfig(
          R"({"rootfs":{"type":"layers","diff_ids":[]},"history":[{"empty_layer":"yes"}]})", f),
      f, "history[0].empty_layer: must be a boolean");
  CheckError(ParseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":[]},"os":7})", f), f,
             "os: must be a string");
}

BOOST_AUTO_TEST_CASE(parse_docker_archive_manifest) {
  auto images = ParseDockerArchiveManifest(
      R"([{"Config":"abc.json","RepoTags":["busybox:latest","b:1"],"Layers":["a/layer.tar","b.tar"]},)"
      R"({"Config":"def.json","RepoTags":null,"Layers":[],"LayerSources":{}}])",
      "manifest.json");
  BOOST_REQUIRE_MESSAGE(images.ok(), ErrorText(images));
  BOOST_TEST(images->size() == 2u);
  BOOST_TEST((*images)[0].repo_tags.size() == 2u);
  BOOST_TEST((*images)[0].layers[0] == "a/layer.tar");
  BOOST_TEST((*images)[1].repo_tags.empty());

  const std::string f = "manifest.json";
  CheckError(ParseDockerArchiveManifest("{}", f), f, "must be an array");
  CheckError(ParseDockerArchiveManifest(R"([{"RepoTags":[],"Layers":[]}])", f), f,
             "[0].Config: missing");
  CheckError(ParseDockerArchiveManifest(R"([{"Config":"","Layers":[]}])", f), f,
             "[0].Config: empty");
  CheckError(ParseDockerArchiveManifest(R"([{"Config":"c","Layers":"l"}])", f), f,
             "[0].Layers: must be an array");
  CheckError(ParseDockerArchiveManifest(R"([{"Config":"c","Layers":[],"RepoTags":[3]}])", f), f,
             "[0].RepoTags[0]: must be a string");
}

BOOST_AUTO_TEST_CASE(layout_file) {
  BOOST_TEST(ParseLayoutFile(BuildLayoutFile(), "oci-layout").ok());
  CheckError(ParseLayoutFile(R"({"imageLayoutVersion":"2.0.0"})", "oci-layout"), "oci-layout",
             "unsupported version");
  CheckError(ParseLayoutFile("{}", "oci-layout"), "oci-layout", "imageLayoutVersion: missing");
}

BOOST_AUTO_TEST_CASE(builders_round_trip) {
  ImageIndex index;
  index.media_type = std::string(media_type::kOciIndex);
  Descriptor d;
  d.media_type = kManifestType;
  d.digest = *Digest::Parse(kD1);
  d.size = 1234;
  d.platform = oci::Platform{"linux", "arm64", "v8", ""};
  d.annotations[std::string(kAnnotationRefName)] = "busybox:1.36";
  index.manifests = {d};
  std::string built = BuildImageIndex(index);
  BOOST_TEST(built == BuildImageIndex(index));  // deterministic
  auto parsed = ParseImageIndex(built, "built");
  BOOST_REQUIRE_MESSAGE(parsed.ok(), ErrorText(parsed));
  BOOST_TEST(parsed->manifests.size() == 1u);
  BOOST_TEST((parsed->manifests[0] == d));

  Manifest m;
  m.media_type = kManifestType;
  m.config = {std::string(media_type::kOciConfig), *Digest::Parse(kD2), 99, std::nullopt, {}};
  m.layers = {
      {std::string(media_type::kOciLayer), *Digest::Parse(kD3), 1ull << 40, std::nullopt, {}}};
  auto pm = ParseManifest(BuildManifest(m), "built");
  BOOST_REQUIRE_MESSAGE(pm.ok(), ErrorText(pm));
  BOOST_TEST((pm->config == m.config));
  BOOST_TEST((pm->layers == m.layers));

  auto config = ParseImageConfig(ValidConfig(), "c");
  BOOST_REQUIRE(config.ok());
  auto again = ParseImageConfig(BuildImageConfig(*config), "c2");
  BOOST_REQUIRE_MESSAGE(again.ok(), ErrorText(again));
  BOOST_TEST((again->config == config->config));
  BOOST_TEST((again->diff_ids == config->diff_ids));
  BOOST_TEST((again->history == config->history));
  BOOST_TEST(again->architecture == "arm64");
  BOOST_TEST(again->variant == "v8");

  DockerArchiveImage image{"abc.json", {"a:1"}, {"x.tar", "y.tar"}};
  auto images = ParseDockerArchiveManifest(BuildDockerArchiveManifest({image}), "m");
  BOOST_REQUIRE(images.ok());
  BOOST_TEST((*images)[0].config == "abc.json");
  BOOST_TEST((*images)[0].layers.size() == 2u);

  BOOST_TEST(
      BuildDockerRepositories({"localhost:5000/app:v2", "busybox:latest", "busybox:1"}, "abcd") ==
      R"({"localhost:5000/app":{"v2":"abcd"},"busybox":{"latest":"abcd","1":"abcd"}})");
}

BOOST_AUTO_TEST_CASE(quoted_values_stay_on_one_line) {
  BOOST_TEST(Quoted("a\nb\"c") == "\"a\\x0ab\\x22c\"");
  BOOST_TEST(Quoted(std::string(100, 'x'), 10) == "\"xxxxxxxxxx...\"");

  // Found by tests/fuzz/oci_manifest: a digest with a control character
  // broke the message over several lines.
  auto m = ParseManifest(
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json",)"
      R"("digest":"sha256:ab\ncd","size":1},"layers":[]})",
      "manifest");
  BOOST_REQUIRE(!m.ok());
  BOOST_TEST(m.error().code() == EINVAL);
  BOOST_TEST(m.error().message().find('\n') == std::string::npos);
  BOOST_TEST(m.error().message().find("config.digest") != std::string::npos);
}
