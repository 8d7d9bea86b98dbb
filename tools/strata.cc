// strata: the command line, a client of stratad over its Unix socket.
// This file only parses arguments; the commands are in
// runtime/image_commands.h and runtime/container_commands.h.
//
// Exit status: 0 on success, 1 when a command fails, 2 on a usage error;
// `run` and `exec` exit with the container process's exit code (125 when
// the container could not be made, 126/127 when its command could not be
// run). Every failure is one line on stderr: "strata: <what failed>: <why>".
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/api_client.h"
#include "runtime/container_commands.h"
#include "runtime/cron_commands.h"
#include "runtime/image_commands.h"
#include "runtime/registry_commands.h"
#include "runtime/maintenance_commands.h"

namespace strata::tools {
namespace {

using runtime::CommandContext;
using runtime::OutputFormat;
using Command = std::function<Status(CommandContext&)>;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

OutputFormat ParseFormat(const std::string& name) {
  return name == "json" ? OutputFormat::kJson : OutputFormat::kTable;
}

CLI::Option* AddFormat(CLI::App* cmd, std::string& format) {
  return cmd->add_option("--format", format, "output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
}

// "image import" for the deepest subcommand the parser reached.
std::string CommandPath(const CLI::App& app) {
  std::string path;
  const CLI::App* cur = &app;
  while (!cur->get_subcommands().empty()) {
    cur = cur->get_subcommands().front();
    path += (path.empty() ? "" : " ") + cur->get_name();
  }
  return path;
}

struct Args {
  std::string socket = EnvOr("STRATA_SOCKET", "/run/strata/strata.sock");
  std::string root = EnvOr("STRATA_ROOT", "/var/lib/strata");
  std::string format = "table";
  bool quiet = false;
  bool force = false;
  bool verbose = false;
  bool dry_run = false;
  bool repair = false;
  bool root_given = false;  // --root on the command line (offline gc, fsck)
  unsigned threads = 0;
  int* exit_code = nullptr;
  bool writable = false;
  std::string path, output, ref, name, tag, platform, archive_format = "oci-archive";
  std::vector<std::string> refs, tags;
};

void AddImageCommands(CLI::App& app, Args& a, Command& run) {
  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);

  CLI::App* import_cmd = image->add_subcommand(
      "import", "Import an image from an OCI layout directory, an OCI archive or a docker-archive");
  import_cmd->add_option("PATH", a.path, "the directory or archive")->required();
  import_cmd->add_option("-t,--tag", a.tags, "tag the image NAME[:TAG] (repeatable)")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  import_cmd->add_option("--platform", a.platform, "os/arch[/variant] to pick from an image index");
  import_cmd->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageImport(ctx, {a.path, a.tags, a.platform});
    };
  });

  CLI::App* rootfs = image->add_subcommand(
      "import-rootfs", "Make a one-layer image from a root filesystem directory or tarball");
  rootfs->add_option("PATH", a.path, "a directory, or a tar / tar.gz / tar.zst")->required();
  rootfs->add_option("-t,--tag", a.tag, "NAME[:TAG] of the new image")->required();
  rootfs->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageImportRootfs(ctx, a.path, a.tag); };
  });

  CLI::App* ls = image->add_subcommand("ls", "List images")->alias("list");
  AddFormat(ls, a.format);
  ls->add_flag("-q,--quiet", a.quiet, "only show image IDs");
  ls->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageList(ctx, ParseFormat(a.format), a.quiet);
    };
  });

  CLI::App* inspect =
      image->add_subcommand("inspect", "Show images' details and configs (always JSON)");
  inspect->add_option("IMG", a.refs, "image names or IDs")->required();
  inspect->add_option("--format", a.format, "json (the only format)")
      ->check(CLI::IsMember({"json"}));
  inspect->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::ImageInspect(ctx, a.refs); }; });

  CLI::App* history = image->add_subcommand("history", "Show how an image's layers were made");
  history->add_option("IMG", a.ref, "image name or ID")->required();
  AddFormat(history, a.format);
  history->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageHistory(ctx, a.ref, ParseFormat(a.format));
    };
  });

  CLI::App* tag = image->add_subcommand("tag", "Give an image another name");
  tag->add_option("IMG", a.ref, "image name or ID")->required();
  tag->add_option("NAME", a.name, "the new NAME[:TAG]")->required();
  tag->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::ImageTag(ctx, a.ref, a.name); }; });

  CLI::App* rm = image->add_subcommand(
      "rm", "Remove image tags; by ID, remove the image (content stays until gc)");
  rm->alias("remove");
  rm->add_option("IMG", a.refs, "image names or IDs")->required();
  rm->add_flag("-f,--force", a.force, "also when containers were created from it");
  rm->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageRemove(ctx, a.refs, a.force); };
  });

  CLI::App* prune = image->add_subcommand(
      "prune", "Remove untagged images no container uses (gc then reclaims their space)");
  prune->add_flag("--dry-run", a.dry_run, "only say which images would go");
  AddFormat(prune, a.format);
  prune->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImagePrune(ctx, a.dry_run, ParseFormat(a.format));
    };
  });

  CLI::App* squash = image->add_subcommand(
      "squash", "Make a one-layer image of an image's merged tree (no content is copied)");
  squash->add_option("IMG", a.ref, "image name or ID")->required();
  squash->add_option("-t,--tag", a.tag, "NAME[:TAG] of the new image")->required();
  AddFormat(squash, a.format);
  squash->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageSquash(ctx, a.ref, a.tag, ParseFormat(a.format));
    };
  });

  CLI::App* exp = image->add_subcommand("export", "Write an image to a directory or archive");
  exp->add_option("IMG", a.ref, "image name or ID")->required();
  CLI::Option* path = exp->add_option("PATH", a.path, "destination (or use -o)");
  CLI::Option* output = exp->add_option("-o,--output", a.output, "destination");
  path->excludes(output);
  exp->add_option("--format", a.archive_format,
                  "oci (layout directory), oci-archive (tar) or docker (docker-archive tar)")
      ->check(CLI::IsMember({"oci", "oci-archive", "docker"}))
      ->capture_default_str();
  exp->callback([&] {
    if (a.path.empty() && a.output.empty()) throw CLI::RequiredError("PATH or -o");
    run = [&](CommandContext& ctx) {
      return runtime::ImageExport(ctx, a.ref, a.path.empty() ? a.output : a.path, a.archive_format);
    };
  });
}

