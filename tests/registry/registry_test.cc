// Unit tests of the registry component's pure parts: references, auth
// challenges, base64, the docker config.json credentials file.
#define BOOST_TEST_MODULE registry
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/test/unit_test.hpp>

#include "common/base64.h"
#include "common/fs.h"
#include "registry/auth.h"
#include "registry/credential_helper.h"
#include "registry/credential_store.h"
#include "registry/credentials_file.h"
#include "registry/layer_compressor.h"
#include "registry/reference.h"
#include "registry/registries.h"
#include "registry/tls_trust.h"
#include "storage/byte_source.h"

using namespace strata;
using namespace strata::registry;

BOOST_AUTO_TEST_CASE(references_resolve_like_docker) {
  auto r = Reference::Parse("busybox");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->registry == "docker.io");
  BOOST_TEST(r->repository == "library/busybox");
  BOOST_TEST(r->tag == "latest");
  BOOST_TEST(r->Endpoint() == "registry-1.docker.io");
  BOOST_TEST(r->Familiar() == "busybox:latest");

  r = Reference::Parse("user/app:v2");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->repository == "user/app");
  BOOST_TEST(r->Familiar() == "user/app:v2");

  r = Reference::Parse("localhost:5000/a/b");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->registry == "localhost:5000");
  BOOST_TEST(r->repository == "a/b");
  BOOST_TEST(r->Familiar() == "localhost:5000/a/b:latest");

  std::string hex(64, 'a');
  r = Reference::Parse("ghcr.io/o/app@sha256:" + hex);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->tag.empty());
  BOOST_TEST(r->ManifestRef() == "sha256:" + hex);

  // Found by tests/fuzz/registry_reference: a Docker Hub name whose first
  // component reads as a host was shown (and tagged after a pull) without
  // "docker.io/", so it named another registry's image.
  r = Reference::Parse("registry-1.docker.io/foo.bar/app");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->Familiar() == "docker.io/foo.bar/app:latest");
  auto again = Reference::Parse(r->Familiar());
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->registry == "docker.io");
  BOOST_TEST(again->repository == "foo.bar/app");
  BOOST_TEST(Reference::Parse("docker.io/localhost/x")->Familiar() ==
             "docker.io/localhost/x:latest");

  for (const char* bad : {"", "UPPER/case", "a//b", "a:", "x@sha256:12", "-a", "a/b:t t"}) {
    BOOST_TEST(!Reference::Parse(bad).ok(), bad);
  }
}

BOOST_AUTO_TEST_CASE(registry_hosts_are_names_or_bracketed_ipv6_with_a_port) {
  for (const char* good : {"localhost:5000/a", "reg.example.com/a/b", "[::1]:5000/a", "[fe80::1]/a",
                           "10.0.0.1:443/x:v1"}) {
    auto r = Reference::Parse(good);
    BOOST_TEST_INFO(good);
    BOOST_TEST(r.ok());
    if (r.ok()) BOOST_TEST(Reference::Parse(r->Familiar()).ok());
  }
  // Found by tests/fuzz/registry_reference: these parsed, then did not
  // print back as a reference.
  for (const char* bad : {":]]]]]ww/a", "reg.io:/a", "reg.io:99999x/a", "[::1/a", "[]/a",
                          "a.b:80:90/c", "[::1]x/a"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!Reference::Parse(bad).ok());
  }
  // Long but valid parts print back within the limit.
  std::string name = "reg.io/" + std::string(240, 'a');
  auto r = Reference::Parse(name);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(Reference::Parse(r->Familiar()).ok());
}

BOOST_AUTO_TEST_CASE(loopback_registries) {
  BOOST_TEST(IsLoopbackRegistry("localhost:5000"));
  BOOST_TEST(IsLoopbackRegistry("127.0.0.1"));
  BOOST_TEST(IsLoopbackRegistry("[::1]:5000"));
  BOOST_TEST(!IsLoopbackRegistry("registry.example.com"));
  BOOST_TEST(!IsLoopbackRegistry("10.0.0.1:5000"));
}

BOOST_AUTO_TEST_CASE(challenges_parse) {
  auto c = ParseChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push")");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->scheme == "bearer");
  BOOST_TEST(c->params["realm"] == "https://auth.docker.io/token");
  BOOST_TEST(c->params["service"] == "registry.docker.io");
  BOOST_TEST(c->params["scope"] == "repository:library/busybox:pull,push");
  c = ParseChallenge("Basic realm=registry");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->scheme == "basic");
  BOOST_TEST(c->params["realm"] == "registry");
  BOOST_TEST(!ParseChallenge("").ok());
}

