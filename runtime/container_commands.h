// The `strata` commands about containers and volumes, the client side of
// the routes in container_routes.cc. Same conventions as image_commands.h:
// each prints what the user asked for to ctx.out and returns what failed;
// an error stratad reports gets the command as context ("stop web: ...").
//
// Commands that end with a process's exit code (run, exec, start -a) put it
// in *exit_code; main() exits with it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/image_commands.h"

namespace strata::runtime {

struct ContainerCreateArgs {
  std::string image;
  std::vector<std::string> cmd;
  std::string name;
  std::vector<std::string> volumes;  // -v
  std::vector<std::string> tmpfs;    // --tmpfs
  std::vector<std::string> env;      // -e K=V (K alone: the client's value)
  std::string workdir;
  std::string user;
  std::string hostname;
  std::string restart;
  std::vector<std::string> labels;  // K=V
  int64_t memory = 0;
  int64_t pids_limit = 0;
  double cpus = 0;
  int64_t log_max_size = 0;
  int64_t log_max_files = 1;
  bool tty = false;
  bool interactive = false;
  bool auto_remove = false;
  std::string network;
  bool privileged = false;
  std::vector<std::string> security_opt;      // seccomp=FILE is sent as the file's text
  std::string detach_keys = "ctrl-p,ctrl-q";  // of an attached run (detach_keys.h)
};

// `strata create`: prints the new container's ID.
Status ContainerCreate(CommandContext& ctx, const ContainerCreateArgs& args);
// `strata run`: create and start; with detach prints the ID, else shows the
// container's output until it exits and sets *exit_code to its exit code
// (125 when it could not be created, 126/127 when its command could not be
// run, as Docker). With -i/-t (not detached) the session is attached
// (attach_session.h): the user's terminal or stdin goes to the container.
Status ContainerRun(CommandContext& ctx, const ContainerCreateArgs& args, bool detach,
                    int* exit_code);

// `strata attach`: the running container's output (and, if it was created
// with -i, its stdin) until it exits (*exit_code) or the detach keys.
// Without a terminal, the signals the client gets go to the container.
struct ContainerAttachArgs {
  std::string ref;
  std::string detach_keys = "ctrl-p,ctrl-q";
  bool no_stdin = false;
  bool sig_proxy = true;
};
Status ContainerAttach(CommandContext& ctx, const ContainerAttachArgs& args, int* exit_code);

// One verb on each ref in turn, printing the ref on success (as Docker);
// failures are reported as they happen, the last is returned.
Status ContainerStart(CommandContext& ctx, const std::vector<std::string>& refs);
Status ContainerStop(CommandContext& ctx, const std::vector<std::string>& refs, int timeout);
Status ContainerRestart(CommandContext& ctx, const std::vector<std::string>& refs, int timeout);
Status ContainerKill(CommandContext& ctx, const std::vector<std::string>& refs,
                     const std::string& signal);
Status ContainerPause(CommandContext& ctx, const std::vector<std::string>& refs);
Status ContainerResume(CommandContext& ctx, const std::vector<std::string>& refs);
Status ContainerRemove(CommandContext& ctx, const std::vector<std::string>& refs, bool force);
Status ContainerReset(CommandContext& ctx, const std::vector<std::string>& refs);
// Prints each container's exit code once it has exited.
Status ContainerWait(CommandContext& ctx, const std::vector<std::string>& refs);

// quiet: IDs only.
Status ContainerList(CommandContext& ctx, bool all, OutputFormat format, bool quiet);
Status ContainerInspect(CommandContext& ctx, const std::vector<std::string>& refs);
// since: only what was written from then on (log_time.h: 10m, unix
// seconds, RFC 3339); empty: everything.
Status ContainerLogs(CommandContext& ctx, const std::string& ref, bool follow, long tail,
                     bool timestamps, const std::string& since);

struct ContainerExecArgs {
  std::string ref;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  bool interactive = false;
  bool tty = false;
  std::string detach_keys = "ctrl-p,ctrl-q";
};
Status ContainerExec(CommandContext& ctx, const ContainerExecArgs& args, int* exit_code);

// Prints the new image's ID.
Status ContainerCommit(CommandContext& ctx, const std::string& ref, const std::string& tag,
                       const std::string& message, const std::string& author);

Status VolumeCreate(CommandContext& ctx, const std::string& name,
                    const std::vector<std::string>& labels);
Status VolumeList(CommandContext& ctx, OutputFormat format, bool quiet);
Status VolumeInspect(CommandContext& ctx, const std::vector<std::string>& names);
Status VolumeRemove(CommandContext& ctx, const std::vector<std::string>& names);

}  // namespace strata::runtime
