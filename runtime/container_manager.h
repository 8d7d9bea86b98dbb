// ContainerManager: stratad's containers, from create to rm.
//
// A container is an image's chain (the lower of its FUSE root
// mnt/containers/<id>), a writable upper (containers/<id>/upper, overlayfs
// format), volumes and process settings (container_record.h). Each start
// writes an OCI bundle (bundle.h) and runs the OCI runtime through its
// command line (oci_runtime_cli.h): `create` with the container's stdout and
// stderr on pipes that a pump copies into the log (container_log.h), then
// `start`. stratad is the init's subreaper (child_reaper.h): a monitor thread
// per running container waits for its exit, records it, and applies the
// restart policy (restart_policy.h) with its backoff.
//
// References (`ref`): a full ID, a name, or a unique ID prefix.
//
// Lifecycle of the manager: Open() loads every container under
// <root>/containers, puts their roots back in the FUSE session, and records
// containers that were running under a previous stratad (which cannot have
// stopped cleanly) as exited, after making the runtime delete what is left
// of them. RestoreContainers() then starts, in the background, those whose
// policy brings them back with the service (always; unless-stopped unless
// the user stopped them). Shutdown() stops every running container (its
// stop signal, SIGKILL after its timeout, in parallel) and refuses new work;
// the destructor calls it.
//
// Errors: ENOENT for an unknown container or image, EINVAL for bad
// requests, EBUSY (409) for a request the container's state forbids
// ("container web is running: stop it first or use -f"), EEXIST for a
// taken name. Messages name the container by its name.
//
// Thread safety: every method may be called concurrently. Operations on one
// container that change its lifecycle are serialized; exec, logs, wait,
// inspect and ps run alongside them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "fuse/fuse_server.h"
#include "runtime/child_reaper.h"
#include "runtime/container_log.h"
#include "runtime/container_record.h"
#include "runtime/oci_runtime_cli.h"
#include "runtime/volume_store.h"
#include "storage/store.h"

namespace strata::runtime {

struct ContainerManagerOptions {
  storage::Store* store = nullptr;   // required
  fuse::FuseServer* fuse = nullptr;  // required
  ChildReaper* reaper = nullptr;     // required
  std::string runtime;               // the OCI runtime binary (path or name in PATH)
  std::string runtime_root;          // its --root; default <root>/runtime
};

// `strata create` / `run`: what the user asked for; defaults from the image.
struct CreateRequest {
  std::string image;             // a reference the store resolves
  std::string name;              // empty: generated
  std::vector<std::string> cmd;  // empty: the image's Cmd
  std::vector<std::string> env;  // K=V, over the image's Env
  std::string workdir;           // absolute; empty: the image's
  std::string user;              // empty: the image's
  std::string hostname;          // empty: the ID's first 12 digits
  std::map<std::string, std::string> labels;
  std::string restart;               // policy text; empty: no
  std::vector<std::string> volumes;  // -v specs
  std::vector<std::string> tmpfs;    // --tmpfs specs
  int64_t memory = 0;
  int64_t pids_limit = 0;
  double cpus = 0;
  int64_t log_max_size = 0;   // --log-opt max-size; 0: no rotation
  int64_t log_max_files = 1;  // --log-opt max-file
  bool tty = false;
  bool interactive = false;
  bool auto_remove = false;
  std::string network;  // none (default) or host
  bool privileged = false;
  std::vector<std::string> security_opt;  // security_options.h
};

struct ExecRequest {
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  bool tty = false;          // a terminal: attached sessions only
  bool interactive = false;  // stdin from the client: attached sessions only
  // > 0: when it has passed, every process of the exec is killed and Exec
  // fails with ETIMEDOUT (cron jobs' --timeout).
  std::chrono::milliseconds timeout{0};
};

struct CommitRequest {
  std::string tag;  // NAME[:TAG]; required
  std::string comment;
  std::string author;
};

struct VolumeUsage {
  VolumeInfo info;
  std::vector<std::string> containers;  // names of the containers using it
};

class ContainerManager {
 public:
  static Result<std::unique_ptr<ContainerManager>> Open(const ContainerManagerOptions& options);
  ~ContainerManager();
  ContainerManager(const ContainerManager&) = delete;
  ContainerManager& operator=(const ContainerManager&) = delete;

  // Starts, on a background thread, the containers that come back with the
  // service (see above).
  void RestoreContainers();
  // Stops every container and refuses further work; idempotent.
  void Shutdown();