BOOST_AUTO_TEST_CASE(base64_round_trips) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "alice:s3cret", std::string("\0\xff", 2)}) {
    auto back = Base64Decode(Base64Encode(s));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(*back == s);
  }
  BOOST_TEST(Base64Encode("alice:s3cret") == "YWxpY2U6czNjcmV0");
  BOOST_TEST(*Base64Decode("YWxpY2U6czNjcmV0") == "alice:s3cret");
  // config.json "auth" values come with or without padding.
  BOOST_TEST(*Base64Decode("YWI") == "ab");
  BOOST_TEST(*Base64Decode("YWI=") == "ab");
  BOOST_TEST(*Base64Decode("YQ") == "a");
  for (const char* bad : {"Y", "YW=I", "Y===", "YWI =", " YWI=", "YW\nI=", "YWI*"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!Base64Decode(bad).has_value());
  }
}

BOOST_AUTO_TEST_CASE(token_cache_expires) {
  TokenCache cache;
  cache.Put("k", "t", TokenCache::Clock::now() + std::chrono::hours(1));
  cache.Put("old", "t", TokenCache::Clock::now() - std::chrono::seconds(1));
  BOOST_TEST(cache.Get("k").value_or("") == "t");
  BOOST_TEST(!cache.Get("old").has_value());
}

BOOST_AUTO_TEST_CASE(credentials_file_keeps_other_members) {
  auto dir = TempDir::Create("/tmp", "registry-test-");
  BOOST_REQUIRE(dir.ok());
  std::string path = dir->path() + "/docker/config.json";
  BOOST_REQUIRE(MakeDirs(dir->path() + "/docker", 0700).ok());
  BOOST_REQUIRE(
      WriteFileAtomic(
          path, R"({"credsStore":"x","auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}})")
          .ok());
  CredentialsFile file(path);
  auto hub = file.Lookup("docker.io");
  BOOST_REQUIRE(hub.ok());
  BOOST_REQUIRE(hub->has_value());
  BOOST_TEST((*hub)->username == "u");
  BOOST_TEST((*hub)->password == "p");

  BOOST_REQUIRE(file.Store("localhost:5000", {"alice", "s3:cret"}).ok());
  struct stat st;
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto local = file.Lookup("localhost:5000");
  BOOST_REQUIRE(local.ok() && local->has_value());
  BOOST_TEST((*local)->password == "s3:cret");
  auto text = ReadFile(path);
  BOOST_REQUIRE(text.ok());
  BOOST_TEST(text->find("\"credsStore\":\"x\"") != std::string::npos);

  auto erased = file.Erase("localhost:5000");
  BOOST_REQUIRE(erased.ok());
  BOOST_TEST(*erased);
  auto gone = file.Lookup("localhost:5000");
  BOOST_REQUIRE(gone.ok());
  BOOST_TEST(!gone->has_value());
  BOOST_TEST(!*file.Erase("localhost:5000"));
}