struct RegistryArgs {
  runtime::PullArgs pull;
  runtime::PushArgs push;
  runtime::LoginArgs login;
};

void AddRegistryCommands(CLI::App& app, RegistryArgs& r, Command& run) {
  CLI::App* pull = app.add_subcommand("pull", "Pull an image from a registry: pull REF");
  pull->add_option("REF", r.pull.ref, "NAME[:TAG|@DIGEST] (Docker Hub unless a host is given)")
      ->required();
  pull->add_option("--platform", r.pull.platform, "os/arch[/variant] to pick from an image index");
  pull->callback([&] { run = [&](CommandContext& ctx) { return runtime::Pull(ctx, r.pull); }; });

  CLI::App* push = app.add_subcommand("push", "Push an image to a registry: push IMG [REF]");
  push->add_option("IMG", r.push.image, "image name or ID")->required();
  push->add_option("REF", r.push.target, "where to: NAME[:TAG] (default: the image's name)");
  push->add_option("--compression", r.push.compression, "layer compression: gzip or zstd")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  push->add_option("--chunk-size", r.push.chunk_size,
                   "upload blobs larger than this in PATCHes of this many bytes (0: one PUT)");
  push->callback([&] { run = [&](CommandContext& ctx) { return runtime::Push(ctx, r.push); }; });

  CLI::App* login = app.add_subcommand("login", "Log in to a registry: login [REGISTRY]");
  login->add_option("REGISTRY", r.login.registry, "host[:port] (default: Docker Hub)");
  login->add_option("-u,--username", r.login.username, "user name");
  login->add_option("-p,--password", r.login.password, "password (prefer --password-stdin)");
  login->add_flag("--password-stdin", r.login.password_stdin, "read the password from stdin");
  login->callback([&] { run = [&](CommandContext& ctx) { return runtime::Login(ctx, r.login); }; });

  CLI::App* logout = app.add_subcommand("logout", "Forget a registry's credentials");
  logout->add_option("REGISTRY", r.login.registry, "host[:port] (default: Docker Hub)");
  logout->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::Logout(ctx, r.login.registry); };
  });
}