  Result<ContainerRecord> Create(const CreateRequest& request);
  Status Start(const std::string& ref);
  // Starts the container and passes its output to sink from the start until
  // its process exits (as `docker start -a`; `strata run` uses it, so no
  // output is lost and a --rm container is not removed before it is read).
  // Returns the exit code. sink returning false detaches (the container
  // keeps running; the result is then -1).
  Result<int> StartAttached(const std::string& ref,
                            const std::function<bool(const LogEntry&)>& sink);
  // timeout: seconds between the stop signal and SIGKILL (default: the
  // container's, 10 s).
  Status Stop(const std::string& ref, std::optional<int> timeout);
  Status Restart(const std::string& ref, std::optional<int> timeout);
  Status Kill(const std::string& ref, int signal);
  Status Pause(const std::string& ref);
  Status Resume(const std::string& ref);
  // Returns the removed container's ID.
  Result<std::string> Remove(const std::string& ref, bool force);
  // Blocks until the container's process exits (returns at once for one
  // that has exited); the exit code.
  Result<int> Wait(const std::string& ref);
  Result<std::vector<ContainerRecord>> List(bool all);
  Result<ContainerRecord> Inspect(const std::string& ref);

  struct LogsOptions {
    bool follow = false;
    long tail = -1;     // < 0: all
    std::string since;  // only entries at or after this time (log_time.h form); empty: all
  };
  // Calls sink for each entry; with follow, until the container stops for
  // good (not running, no restart pending) and its output is drained, or
  // sink returns false.
  Status Logs(const std::string& ref, const LogsOptions& options,
              const std::function<bool(const LogEntry&)>& sink);

  // Runs a process in a running container; output goes to sink as it
  // comes ("stdout"/"stderr", bytes). Returns the exit code.
  using OutputSink = std::function<void(std::string_view stream, std::string_view data)>;
  Result<int> Exec(const std::string& ref, const ExecRequest& request, const OutputSink& sink);
  // Adds entries to the container's log (cron jobs' output, marked by the
  // caller), as if its process had written them.
  Status AppendLog(const std::string& ref, const std::vector<LogEntry>& entries);

  // Attached sessions (attach_protocol.h) over a connection the caller
  // upgrades when hijack() is called (it returns the socket, or -1). Errors
  // found before are returned without upgrading; later ones end the session
  // with an error frame. The session ends with the exit frame when the
  // process exits, or when the client goes (the process goes on).
  using HijackFn = std::function<int()>;
  // The container's terminal or stdin and its output, from now (with start:
  // starts it first; a container must then not be running) until its
  // process exits.
  Status Attach(const std::string& ref, bool start, const HijackFn& hijack);
  // A process run with exec, with request.tty and request.interactive.
  Status ExecAttached(const std::string& ref, const ExecRequest& request, const HijackFn& hijack);

  // Stops the container if it runs and throws its writable layer away.
  Status Reset(const std::string& ref);
  // A new image of the container's image plus its writable layer; the new
  // image's ID. A running container is paused meanwhile.
  Result<storage::Digest> Commit(const std::string& ref, const CommitRequest& request);

  Result<VolumeUsage> CreateVolume(const std::string& name,
                                   const std::map<std::string, std::string>& labels);
  Result<std::vector<VolumeUsage>> ListVolumes();
  Result<VolumeUsage> InspectVolume(const std::string& name);
  // EBUSY while a container (in any state) uses it.
  Status RemoveVolume(const std::string& name);

  const std::string& runtime_binary() const { return runtime_.binary(); }

 private:
  struct Container;
  using ContainerPtr = std::shared_ptr<Container>;

  explicit ContainerManager(const ContainerManagerOptions& options);

  std::string ContainerDir(const std::string& id) const;
  Result<ContainerPtr> Find(const std::string& ref);
  Status Load();
  Status EnsureRoot(Container& c);
  std::vector<std::string> VolumeUsers(const std::string& name);  // requires mu_

  // Lifecycle (container_lifecycle.cc). The *Locked functions require the
  // container's op_mu.
  Status StartLocked(const ContainerPtr& c, bool by_user);
  Status StartRun(const ContainerPtr& c);
  Status StopLocked(const ContainerPtr& c, int timeout, bool by_user);
  Status KillAndWait(const ContainerPtr& c, std::chrono::milliseconds timeout);
  void Monitor(ContainerPtr c);
  void HandleExit(const ContainerPtr& c, int wait_status);
  Status RemoveLocked(const ContainerPtr& c);
  // After the exit of a --rm container: waits until its removal has taken
  // it out of the lists, so that whoever is told the exit code finds the
  // name free and ps without it.
  void WaitUnlistedIfAutoRemoved(const ContainerPtr& c);
  Result<ExecProcess> PrepareExec(const ContainerPtr& c, const ExecRequest& request);
  void SaveState(Container& c);  // requires c.mu

  storage::Store& store_;
  fuse::FuseServer& fuse_;
  ChildReaper& reaper_;
  OciRuntimeCli runtime_;
  VolumeStore volumes_;

  std::mutex mu_;
  std::map<std::string, ContainerPtr> containers_;  // by ID; guarded by mu_
  std::map<std::string, std::string> names_;        // name -> ID; guarded by mu_
  std::map<std::string, int> removed_exit_codes_;   // auto-removed, by ID; guarded by mu_

  std::atomic<bool> shutting_down_{false};
  std::mutex monitors_mu_;
  std::condition_variable monitors_cv_;
  int monitors_ = 0;  // guarded by monitors_mu_
  std::thread restore_thread_;
};

}  // namespace strata::runtime
