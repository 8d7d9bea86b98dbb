#include "runtime/oci_runtime_cli.h"

#include <sys/stat.h>

#include "common/fs.h"

namespace strata::runtime {

OciRuntimeCli::OciRuntimeCli(ChildReaper& reaper, std::string binary, std::string state_root)
    : reaper_(reaper), binary_(std::move(binary)), state_root_(std::move(state_root)) {
  (void)MakeDirs(state_root_, 0700);
}

std::string OciRuntimeCli::ErrorLine(const std::string& output) {
  std::string line;
  size_t end = output.size();
  while (end > 0) {
    size_t start = output.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string candidate = output.substr(start, end - start);
    if (candidate.find_first_not_of(" \t\r") != std::string::npos) {
      line = candidate;
      break;
    }
    if (start == 0) break;
    end = start - 1;
  }
  // logrus text format: time="..." level=error msg="runc run failed: ..."
  size_t msg = line.find("msg=\"");
  if (msg != std::string::npos) {
    std::string out;
    for (size_t i = msg + 5; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        out.push_back(line[++i]);
      } else if (line[i] == '"') {
        break;
      } else {
        out.push_back(line[i]);
      }
    }
    line = out;
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

Status OciRuntimeCli::Simple(const std::string& verb, const std::string& id,
                             std::vector<std::string> args) {
  std::vector<std::string> argv{binary_, "--root", state_root_, verb};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(id);
  auto context = binary_ + " " + verb + " " + id.substr(0, 12);
  ASSIGN_OR_RETURN(ChildReaper::Output out, reaper_.Run(argv));
  if (out.exit_code != 0) {
    std::string line = ErrorLine(out.err.empty() ? out.out : out.err);
    if (line.empty()) line = "exit status " + std::to_string(out.exit_code);
    return Error(EIO, context + ": " + line);
  }
  return Ok();
}

Result<pid_t> OciRuntimeCli::RunDetached(const std::string& id, const std::string& bundle,
                                         const std::string& console_socket, const Stdio& stdio) {
  std::string pid_file = JoinPath(bundle, "init.pid");
  (void)::unlink(pid_file.c_str());
  std::vector<std::string> argv{binary_,    "--root", state_root_,  "run",     "--detach",
                                "--bundle", bundle,   "--pid-file", pid_file};
  if (!console_socket.empty()) {
    argv.push_back("--console-socket");
    argv.push_back(console_socket);
  }
  argv.push_back(id);
  auto since = ChildReaper::Clock::now();
  ASSIGN_OR_RETURN(pid_t pid, reaper_.Spawn({argv, stdio.in, stdio.out, stdio.err}));
  int code = ChildReaper::ExitCode(reaper_.Wait(pid, std::nullopt, since).value_or(0));
  if (code != 0) {
    return Error(EIO,
                 binary_ + " run " + id.substr(0, 12) + ": exit status " + std::to_string(code));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(pid_file));
  long init = std::strtol(text.c_str(), nullptr, 10);
  if (init <= 0) return Error::Corrupt(pid_file + ": no pid in \"" + text + "\"");
  return static_cast<pid_t>(init);
}

Status OciRuntimeCli::Kill(const std::string& id, int signal, bool all) {
  // kill [--all] ID SIGNAL: the signal goes after the id.
  std::vector<std::string> argv{binary_, "--root", state_root_, "kill"};
  if (all) argv.push_back("--all");
  argv.push_back(id);
  argv.push_back(std::to_string(signal));
  ASSIGN_OR_RETURN(ChildReaper::Output out, reaper_.Run(argv));
  if (out.exit_code != 0) {
    std::string line = ErrorLine(out.err.empty() ? out.out : out.err);
    return Error(EIO, binary_ + " kill " + id.substr(0, 12) + ": " +
                          (line.empty() ? "exit status " + std::to_string(out.exit_code) : line));
  }
  return Ok();
}

Status OciRuntimeCli::Delete(const std::string& id, bool force) {
  return Simple("delete", id,
                force ? std::vector<std::string>{"--force"} : std::vector<std::string>{});
}

Status OciRuntimeCli::Pause(const std::string& id) { return Simple("pause", id, {}); }
Status OciRuntimeCli::Resume(const std::string& id) { return Simple("resume", id, {}); }

bool OciRuntimeCli::Exists(const std::string& id) const {
  struct stat st;
  return ::stat(JoinPath(state_root_, id).c_str(), &st) == 0;
}

Result<pid_t> OciRuntimeCli::SpawnExec(const std::string& id, const ExecProcess& process,
                                       const Stdio& stdio) {
  std::vector<std::string> argv{binary_, "--root", state_root_, "exec"};
  // --env first and --cwd right after it: a runtime whose repeatable
  // options take every following word (strata-runtime's CLI11 does) stops
  // at the next option instead of swallowing the container id.
  for (const auto& e : process.env) {
    argv.push_back("--env");
    argv.push_back(e);
  }
  argv.push_back("--cwd");
  argv.push_back(process.cwd.empty() ? "/" : process.cwd);
  if (process.tty) argv.push_back("--tty");
  if (!process.console_socket.empty()) {
    argv.push_back("--console-socket");
    argv.push_back(process.console_socket);
  }
  if (process.detach) argv.push_back("--detach");
  if (!process.pid_file.empty()) {
    argv.push_back("--pid-file");
    argv.push_back(process.pid_file);
  }
  if (!process.user.empty()) {
    argv.push_back("--user");
    argv.push_back(process.user);
  }
  argv.push_back(id);
  argv.insert(argv.end(), process.args.begin(), process.args.end());
  return reaper_.Spawn({argv, stdio.in, stdio.out, stdio.err});
}

}  // namespace strata::runtime