void AddMountCommands(CLI::App& app, Args& a, Command& run) {
  CLI::App* mount = app.add_subcommand(
      "mount", "Show an image's tree at a directory (read-only, or with a scratch writable layer)");
  mount->add_option("IMG", a.ref, "image name or ID")->required();
  mount->add_option("DIR", a.path, "an existing directory")->required();
  mount->add_flag("--writable", a.writable,
                  "add a scratch writable layer, thrown away by 'strata umount'");
  mount->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageMount(ctx, a.ref, a.path, a.writable); };
  });

  CLI::App* umount = app.add_subcommand("umount", "Unmount what 'strata mount' put at DIR");
  umount->alias("unmount");
  umount->add_option("DIR", a.path, "the mount point")->required();
  umount->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageUnmount(ctx, a.path); };
  });
}

void AddStoreCommands(CLI::App& app, Args& a, Command& run) {
  CLI::App* du = app.add_subcommand("du", "Show the store's disk usage and what sharing saves");
  du->add_flag("-v,--verbose", a.verbose, "per image: total, shared and unique bytes");
  AddFormat(du, a.format);
  du->callback([&] {
    run = [&](CommandContext& ctx) {
      Status st = runtime::DiskUsage(ctx, a.verbose, ParseFormat(a.format));
      if (!st.ok() || !a.verbose || ParseFormat(a.format) != OutputFormat::kTable) return st;
      return runtime::PrintContainerUsage(ctx);
    };
  });

  CLI::App* gc = app.add_subcommand(
      "gc", "Collect garbage: remove what no tag, container or lease reaches");
  gc->add_flag("--dry-run", a.dry_run, "list what would go and the bytes, remove nothing");
  AddFormat(gc, a.format);
  gc->callback([&] {
    run = [&](CommandContext& ctx) {
      // --root on the command line: offline, on that root (stratad stopped).
      return runtime::GarbageCollect(
          ctx, {a.dry_run, a.root_given ? a.root : "", ParseFormat(a.format)});
    };
  });

  CLI::App* fsck = app.add_subcommand(
      "fsck", "Check the store (exit 0 clean, 3 repaired, 4 damaged)");
  fsck->add_flag("--repair", a.repair,
                 "quarantine corrupt objects, rebuild views, remove orphans (offline: "
                 "stratad stopped)");
  fsck->add_option("--threads", a.threads, "re-hash workers (default: one per CPU)");
  AddFormat(fsck, a.format);
  fsck->callback([&] {
    run = [&](CommandContext& ctx) {
      bool offline = a.root_given || a.repair;
      return runtime::Fsck(
          ctx, {a.repair, offline ? a.root : "", a.threads, ParseFormat(a.format)}, a.exit_code);
    };
  });

  CLI::App* version = app.add_subcommand("version", "Show the client's and stratad's versions");
  AddFormat(version, a.format);
  version->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::Version(ctx, ParseFormat(a.format)); };
  });
}

// "512m" -> 536870912; plain numbers are bytes (b, k, m, g suffixes).
int64_t ParseBytes(const std::string& text, const char* option = "--memory") {
  if (text.empty()) return 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit(end);
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!unit.empty() && unit.back() == 'b' && unit.size() == 2) unit.pop_back();
  double mult = unit.empty() || unit == "b" ? 1
                : unit == "k"               ? 1024.0
                : unit == "m"               ? 1024.0 * 1024
                : unit == "g"               ? 1024.0 * 1024 * 1024
                                            : -1;
  if (mult < 0 || v < 0 || end == text.c_str()) {
    throw CLI::ValidationError(option, "invalid size \"" + text + "\" (e.g. 64m, 1g)");
  }
  return static_cast<int64_t>(v * mult);
}