namespace {

// A directory on PATH holding test doubles of docker credential helpers:
// docker-credential-strata-test answers `get` and `erase` from files named
// after the server URL it is given and logs every call with its input;
// docker-credential-strata-broken fails with a message on stderr.
class HelperDoubles {
 public:
  HelperDoubles() {
    auto made = TempDir::Create("/tmp", "registry-helper-");
    BOOST_REQUIRE(made.ok());
    dir_.emplace(std::move(*made));
    Write("docker-credential-strata-test", R"(#!/bin/sh
input=$(cat)
printf '%s %s\n' "$1" "$input" >> "$HELPER_DIR/calls"
key=$(printf %s "$input" | tr -c 'A-Za-z0-9' '_')
case "$1" in
  get) [ -f "$HELPER_DIR/$key" ] && exec cat "$HELPER_DIR/$key" ;;
  erase) [ -f "$HELPER_DIR/$key" ] && exec rm "$HELPER_DIR/$key" ;;
  store) exit 0 ;;
esac
echo "credentials not found in native keychain"
exit 1
)");
    Write("docker-credential-strata-broken",
          "#!/bin/sh\necho 'the keyring is locked' >&2\nexit 3\n");
    ::setenv("HELPER_DIR", dir().c_str(), 1);
    old_path_ = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (dir() + ":" + old_path_).c_str(), 1);
  }
  ~HelperDoubles() { ::setenv("PATH", old_path_.c_str(), 1); }
  const std::string& dir() const { return dir_->path(); }
  // What `get` answers for a server URL.
  void Answer(const std::string& url, const std::string& json) {
    std::string key;
    for (char c : url) key += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    BOOST_REQUIRE(WriteFileAtomic(dir() + "/" + key, json).ok());
  }
  std::string Calls() const {
    auto text = ReadFile(dir() + "/calls");
    return text.ok() ? *text : std::string();
  }

 private:
  void Write(const std::string& name, const std::string& text) {
    BOOST_REQUIRE(WriteFileAtomic(dir() + "/" + name, text, 0755).ok());
  }
  std::optional<TempDir> dir_;
  std::string old_path_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(credential_helper_protocol) {
  HelperDoubles doubles;
  CredentialHelper helper("strata-test");
  BOOST_TEST(helper.program() == "docker-credential-strata-test");
  auto none = helper.Get("localhost:5000");
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(!none->has_value());

  doubles.Answer("localhost:5000",
                 R"({"ServerURL":"localhost:5000","Username":"alice","Secret":"s3cret"})");
  auto got = helper.Get("localhost:5000");
  BOOST_REQUIRE(got.ok());
  BOOST_REQUIRE(got->has_value());
  BOOST_TEST((*got)->username == "alice");
  BOOST_TEST((*got)->password == "s3cret");
  // Docker Hub goes by its config.json key.
  doubles.Answer("https://index.docker.io/v1/", R"({"Username":"hub","Secret":"pw"})");
  auto hub = helper.Get("docker.io");
  BOOST_REQUIRE(hub.ok() && hub->has_value());
  BOOST_TEST((*hub)->username == "hub");

  BOOST_REQUIRE(helper.Store("localhost:5000", {"bob", "p w\"x"}).ok());
  BOOST_TEST(doubles.Calls().find(
                 R"(store {"ServerURL":"localhost:5000","Username":"bob","Secret":"p w\"x"})") !=
             std::string::npos);

  auto erased = helper.Erase("localhost:5000");
  BOOST_REQUIRE(erased.ok());
  BOOST_TEST(*erased);
  erased = helper.Erase("localhost:5000");
  BOOST_REQUIRE(erased.ok());
  BOOST_TEST(!*erased);

  // An identity token is refused in one line, without the token.
  doubles.Answer("tok.example", R"({"Username":"<token>","Secret":"refresh-xyz"})");
  auto token = helper.Get("tok.example");
  BOOST_REQUIRE(!token.ok());
  BOOST_TEST(token.error().message().find("identity token") != std::string::npos);
  BOOST_TEST(token.error().message().find("refresh-xyz") == std::string::npos);
  // An answer that is not JSON is not quoted: it may be the secret.
  doubles.Answer("junk.example", "hunter2");
  auto junk = helper.Get("junk.example");
  BOOST_REQUIRE(!junk.ok());
  BOOST_TEST(junk.error().message().find("hunter2") == std::string::npos);
  BOOST_TEST(junk.error().message().find("docker-credential-strata-test") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(credential_helper_failures_are_one_line) {
  HelperDoubles doubles;
  auto missing = CredentialHelper("strata-absent").Get("reg.example:5000");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message() ==
             "credential helper docker-credential-strata-absent for reg.example:5000: not found "
             "in PATH");
  auto broken = CredentialHelper("strata-broken").Store("reg.example", {"u", "secret-pw"});
  BOOST_REQUIRE(!broken.ok());
  BOOST_TEST(broken.error().message() ==
             "credential helper docker-credential-strata-broken for reg.example: exited with "
             "status 3: the keyring is locked");
  BOOST_TEST(!CredentialHelper("strata-broken").Erase("reg.example").ok());
}

