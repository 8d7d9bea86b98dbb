// strata-runtime: the low-level OCI runtime, with runc's command line.
// Parses arguments and calls runtime/oci/container.h; errors are one line
// on stderr (and in --log), with a non-zero exit status. A foreground `run`
// or `exec` exits with the container process's exit code.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/oci/container.h"
#include "runtime/oci/runtime_log.h"
#include "runtime/oci/signal_names.h"

namespace oci = strata::runtime::oci;
using strata::Error;
using strata::LogLevel;
using strata::Result;
using strata::Status;

namespace {

int Fail(std::string_view what, const Error& err) {
  std::string line = std::string(what) + ": " + err.message();
  if (oci::RuntimeLogIsOpen()) oci::RuntimeLog(LogLevel::kError, line);
  std::cerr << "strata-runtime: " << line << std::endl;
  return 1;
}

int Report(std::string_view what, const Status& st) { return st.ok() ? 0 : Fail(what, st.error()); }

int Report(std::string_view what, const Result<int>& code) {
  return code.ok() ? *code : Fail(what, code.error());
}

void AddCreateFlags(CLI::App* cmd, oci::CreateOptions& o) {
  cmd->add_option("-b,--bundle", o.bundle, "the bundle directory (default: the current one)");
  cmd->add_option("--pid-file", o.pid_file, "write the container's init pid to this file");
  cmd->add_option("--console-socket", o.console_socket,
                  "unix socket that receives the terminal's master (process.terminal)");
  cmd->add_option("--preserve-fds", o.preserve_fds, "pass fds 3 .. 3+N-1 to the container");
  static bool ignored = false;
  cmd->add_flag("--no-pivot,--no-new-keyring", ignored, "accepted for runc compatibility; ignored");
  cmd->add_option("id", o.id, "container id")->required();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strata-runtime: run containers from OCI bundles (runc-compatible)"};
  app.require_subcommand(1);
  std::string root(oci::kDefaultStateRoot), log_path, log_format = "text";
  app.add_option("--root", root, "state directory")->capture_default_str();
  app.add_option("--log", log_path, "append errors and warnings to this file");
  app.add_option("--log-format", log_format, "text or json")->capture_default_str();
  bool ignored = false;
  app.add_flag("--debug,--systemd-cgroup,--rootless", ignored,
               "accepted for runc compatibility; ignored");

  oci::CreateOptions create;
  auto* create_cmd =
      app.add_subcommand("create", "create a container; its process waits for start");
  AddCreateFlags(create_cmd, create);

  oci::CreateOptions run;
  bool run_detach = false;
  auto* run_cmd = app.add_subcommand("run", "create and start a container, and wait for it");
  AddCreateFlags(run_cmd, run);
  run_cmd->add_flag("-d,--detach", run_detach, "return once started");

  std::string id;
  auto* start_cmd = app.add_subcommand("start", "start a created container's process");
  start_cmd->add_option("id", id, "container id")->required();

  auto* state_cmd = app.add_subcommand("state", "print a container's state as JSON");
  state_cmd->add_option("id", id, "container id")->required();

  std::string signal = "SIGTERM";
  bool kill_all = false;
  auto* kill_cmd =
      app.add_subcommand("kill", "send a signal to a container's init (default SIGTERM)");
  kill_cmd->add_option("id", id, "container id")->required();
  kill_cmd->add_option("signal", signal, "signal name or number");
  kill_cmd->add_flag("-a,--all", kill_all, "signal every process of the container");

  bool force = false;
  auto* delete_cmd = app.add_subcommand("delete", "delete a stopped container");
  delete_cmd->add_option("id", id, "container id")->required();
  delete_cmd->add_flag("-f,--force", force, "kill a running container first");

  auto* pause_cmd = app.add_subcommand("pause", "freeze every process of a container");
  pause_cmd->add_option("id", id, "container id")->required();
  auto* resume_cmd = app.add_subcommand("resume", "thaw a paused container");
  resume_cmd->add_option("id", id, "container id")->required();

  oci::ExecOptions exec;
  auto* exec_cmd = app.add_subcommand(
      "exec", "run a process in a running container: exec [options] ID COMMAND...");
  exec_cmd->add_option("-p,--process", exec.process_file, "a process.json to run");
  exec_cmd->add_flag("-t,--tty", exec.tty, "give the process a terminal");
  exec_cmd->add_option("-e,--env", exec.env, "an environment variable K=V (repeatable)")
      ->allow_extra_args(false);  // one value per occurrence: `-e A=1 ID` keeps ID
  exec_cmd->add_option("--cwd", exec.cwd, "working directory in the container");
  exec_cmd->add_option("-u,--user", exec.user, "UID[:GID]");
  exec_cmd->add_flag("-d,--detach", exec.detach, "return once the process started");
  exec_cmd->add_option("--pid-file", exec.pid_file, "write the process's pid to this file");
  exec_cmd->add_option("--console-socket", exec.console_socket,
                       "unix socket for the terminal's master");
  exec_cmd->add_option("--preserve-fds", exec.preserve_fds, "pass fds 3 .. 3+N-1 to the process");
  // Everything from the container id on is the id and the command, options
  // of the command included (sh -c ...).
  exec_cmd->prefix_command();

  CLI11_PARSE(app, argc, argv);

  auto format = oci::ParseLogFormat(log_format);
  if (!format.ok()) return Fail("--log-format", format.error());
  if (!log_path.empty()) {
    Status st = oci::OpenRuntimeLog(log_path, *format);
    if (!st.ok()) return Fail("--log", st.error());
  }

  if (create_cmd->parsed()) {
    create.root = root;
    auto c = oci::Container::Create(create);
    return Report("create " + create.id, c.ok() ? Status() : Status(c.error()));
  }
  if (run_cmd->parsed()) {
    run.root = root;
    return Report("run " + run.id, oci::RunContainer(run, run_detach));
  }
  if (delete_cmd->parsed()) return Report("delete " + id, oci::DeleteContainer(root, id, force));

  if (exec_cmd->parsed()) {
    std::vector<std::string> rest = exec_cmd->remaining();
    if (rest.empty()) return Fail("exec", Error::Invalid("a container id is required"));
    id = rest.front();
    rest.erase(rest.begin());
    if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
    exec.args = std::move(rest);
  }

  auto container = oci::Container::Load(root, id);
  std::string verb = app.get_subcommands().front()->get_name();
  if (!container.ok()) return Fail(verb + " " + id, container.error());
  oci::Container& c = **container;
  if (start_cmd->parsed()) return Report("start " + id, c.Start());
  if (state_cmd->parsed()) {
    std::cout << c.StateJson() << std::endl;
    return 0;
  }
  if (kill_cmd->parsed()) {
    auto sig = oci::ParseSignal(signal);
    if (!sig.ok()) return Fail("kill " + id, sig.error());
    return Report("kill " + id, c.Kill(*sig, kill_all));
  }
  if (pause_cmd->parsed()) return Report("pause " + id, c.Pause());
  if (resume_cmd->parsed()) return Report("resume " + id, c.Resume());
  if (exec_cmd->parsed()) return Report("exec " + id, c.Exec(exec));
  return 1;
}