struct ContainerArgs {
  runtime::ContainerCreateArgs create;
  runtime::ContainerExecArgs exec;
  runtime::ContainerAttachArgs attach;
  std::string memory;
  std::vector<std::string> log_opts;
  std::string since;
  bool detach = false;
  bool all = false;
  bool force = false;
  bool follow = false;
  bool timestamps = false;
  long tail = -1;
  int timeout = -1;
  std::string signal = "KILL";
  std::string message, author;
  std::vector<std::string> refs, labels;
  std::string ref, tag;
  int exit_code = 0;
};

void AddCreateFlags(CLI::App* cmd, ContainerArgs& c) {
  auto& a = c.create;
  cmd->add_flag("--rm", a.auto_remove, "remove the container when it exits");
  cmd->add_flag("-i,--interactive", a.interactive, "keep stdin open");
  cmd->add_flag("-t,--tty", a.tty, "give the process a terminal");
  cmd->add_option("--name", a.name, "the container's name");
  cmd->add_option("-v,--volume", a.volumes, "SRC:DST[:ro], SRC a host path or a volume name")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  cmd->add_option("--tmpfs", a.tmpfs, "DST[:OPTIONS]: a tmpfs at DST")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  cmd->add_option("-e,--env", a.env, "K=V (or K: the value here)")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  cmd->add_option("-w,--workdir", a.workdir, "working directory in the container");
  cmd->add_option("-u,--user", a.user, "UID[:GID] or NAME[:GROUP]");
  cmd->add_option("--hostname", a.hostname, "the container's hostname");
  cmd->add_option("--restart", a.restart, "no, on-failure[:N], always, unless-stopped");
  cmd->add_option("-m,--memory", c.memory, "memory limit (bytes; k, m, g suffixes)");
  cmd->add_option("--pids-limit", a.pids_limit, "most processes at a time");
  cmd->add_option("--cpus", a.cpus, "CPUs (e.g. 0.5)");
  cmd->add_option("--log-opt", c.log_opts, "max-size=SIZE (k, m, g) or max-file=N: log rotation")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  cmd->add_option("--label", c.labels, "K=V metadata")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  cmd->add_option("--network", a.network, "none (default) or host")
      ->check(CLI::IsMember({"none", "host"}));
  cmd->add_flag("--privileged", a.privileged,
                "all capabilities and devices, no masked paths, no seccomp filter");
  cmd->add_option("--security-opt", a.security_opt,
                  "seccomp=unconfined, seccomp=FILE (Docker's JSON profile format)")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  // IMG and CMD... come as the remaining arguments: options after IMG
  // belong to the command (so they must not fall through to strata's).
  cmd->prefix_command();
  cmd->fallthrough(false);
}

// The first remaining argument is the image, the rest the command.
void TakeImageAndCommand(CLI::App* cmd, ContainerArgs& c) {
  std::vector<std::string> rest = cmd->remaining();
  if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
  if (rest.empty()) throw CLI::RequiredError("IMG");
  c.create.image = rest.front();
  c.create.cmd.assign(rest.begin() + 1, rest.end());
  c.create.labels = c.labels;
  c.create.memory = ParseBytes(c.memory);
  for (const auto& opt : c.log_opts) {
    size_t eq = opt.find('=');
    std::string key = opt.substr(0, eq), value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (key == "max-size") {
      c.create.log_max_size = ParseBytes(value, "--log-opt max-size");
    } else if (key == "max-file") {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1) {
        throw CLI::ValidationError("--log-opt", "max-file must be a number of at least 1");
      }
      c.create.log_max_files = n;
    } else {
      throw CLI::ValidationError("--log-opt", "unknown option \"" + key +
                                                  "\" (max-size=SIZE, max-file=N)");
    }
  }
}

