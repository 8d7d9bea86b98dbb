#include "registry/credential_helper.h"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "registry/credentials_file.h"

extern char** environ;

namespace strata::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view kNotFound = "credentials not found in native keychain";
constexpr size_t kMaxAnswer = 1 << 20;

Result<UniqueFd> MemFile(const char* name, const std::string& content) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return Error::FromErrno("memfd_create");
  RETURN_IF_ERROR(WriteAll(fd.get(), content));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return Error::FromErrno("lseek");
  return fd;
}

Result<std::string> ReadBack(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return Error::FromErrno("lseek");
  std::string out;
  char buf[4096];
  while (out.size() < kMaxAnswer) {
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error::FromErrno("read");
    if (got == 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// The first line of a helper's message, trimmed and bounded.
std::string FirstLine(const std::string& text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return std::string();
  std::string line = text.substr(start, text.find_first_of("\r\n", start) - start);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

std::string StringField(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

bool ValidHelperName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<CredentialHelper::Answer> CredentialHelper::Run(const std::string& registry,
                                                       const char* action,
                                                       const std::string& input) const {
  const std::string what = "credential helper " + program_ + " for " + registry;
  // stdin, stdout and stderr are memory files: nothing can block on a full
  // pipe, and the secret on stdin never touches a disk.
  auto in = MemFile("credential-input", input);
  auto out = MemFile("credential-output", "");
  auto err = MemFile("credential-error", "");
  for (auto* r : {&in, &out, &err}) {
    if (!r->ok()) return Error(r->error()).Context(what);
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in->get(), STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, out->get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, err->get(), STDERR_FILENO);
  std::string action_arg = action;
  char* argv[] = {const_cast<char*>(program_.c_str()), action_arg.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program_.c_str(), &actions, nullptr, argv, environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT) return Error(ENOENT, what + ": not found in PATH");
  if (rc != 0) return Error::FromErrno(what + ": cannot run it", rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::FromErrno(what + ": waitpid");
  }
  Answer answer;
  answer.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto text = ReadBack(out->get());
  if (!text.ok()) return std::move(text).error().Context(what);
  answer.out = std::move(*text);
  if (answer.status != 0 && FirstLine(answer.out).empty()) {
    // Helpers report failures on stdout; some only manage stderr.
    auto error_text = ReadBack(err->get());
    if (error_text.ok()) answer.out = std::move(*error_text);
  }
  return answer;
}

Error CredentialHelper::Failed(const std::string& registry, const Answer& answer) const {
  std::string line =
      "credential helper " + program_ + " for " + registry + ": " +
      (answer.status > 128 ? "killed by signal " + std::to_string(answer.status - 128)
                           : "exited with status " + std::to_string(answer.status));
  if (std::string message = FirstLine(answer.out); !message.empty()) line += ": " + message;
  return Error(EIO, line);
}

Result<std::optional<Credentials>> CredentialHelper::Get(const std::string& registry) const {
  ASSIGN_OR_RETURN(Answer answer, Run(registry, "get", CredentialsKey(registry)));
  if (answer.status != 0) {
    if (FirstLine(answer.out) == kNotFound) return std::optional<Credentials>();
    return Failed(registry, answer);
  }
  boost::system::error_code ec;
  json::value v = json::parse(answer.out, ec);
  if (ec || !v.is_object()) {
    // Not quoted: it may hold the secret.
    return Error(EPROTO, "credential helper " + program_ + " for " + registry +
                             ": its answer to get is not a JSON object");
  }
  Credentials c{StringField(v.as_object(), "Username"), StringField(v.as_object(), "Secret")};
  if (c.username == "<token>") {
    // An identity token (an OAuth2 refresh token) is not a password.
    return Error(ENOTSUP, "credential helper " + program_ + " for " + registry +
                              ": holds an identity token, which strata cannot use");
  }
  if (c.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

Status CredentialHelper::Store(const std::string& registry, const Credentials& credentials) const {
  json::object entry{{"ServerURL", CredentialsKey(registry)},
                     {"Username", credentials.username},
                     {"Secret", credentials.password}};
  ASSIGN_OR_RETURN(Answer answer, Run(registry, "store", json::serialize(entry)));
  if (answer.status != 0) return Failed(registry, answer);
  return Ok();
}

Result<bool> CredentialHelper::Erase(const std::string& registry) const {
  ASSIGN_OR_RETURN(Answer answer, Run(registry, "erase", CredentialsKey(registry)));
  if (answer.status == 0) return true;
  if (FirstLine(answer.out) == kNotFound) return false;
  return Failed(registry, answer);
}

}  // namespace strata::registry
