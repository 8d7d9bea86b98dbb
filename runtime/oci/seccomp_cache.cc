#include "runtime/oci/seccomp_cache.h"

#include <linux/seccomp.h>
#include <seccomp.h>

#include <cstdio>
#include <functional>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

constexpr std::string_view kMagic = "strata-seccomp 1\n";

void Put(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void Put(std::string& out, uint64_t n) {
  out += std::to_string(n);
  out += ';';
}

void Put(std::string& out, const SeccompAction& a) {
  Put(out, static_cast<uint64_t>(a.kind));
  Put(out, a.ret);
}

}  // namespace

std::string SeccompCacheKey(const Seccomp& s) {
  std::string key;
  const scmp_version* v = seccomp_version();
  Put(key, v->major);
  Put(key, v->minor);
  Put(key, v->micro);
  Put(key, seccomp_api_get());
  Put(key, s.default_action);
  Put(key, s.architectures.size());
  for (const std::string& arch : s.architectures) Put(key, arch);
  Put(key, s.log);
  Put(key, s.spec_allow);
  Put(key, s.syscalls.size());
  for (const SeccompRule& r : s.syscalls) {
    Put(key, r.names.size());
    for (const std::string& name : r.names) Put(key, name);
    Put(key, r.action);
    Put(key, r.args.size());
    for (const SeccompArg& a : r.args) {
      Put(key, a.index);
      Put(key, a.value);
      Put(key, a.value_two);
      Put(key, static_cast<uint64_t>(a.op));
    }
  }
  return key;
}

Result<SeccompProgram> CachedSeccompProgram(const Seccomp& seccomp, const std::string& root) {
  std::string key = SeccompCacheKey(seccomp);
  char name[32];
  std::snprintf(name, sizeof name, "%016zx", std::hash<std::string>{}(key));
  // '@' is not allowed in container ids: no container's state directory
  // can be this one.
  std::string dir = JoinPath(root, "@seccomp");
  std::string path = JoinPath(dir, name);

  // <magic><key size>\n<key><program>
  std::string header = std::string(kMagic) + std::to_string(key.size()) + "\n";
  if (auto text = ReadFile(path); text.ok() && text->starts_with(header) &&
                                  std::string_view(*text).substr(header.size()).starts_with(key)) {
    SeccompProgram program;
    if (program.SetCode(std::string_view(*text).substr(header.size() + key.size())).ok()) {
      if (seccomp.log) program.flags |= SECCOMP_FILTER_FLAG_LOG;
      if (seccomp.spec_allow) program.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      return program;
    }
  }
  ASSIGN_OR_RETURN(SeccompProgram program, CompileSeccomp(seccomp));
  std::string text = header + key;
  text.append(reinterpret_cast<const char*>(program.code.data()),
              program.code.size() * sizeof(struct sock_filter));
  if (MakeDirs(dir, 0700).ok()) (void)WriteFileAtomic(path, text, 0600);
  return program;
}

}  // namespace strata::runtime::oci