void AddContainerCommands(CLI::App& app, Args& a, ContainerArgs& c, Command& run) {
  CLI::App* create = app.add_subcommand("create", "Create a container: create [OPTIONS] IMG [CMD...]");
  AddCreateFlags(create, c);
  create->callback([&, create] {
    TakeImageAndCommand(create, c);
    run = [&](CommandContext& ctx) { return runtime::ContainerCreate(ctx, c.create); };
  });

  CLI::App* run_cmd =
      app.add_subcommand("run", "Create and start a container: run [OPTIONS] IMG [CMD...]");
  AddCreateFlags(run_cmd, c);
  run_cmd->add_flag("-d,--detach", c.detach, "run in the background and print its ID");
  run_cmd->add_option("--detach-keys", c.create.detach_keys,
                      "keys that detach from the session, e.g. ctrl-p,ctrl-q");
  run_cmd->callback([&, run_cmd] {
    TakeImageAndCommand(run_cmd, c);
    run = [&](CommandContext& ctx) {
      return runtime::ContainerRun(ctx, c.create, c.detach, &c.exit_code);
    };
  });

  auto simple = [&](const char* name, const char* help,
                    std::function<Status(CommandContext&)> fn) -> CLI::App* {
    CLI::App* cmd = app.add_subcommand(name, help);
    cmd->add_option("CTR", c.refs, "container names or IDs")->required();
    cmd->callback([&run, fn] { run = fn; });
    return cmd;
  };
  simple("start", "Start containers",
         [&](CommandContext& ctx) { return runtime::ContainerStart(ctx, c.refs); });
  simple("stop", "Stop containers (the stop signal, SIGKILL after the timeout)",
         [&](CommandContext& ctx) { return runtime::ContainerStop(ctx, c.refs, c.timeout); })
      ->add_option("-t,--time", c.timeout, "seconds to wait before SIGKILL (default 10)");
  simple("restart", "Stop and start containers",
         [&](CommandContext& ctx) { return runtime::ContainerRestart(ctx, c.refs, c.timeout); })
      ->add_option("-t,--time", c.timeout, "seconds to wait before SIGKILL (default 10)");
  simple("pause", "Freeze every process of containers",
         [&](CommandContext& ctx) { return runtime::ContainerPause(ctx, c.refs); });
  simple("resume", "Thaw paused containers",
         [&](CommandContext& ctx) { return runtime::ContainerResume(ctx, c.refs); })
      ->alias("unpause");
  simple("kill", "Send a signal to containers (default KILL)",
         [&](CommandContext& ctx) { return runtime::ContainerKill(ctx, c.refs, c.signal); })
      ->add_option("-s,--signal", c.signal, "signal name or number");
  simple("rm", "Remove containers",
         [&](CommandContext& ctx) { return runtime::ContainerRemove(ctx, c.refs, c.force); })
      ->add_flag("-f,--force", c.force, "kill a running container first");
  simple("wait", "Wait for containers to exit and print their exit codes",
         [&](CommandContext& ctx) { return runtime::ContainerWait(ctx, c.refs); });
  simple("reset", "Stop a container and throw its writable layer away",
         [&](CommandContext& ctx) { return runtime::ContainerReset(ctx, c.refs); });

  CLI::App* ps = app.add_subcommand("ps", "List containers");
  ps->add_flag("-a,--all", c.all, "also stopped ones");
  ps->add_flag("-q,--quiet", a.quiet, "only show IDs");
  AddFormat(ps, a.format);
  ps->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ContainerList(ctx, c.all, ParseFormat(a.format), a.quiet);
    };
  });

  CLI::App* inspect = app.add_subcommand("inspect", "Show containers' details (always JSON)");
  inspect->add_option("CTR", c.refs, "container names or IDs")->required();
  inspect->add_option("--format", a.format, "json (the only format)")
      ->check(CLI::IsMember({"json"}));
  inspect->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::ContainerInspect(ctx, c.refs); }; });

  CLI::App* logs = app.add_subcommand("logs", "Show a container's output");
  logs->add_option("CTR", c.ref, "container name or ID")->required();
  logs->add_flag("-f,--follow", c.follow, "keep showing output as it comes");
  logs->add_option("--tail", c.tail, "only the last N lines");
  logs->add_flag("-t,--timestamps", c.timestamps, "show when each line was written");
  logs->add_option("--since", c.since,
                   "only lines from then on: a duration back (10m, 1h30m), unix seconds or "
                   "RFC 3339");
  logs->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ContainerLogs(ctx, c.ref, c.follow, c.tail, c.timestamps, c.since);
    };
  });

  CLI::App* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-i,--interactive", c.exec.interactive, "keep stdin open");
  exec->add_flag("-t,--tty", c.exec.tty, "give the process a terminal");
  exec->add_option("-e,--env", c.exec.env, "K=V")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  exec->add_option("-u,--user", c.exec.user, "UID[:GID] or NAME[:GROUP]");
  exec->add_option("-w,--workdir", c.exec.workdir, "working directory");
  exec->add_option("--detach-keys", c.exec.detach_keys, "keys that detach from the session");
  exec->prefix_command();
  exec->fallthrough(false);
  exec->callback([&, exec] {
    std::vector<std::string> rest = exec->remaining();
    if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
    if (rest.size() < 2) throw CLI::RequiredError("CTR and CMD");
    c.exec.ref = rest.front();
    c.exec.cmd.assign(rest.begin() + 1, rest.end());
    run = [&](CommandContext& ctx) { return runtime::ContainerExec(ctx, c.exec, &c.exit_code); };
  });

  CLI::App* attach = app.add_subcommand(
      "attach", "Attach to a running container's output (and stdin, if it has -i)");
  attach->add_option("CTR", c.attach.ref, "container name or ID")->required();
  attach->add_option("--detach-keys", c.attach.detach_keys,
                     "keys that detach and leave it running (default ctrl-p,ctrl-q)");
  attach->add_flag("--no-stdin", c.attach.no_stdin, "do not send stdin");
  attach->add_option("--sig-proxy", c.attach.sig_proxy,
                     "send the signals strata gets to the container (no terminal only)");
  attach->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ContainerAttach(ctx, c.attach, &c.exit_code);
    };
  });

  CLI::App* commit = app.add_subcommand("commit", "Make an image of a container's changes");
  commit->add_option("CTR", c.ref, "container name or ID")->required();
  commit->add_option("NAME", c.tag, "the new image's NAME[:TAG]")->required();
  commit->add_option("-m,--message", c.message, "a comment for the image's history");
  commit->add_option("-a,--author", c.author, "the image's author");
  commit->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ContainerCommit(ctx, c.ref, c.tag, c.message, c.author);
    };
  });

  CLI::App* volume = app.add_subcommand("volume", "Manage named volumes");
  volume->require_subcommand(1);
  CLI::App* vcreate = volume->add_subcommand("create", "Create a volume");
  vcreate->add_option("NAME", c.ref, "volume name")->required();
  vcreate->add_option("--label", c.labels, "K=V metadata")
      ->allow_extra_args(false);  // one value per occurrence (repeatable)
  vcreate
      ->add_option_function<std::string>(
          "--low-space",
          [&c](const std::string& pct) { c.labels.push_back("strata.low-space=" + pct); },
          "PCT: the volume is low on space below PCT% available (overrides stratad's "
          "--low-space; the label strata.low-space)")
      ->check(CLI::Range(0.0, 100.0));
  vcreate->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::VolumeCreate(ctx, c.ref, c.labels); };
  });
  CLI::App* vls = volume->add_subcommand("ls", "List volumes")->alias("list");
  vls->add_flag("-q,--quiet", a.quiet, "only show names");
  AddFormat(vls, a.format);
  vls->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::VolumeList(ctx, ParseFormat(a.format), a.quiet);
    };
  });
  CLI::App* vinspect = volume->add_subcommand("inspect", "Show volumes' details (JSON)");
  vinspect->add_option("NAME", c.refs, "volume names")->required();
  vinspect->add_option("--format", a.format, "json (the only format)")
      ->check(CLI::IsMember({"json"}));
  vinspect->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::VolumeInspect(ctx, c.refs); }; });
  CLI::App* vrm = volume->add_subcommand("rm", "Remove volumes (not while a container uses them)");
  vrm->alias("remove");
  vrm->add_option("NAME", c.refs, "volume names")->required();
  vrm->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::VolumeRemove(ctx, c.refs); }; });
}