BOOST_AUTO_TEST_CASE(credential_store_follows_the_config) {
  HelperDoubles doubles;
  std::string path = doubles.dir() + "/docker/config.json";
  BOOST_REQUIRE(MakeDirs(doubles.dir() + "/docker", 0700).ok());
  // credHelpers for one registry, the file for the others.
  BOOST_REQUIRE(WriteFileAtomic(path, R"({"credHelpers":{"helped.example":"strata-test"},
      "auths":{"plain.example":{"auth":"dTpw"}}})")
                    .ok());
  CredentialStore store(path);
  auto plain = store.Lookup("plain.example");
  BOOST_REQUIRE(plain.ok() && plain->has_value());
  BOOST_TEST((*plain)->username == "u");
  doubles.Answer("helped.example", R"({"Username":"h","Secret":"hp"})");
  auto helped = store.Lookup("helped.example");
  BOOST_REQUIRE(helped.ok() && helped->has_value());
  BOOST_TEST((*helped)->password == "hp");

  // Stored through the helper: config.json gets an entry without secrets.
  BOOST_REQUIRE(store.Store("helped.example", {"h2", "topsecret"}).ok());
  auto text = ReadFile(path);
  BOOST_REQUIRE(text.ok());
  BOOST_TEST(text->find("topsecret") == std::string::npos);
  BOOST_TEST(text->find(R"("helped.example":{})") != std::string::npos);
  BOOST_TEST(doubles.Calls().find("store ") != std::string::npos);
  auto erased = store.Erase("helped.example");
  BOOST_REQUIRE(erased.ok());
  BOOST_TEST(*erased);
  BOOST_TEST(ReadFile(path)->find(R"("helped.example":{})") == std::string::npos);
  BOOST_TEST(doubles.Calls().find("erase helped.example") != std::string::npos);

  // credsStore covers every registry without a credHelpers entry.
  BOOST_REQUIRE(WriteFileAtomic(path, R"({"credsStore":"strata-broken",
      "credHelpers":{"helped.example":"strata-test"}})")
                    .ok());
  auto broken = store.Lookup("other.example");
  BOOST_REQUIRE(!broken.ok());
  BOOST_TEST(broken.error().message().find("docker-credential-strata-broken for other.example") !=
             std::string::npos);
  BOOST_TEST(store.Lookup("helped.example").ok());
  // A failed store through the helper leaves the file as it was.
  auto before = ReadFile(path);
  BOOST_TEST(!store.Store("other.example", {"u", "p"}).ok());
  auto after = ReadFile(path);
  BOOST_REQUIRE(before.ok() && after.ok());
  BOOST_TEST(*after == *before);

  // Helper names are file name parts.
  BOOST_REQUIRE(WriteFileAtomic(path, R"({"credsStore":"../../bin/sh"})").ok());
  auto bad = store.Lookup("x.example");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().IsInvalid());
  BOOST_TEST(!ValidHelperName(""));
  BOOST_TEST(ValidHelperName("ecr-login"));
}

BOOST_AUTO_TEST_CASE(plain_http_only_for_loopback_and_named_registries) {
  auto dir = TempDir::Create("/tmp", "registry-certs-");
  BOOST_REQUIRE(dir.ok());
  BOOST_REQUIRE(MakeDirs(dir->path() + "/127.0.0.1:5443", 0755).ok());
  RegistriesOptions options;
  options.insecure = {"10.0.0.5", "reg.example:5000"};
  options.certs_dir = dir->path();
  Registries registries(options);
  // Anything else on the network: TLS, verified.
  BOOST_TEST(!registries.IsInsecure("192.0.2.2:5000"));
  BOOST_TEST(!registries.IsInsecure("registry.example.com"));
  BOOST_TEST(!registries.IsInsecure("10.0.0.50"));
  // Named: a host covers its ports, a host:port only itself.
  BOOST_TEST(registries.IsInsecure("10.0.0.5"));
  BOOST_TEST(registries.IsInsecure("10.0.0.5:5000"));
  BOOST_TEST(registries.IsInsecure("reg.example:5000"));
  BOOST_TEST(!registries.IsInsecure("reg.example:5001"));
  BOOST_TEST(!registries.IsInsecure("reg.example"));
  // Loopback, unless certs.d asks for verification.
  BOOST_TEST(registries.IsInsecure("localhost:5000"));
  BOOST_TEST(registries.IsInsecure("127.0.0.1:5000"));
  BOOST_TEST(registries.IsInsecure("[::1]:5000"));
  BOOST_TEST(!registries.IsInsecure("127.0.0.1:5443"));
  options.insecure.push_back("127.0.0.1:5443");
  BOOST_TEST(Registries(options).IsInsecure("127.0.0.1:5443"));
}

namespace {

// A self-signed certificate (PEM) named cn.
std::string SelfSigned(const std::string& cn) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  BOOST_REQUIRE(key != nullptr);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  BOOST_REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

}  // namespace

