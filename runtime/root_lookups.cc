#include "runtime/root_lookups.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/container_path.h"

namespace strata::runtime {

namespace json = boost::json;

namespace {

json::object ErrorJson(const Error& e) { return {{"errno", e.code()}, {"message", e.message()}}; }

Error ErrorFrom(const json::object& o) {
  return Error(static_cast<int>(o.at("errno").to_number<int64_t>()),
               std::string(o.at("message").as_string()));
}

// The child's answer: {"user": {uid, gid, gids} | {errno, message},
// "destinations": [{path} | {errno, message}]}.
std::string Look(const std::string& root, const std::string& user,
                 const std::vector<std::string>& destinations) {
  json::object out;
  if (auto u = ResolveUser(root, user); u.ok()) {
    json::array gids;
    for (uint32_t g : u->additional_gids) gids.emplace_back(g);
    out["user"] = json::object{{"uid", u->uid}, {"gid", u->gid}, {"gids", std::move(gids)}};
  } else {
    out["user"] = ErrorJson(u.error());
  }
  json::array dests;
  for (const auto& d : destinations) {
    auto resolved = ResolveInContainer(root, d);
    dests.emplace_back(resolved.ok() ? json::object{{"path", *resolved}}
                                     : ErrorJson(resolved.error()));
  }
  out["destinations"] = std::move(dests);
  return json::serialize(out);
}

// Everything fd gives until EOF, or ETIMEDOUT at deadline.
Result<std::string> ReadUntil(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string text;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(ETIMEDOUT, "no answer");
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("poll");
    }
    if (ready == 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read");
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<RootLookups> LookUpInRoot(ChildReaper& reaper, const std::string& root,
                                 const std::string& user,
                                 const std::vector<std::string>& destinations) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  const auto since = ChildReaper::Clock::now();
  ASSIGN_OR_RETURN(pid_t pid, reaper.Fork(
                                  [&] {
                                    // Descriptor 3 is write_end (Fork's pass_fd).
                                    (void)WriteAll(3, Look(root, user, destinations));
                                  },
                                  write_end.get()));
  write_end.reset();
  auto answer = ReadUntil(read_end.get(), since + kRootLookupTimeout);
  if (!answer.ok()) ::kill(pid, SIGKILL);
  auto status = reaper.Wait(pid, kRootLookupTimeout, since);
  if (!answer.ok()) {
    return std::move(answer).error().Context("look up in the container's root (" + root + ")");
  }
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0 || answer->empty()) {
    return Error(EIO, "looking up in the container's root (" + root + ") failed: the child " +
                          (status ? "exited with " + std::to_string(ChildReaper::ExitCode(*status))
                                  : std::string("did not exit")));
  }

  RootLookups out;
  try {
    const json::object doc = json::parse(*answer).as_object();
    const json::object& u = doc.at("user").as_object();
    if (u.contains("errno")) return ErrorFrom(u);
    out.user.uid = static_cast<uint32_t>(u.at("uid").to_number<uint64_t>());
    out.user.gid = static_cast<uint32_t>(u.at("gid").to_number<uint64_t>());
    for (const auto& g : u.at("gids").as_array()) {
      out.user.additional_gids.push_back(static_cast<uint32_t>(g.to_number<uint64_t>()));
    }
    const json::array& dests = doc.at("destinations").as_array();
    for (size_t i = 0; i < dests.size() && i < destinations.size(); ++i) {
      const json::object& d = dests[i].as_object();
      if (d.contains("errno")) return ErrorFrom(d).Context("volume " + destinations[i]);
      out.destinations.emplace_back(d.at("path").as_string());
    }
  } catch (const std::exception& e) {
    // Only our own child writes the pipe: a malformed answer is a bug here.
    return Error(EPROTO, std::string("the root lookup's answer is malformed: ") + e.what());
  }
  if (out.destinations.size() != destinations.size()) {
    return Error(EPROTO, "the root lookup answered for " +
                             std::to_string(out.destinations.size()) + " of " +
                             std::to_string(destinations.size()) + " destinations");
  }
  return out;
}

}  // namespace strata::runtime