struct CronArgs {
  runtime::CronAddArgs add;
  std::vector<std::string> names;
};

void AddCronCommands(CLI::App& app, Args& a, CronArgs& c, Command& run) {
  CLI::App* cron = app.add_subcommand("cron", "Manage scheduled jobs");
  cron->require_subcommand(1);

  CLI::App* add = cron->add_subcommand(
      "add", "Schedule a job: add NAME --schedule EXPR (--container CTR | --image IMG) -- CMD...");
  add->add_option("NAME", c.add.name, "the job's name")->required();
  add->add_option("CMD", c.add.cmd, "the command, after --")->required();
  add->add_option("--schedule", c.add.schedule,
                  "\"MIN HOUR DOM MON DOW\", @hourly, @daily, @weekly, @monthly, @yearly "
                  "or \"@every 30s\"")
      ->required();
  add->add_option("--tz", c.add.tz, "time zone of the schedule (default UTC)");
  CLI::Option* ctr =
      add->add_option("--container", c.add.container, "exec in this container (by name)");
  CLI::Option* img =
      add->add_option("--image", c.add.image, "run a fresh --rm container of this image");
  ctr->excludes(img);
  add->add_option("--timeout", c.add.timeout, "seconds before the run is killed (0: none)")
      ->check(CLI::NonNegativeNumber);
  add->add_option("--overlap", c.add.overlap,
                  "skip (default): no run while the previous one runs; allow")
      ->check(CLI::IsMember({"skip", "allow"}));
  add->add_flag("--catch-up", c.add.catch_up,
                "at start, run once if runs were missed while stratad was down");
  add->callback([&] {
    if (c.add.container.empty() && c.add.image.empty()) {
      throw CLI::RequiredError("--container or --image");
    }
    run = [&](CommandContext& ctx) { return runtime::CronAdd(ctx, c.add); };
  });

  CLI::App* ls = cron->add_subcommand("ls", "List scheduled jobs")->alias("list");
  ls->add_flag("-q,--quiet", a.quiet, "only show names");
  AddFormat(ls, a.format);
  ls->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::CronList(ctx, ParseFormat(a.format), a.quiet);
    };
  });

  CLI::App* inspect = cron->add_subcommand("inspect", "Show jobs' details (JSON)");
  inspect->add_option("NAME", c.names, "job names")->required();
  inspect->add_option("--format", a.format, "json (the only format)")
      ->check(CLI::IsMember({"json"}));
  inspect->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::CronInspect(ctx, c.names); }; });

  CLI::App* rm = cron->add_subcommand("rm", "Remove scheduled jobs and their history");
  rm->alias("remove");
  rm->add_option("NAME", c.names, "job names")->required();
  rm->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::CronRemove(ctx, c.names); }; });

  CLI::App* history = cron->add_subcommand("history", "Show a job's last runs and their output");
  history->add_option("NAME", a.ref, "job name")->required();
  AddFormat(history, a.format);
  history->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::CronHistory(ctx, a.ref, ParseFormat(a.format));
    };
  });
}