BOOST_AUTO_TEST_CASE(certs_d_cas_are_loaded_per_registry) {
  auto dir = TempDir::Create("/tmp", "registry-certs-");
  BOOST_REQUIRE(dir.ok());
  auto none = TlsTrust::Load(dir->path(), "reg.example:5000");
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(!*none);
  BOOST_TEST(!TlsTrust::Configured(dir->path(), ".."));
  BOOST_TEST(!TlsTrust::Configured("", "reg.example:5000"));

  std::string host = dir->path() + "/reg.example:5000";
  BOOST_REQUIRE(MakeDirs(host, 0755).ok());
  BOOST_REQUIRE(WriteFileAtomic(host + "/ca.crt", SelfSigned("a") + SelfSigned("b")).ok());
  BOOST_REQUIRE(WriteFileAtomic(host + "/other.crt", SelfSigned("c")).ok());
  BOOST_REQUIRE(WriteFileAtomic(host + "/README", "not a certificate").ok());
  auto trust = TlsTrust::Load(dir->path(), "reg.example:5000");
  BOOST_REQUIRE(trust.ok());
  BOOST_REQUIRE(*trust);
  BOOST_TEST((*trust)->size() == 3u);
  BOOST_TEST((*trust)->dir() == host);

  BOOST_TEST((*trust)->client_cert().empty());

  // A client certificate needs its key beside it.
  BOOST_REQUIRE(WriteFileAtomic(host + "/client.cert", SelfSigned("client")).ok());
  auto alone = TlsTrust::Load(dir->path(), "reg.example:5000");
  BOOST_REQUIRE(!alone.ok());
  BOOST_TEST(alone.error().message() == host + "/client.cert: no client.key beside it");
  BOOST_REQUIRE(WriteFileAtomic(host + "/client.key", "a key").ok());
  auto pair = TlsTrust::Load(dir->path(), "reg.example:5000");
  BOOST_REQUIRE(pair.ok());
  BOOST_TEST((*pair)->client_cert() == host + "/client.cert");
  BOOST_TEST((*pair)->client_key() == host + "/client.key");
  BOOST_REQUIRE(WriteFileAtomic(host + "/other.key", "a key").ok());
  BOOST_TEST(!TlsTrust::Load(dir->path(), "reg.example:5000").ok());
  BOOST_REQUIRE(::unlink((host + "/other.key").c_str()) == 0);

  BOOST_REQUIRE(WriteFileAtomic(host + "/broken.crt", "-----BEGIN CERTIFICATE-----\nxx").ok());
  auto broken = TlsTrust::Load(dir->path(), "reg.example:5000");
  BOOST_REQUIRE(!broken.ok());
  BOOST_TEST(broken.error().message() == host + "/broken.crt: no PEM certificate in it");
}

namespace {

// Compresses data with c into an unlinked file; returns (digest, what
// DecompressingSource reads back).
std::pair<storage::Digest, std::string> CompressAndBack(Compression c, const std::string& data) {
  int raw = ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  BOOST_REQUIRE(raw >= 0);
  UniqueFd fd(raw);
  auto lc = LayerCompressor::Create(c, fd.get());
  BOOST_REQUIRE(lc.ok());
  for (size_t i = 0; i < data.size(); i += 7777) {
    BOOST_REQUIRE((*lc)->Write(std::string_view(data).substr(i, 7777)).ok());
  }
  BOOST_REQUIRE((*lc)->Finish().ok());
  BOOST_REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  storage::FdSource file(UniqueFd(::dup(fd.get())));
  storage::HashingSource hashed(&file);
  auto plain = storage::DecompressingSource::Open(&hashed);
  BOOST_REQUIRE(plain.ok());
  std::string back;
  char buf[4096];
  for (;;) {
    auto got = (*plain)->Read(buf, sizeof buf);
    BOOST_REQUIRE(got.ok());
    if (*got == 0) break;
    back.append(buf, *got);
  }
  char rest[64];
  while (*hashed.Read(rest, sizeof rest) > 0) {
  }
  BOOST_TEST(hashed.bytes() == (*lc)->size());
  BOOST_TEST(hashed.Finish().str() == (*lc)->digest().str());
  return {(*lc)->digest(), back};
}

}  // namespace

BOOST_AUTO_TEST_CASE(layer_compression_round_trips_and_repeats) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += std::to_string(i * 7919 % 1000) + "\n";
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    auto [first, back] = CompressAndBack(c, data);
    BOOST_TEST((back == data));
    auto [second, again] = CompressAndBack(c, data);
    BOOST_TEST((first == second));  // same input, same blob digest
  }
  BOOST_TEST(LayerMediaType(Compression::kZstd) == "application/vnd.oci.image.layer.v1.tar+zstd");
  BOOST_TEST(!ParseCompression("lz4").ok());
}
