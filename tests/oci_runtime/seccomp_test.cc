// linux.seccomp: parsing and validation, a filter loaded for real in a
// forked child (under no_new_privs, so no privilege is needed), and the
// cache of compiled programs.
#define BOOST_TEST_MODULE oci_runtime_seccomp
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>

#include "common/fs.h"
#include "runtime/oci/seccomp.h"
#include "runtime/oci/seccomp_cache.h"

using namespace strata::runtime::oci;
namespace json = boost::json;

namespace {

strata::Result<Seccomp> Parse(const std::string& text) {
  return ParseSeccomp(json::parse(text).as_object());
}

// Runs fn in a forked child; its exit status.
template <typename Fn>
int InChild(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

BOOST_AUTO_TEST_CASE(parses_every_field) {
  auto s = Parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"}
    ]})");
  BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message()));
  BOOST_TEST((s->default_action.kind == SeccompActionKind::kErrno));
  BOOST_TEST(s->default_action.ret == 38u);
  BOOST_TEST(s->architectures.size() == 3u);
  BOOST_TEST(s->log);
  BOOST_TEST(!s->spec_allow);
  BOOST_TEST(s->syscalls.size() == 4u);
  BOOST_TEST((s->syscalls[1].args.at(0).op == SeccompOp::kMaskedEqual));
  BOOST_TEST(s->syscalls[1].args.at(0).value == 2114060288u);
  BOOST_TEST(s->syscalls[2].action.ret == static_cast<uint32_t>(EPERM));  // errnoRet unset
  BOOST_TEST((s->syscalls[3].action.kind == SeccompActionKind::kKillProcess));
}

BOOST_AUTO_TEST_CASE(refuses_bad_profiles_naming_the_field) {
  struct Case {
    const char* json;
    const char* words;
  };
  const Case cases[] = {
      {R"({})", "defaultAction"},
      {R"({"defaultAction": "SCMP_ACT_NOPE"})", "SCMP_ACT_NOPE"},
      {R"({"defaultAction": "SCMP_ACT_NOTIFY"})", "not supported"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})", "VAX"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW"]})", "flag"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]})",
       "syscalls[0].names"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]})",
       "syscalls[0].action"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action":
          "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
       "index"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action":
          "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]})",
       "SCMP_CMP_ABOUT"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})", "defaultErrnoRet"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"})", "agent"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.json) {
      auto s = Parse(c.json);
      BOOST_TEST_REQUIRE(!s.ok());
      BOOST_TEST(s.error().message().find(c.words) != std::string::npos, s.error().message());
      BOOST_TEST(s.error().message().find("linux.seccomp") == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_loaded_filter_answers_as_written) {
  // getppid: errno 42 when its (ignored) first argument is 7, else allowed;
  // an unknown syscall name is skipped; mkdir: the default (EPERM is not
  // used: ENOSYS), and the rule equal to the default action is skipped.
  auto s = Parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
       "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]},
      {"names": ["no_such_syscall_strata"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
       "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}
    ]})");
  BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message()));
  int status = InChild([&] {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
    if (!LoadSeccomp(*s).ok()) return 11;
    if (::syscall(SYS_getppid, 7) != -1 || errno != 42) return 12;
    if (::syscall(SYS_getppid, 8) < 0) return 13;
    if (::syscall(SYS_getpid) < 0) return 14;
    // Two conditions on one argument: either refuses.
    if (::syscall(SYS_sethostname, "x", 1) != -1 || errno != 95) return 15;
    if (::syscall(SYS_sethostname, "xy", 2) != -1 || errno != 95) return 16;
    return 0;
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(no_new_privs_is_left_to_the_caller) {
  // libseccomp would set no_new_privs itself; the runtime turns that off,
  // so without it (and without CAP_SYS_ADMIN) loading fails instead.
  auto s = Parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
                     "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})");
  BOOST_TEST_REQUIRE(s.ok());
  int status = InChild([&] {
    bool loaded = LoadSeccomp(*s).ok();
    int nnp = ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (loaded && nnp != 0) return 20;  // libseccomp set it
    return 0;
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(native_architecture_is_known) {
  BOOST_TEST(SeccompKnowsArchitecture(SeccompNativeArchitecture()));
  BOOST_TEST(!SeccompKnowsArchitecture("x86_64"));  // the OCI names only
}

// The cache (seccomp_cache.h): the first create compiles and stores, the
// next reads the same program back and it filters alike; another profile
// has another key; a damaged file is compiled again.
BOOST_AUTO_TEST_CASE(cached_programs_are_the_compiled_ones) {
  auto s = Parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]})");
  BOOST_TEST_REQUIRE(s.ok());
  char tmpl[] = "/tmp/seccomp-cache-test-XXXXXX";
  BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string root = tmpl;

  auto compiled = CompileSeccomp(*s);
  BOOST_TEST_REQUIRE(compiled.ok());
  auto first = CachedSeccompProgram(*s, root);
  BOOST_TEST_REQUIRE(first.ok());
  auto files = strata::ListDir(root + "/@seccomp");
  BOOST_TEST_REQUIRE(files.ok());
  BOOST_TEST_REQUIRE(files->size() == 1u);
  std::string path = root + "/@seccomp/" + files->front();

  auto same = [](const SeccompProgram& a, const SeccompProgram& b) {
    return a.flags == b.flags && a.code.size() == b.code.size() &&
           std::memcmp(a.code.data(), b.code.data(), a.code.size() * sizeof a.code[0]) == 0;
  };
  BOOST_TEST(same(*first, *compiled));
  BOOST_TEST(compiled->flags == unsigned{SECCOMP_FILTER_FLAG_LOG});
  auto again = CachedSeccompProgram(*s, root);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(same(*again, *compiled));
  int status = InChild([&] {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
    if (!InstallSeccomp(*again).ok()) return 11;
    if (::syscall(SYS_getppid) != -1 || errno != 42) return 12;
    return 0;
  });
  BOOST_TEST(status == 0);

  auto other = Parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 43}]})");
  BOOST_TEST_REQUIRE(other.ok());
  BOOST_TEST(SeccompCacheKey(*other) != SeccompCacheKey(*s));

  // Cut short: not a whole program any more.
  auto text = strata::ReadFile(path);
  BOOST_TEST_REQUIRE(text.ok());
  BOOST_TEST_REQUIRE(strata::ReplaceFile(path, text->substr(0, text->size() - 3), 0600).ok());
  auto recompiled = CachedSeccompProgram(*s, root);
  BOOST_TEST_REQUIRE(recompiled.ok());
  BOOST_TEST(same(*recompiled, *compiled));
  BOOST_TEST(strata::RemoveTree(root).ok());
}