int Main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"strata: images and containers on one host (a client of stratad)", "strata"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command

  Args a;
  app.add_option("--socket", a.socket, "stratad's API socket [env STRATA_SOCKET]")
      ->capture_default_str();
  app.add_option("--root", a.root,
                 "store root, for commands that open the store without stratad "
                 "[env STRATA_ROOT]")
      ->capture_default_str();

  Command run;
  ContainerArgs c;
  a.exit_code = &c.exit_code;
  AddImageCommands(app, a, run);
  AddMountCommands(app, a, run);
  RegistryArgs registry_args;
  AddRegistryCommands(app, registry_args, run);
  AddStoreCommands(app, a, run);
  AddContainerCommands(app, a, c, run);
  CronArgs cron_args;
  AddCronCommands(app, a, cron_args, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::string path = CommandPath(app);
    std::cerr << "strata: " << (path.empty() ? "" : path + ": ") << e.what() << " (see 'strata "
              << (path.empty() ? "" : path + " ") << "--help')\n";
    return kExitUsage;
  }

  a.root_given = app.get_option("--root")->count() > 0;
  runtime::ApiClient client(a.socket);
  CommandContext ctx{client, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1};
  Status status = run(ctx);
  std::cout.flush();
  if (!status.ok()) {
    std::cerr << "strata: " << status.error().message() << "\n";
    return c.exit_code >= 125 ? c.exit_code : kExitFailure;
  }
  return c.exit_code;
}

}  // namespace
}  // namespace strata::tools

int main(int argc, char** argv) { return strata::tools::Main(argc, argv); }
