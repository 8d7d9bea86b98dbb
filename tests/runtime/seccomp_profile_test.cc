// Docker-format profiles translated to linux.seccomp, and strata's default
// profile: what it allows a default container and what capabilities add.
#define BOOST_TEST_MODULE runtime_seccomp_profile
#include <algorithm>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "runtime/bundle.h"
#include "runtime/oci/seccomp.h"
#include "runtime/seccomp_profile.h"

using namespace strata::runtime;
namespace json = boost::json;

namespace {

// Every name the translated profile allows without conditions.
std::vector<std::string> Unconditional(const json::object& oci) {
  std::vector<std::string> out;
  for (const json::value& r : oci.at("syscalls").as_array()) {
    const json::object& rule = r.as_object();
    if (rule.at("action") != "SCMP_ACT_ALLOW" || rule.contains("args")) continue;
    for (const json::value& n : rule.at("names").as_array()) out.emplace_back(n.as_string());
  }
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_profile_for_a_default_container) {
  auto oci = TranslateSeccompProfile(DefaultSeccompProfile(), DefaultCapabilities());
  BOOST_TEST_REQUIRE(oci.ok(), (oci.ok() ? "" : oci.error().message()));
  BOOST_TEST(oci->at("defaultAction") == "SCMP_ACT_ERRNO");
  BOOST_TEST(oci->at("defaultErrnoRet") == EPERM);
  auto allowed = Unconditional(*oci);
  for (const char* name : {"read", "openat", "execve", "clone3" /* ENOSYS rule, not allow */}) {
    if (std::string(name) == "clone3") {
      BOOST_TEST(!Has(allowed, name));
    } else {
      BOOST_TEST(Has(allowed, name), name);
    }
  }
  // CAP_SYS_CHROOT is a default capability: chroot is allowed.
  BOOST_TEST(Has(allowed, "chroot"));
  for (const char* name :
       {"keyctl", "add_key",         "request_key",  "kexec_load",    "open_by_handle_at",
        "bpf",    "perf_event_open", "mount",        "umount2",       "unshare",
        "setns",  "init_module",     "finit_module", "delete_module", "reboot",
        "swapon", "userfaultfd",     "clone",        "socket",        "personality"}) {
    BOOST_TEST(!Has(allowed, name), name);
  }
  // ptrace within the container, from Linux 4.8 (every kernel strata runs on).
  BOOST_TEST(Has(allowed, "ptrace"));
  auto arches = oci->at("architectures").as_array();
  BOOST_TEST(!arches.empty());
  BOOST_TEST(arches.at(0).as_string() == strata::runtime::oci::SeccompNativeArchitecture());
  // The runtime accepts it.
  BOOST_TEST(strata::runtime::oci::ParseSeccomp(*oci).ok());
}

BOOST_AUTO_TEST_CASE(capabilities_open_their_groups) {
  std::vector<std::string> caps = DefaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  caps.push_back("CAP_SYS_PTRACE");
  auto oci = TranslateSeccompProfile(DefaultSeccompProfile(), caps);
  BOOST_TEST_REQUIRE(oci.ok());
  auto allowed = Unconditional(*oci);
  for (const char* name :
       {"mount", "umount2", "unshare", "setns", "clone", "bpf", "ptrace", "process_vm_readv"}) {
    BOOST_TEST(Has(allowed, name), name);
  }
  BOOST_TEST(!Has(allowed, "init_module"));
  BOOST_TEST(!Has(allowed, "keyctl"));
}

BOOST_AUTO_TEST_CASE(docker_format_translation) {
  auto oci = TranslateSeccompProfile(R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
      {"name": "read", "action": "SCMP_ACT_ALLOW", "comment": "old single name"},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]},
       "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["nothing"]}},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
      {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "3.0"}}
    ]})",
                                     {"CAP_CHOWN"});
  BOOST_TEST_REQUIRE(oci.ok(), (oci.ok() ? "" : oci.error().message()));
  std::vector<std::string> names;
  for (const json::value& r : oci->at("syscalls").as_array()) {
    names.emplace_back(r.at("names").at(0).as_string());
  }
  BOOST_TEST((names == std::vector<std::string>{"read", "clone", "getpid"}));
  BOOST_TEST(oci->at("syscalls").at(1).at("args").at(0).at("op") == "SCMP_CMP_MASKED_EQ");
#if defined(__x86_64__)
  BOOST_TEST((oci->at("architectures") == json::array{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
#endif
}

BOOST_AUTO_TEST_CASE(bad_profiles_fail_in_one_line) {
  const char* bad[] = {
      "not json",
      "[]",
      R"({"syscalls": []})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": []})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"],
          "action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], "action": "X"}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"],
          "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}}]})",
  };
  for (const char* text : bad) {
    BOOST_TEST_CONTEXT(text) {
      auto oci = TranslateSeccompProfile(text, DefaultCapabilities());
      BOOST_TEST_REQUIRE(!oci.ok());
      BOOST_TEST(oci.error().message().rfind("seccomp profile: ", 0) == 0u, oci.error().message());
      BOOST_TEST(oci.error().message().find('\n') == std::string::npos);
    }
  }
}
