// CronScheduler: stratad's scheduled jobs (cron_job.h), run on time.
//
// Two kinds of job:
//   exec  runs CMD in a container found by *name* at each run (so a
//         container removed and created again under the same name keeps its
//         jobs), with the container's env and user, like `strata exec`. Its
//         output also goes into the container's log, each line marked
//         "[cron NAME] ". A container that is missing or not running makes
//         the run fail with the manager's message ("container web is not
//         running").
//   run   starts a fresh container of IMAGE with CMD and --rm, attached, and
//         waits for it.
//
// Timing: one thread sleeps on a condition variable until the earliest due
// time; each due run gets a worker thread. Runs missed while the scheduler
// was behind or stratad was down are not replayed; a job added with
// catch_up runs once at start when at least one run was missed. "@every"
// keeps a fixed rate from the job's start. Overlap: with kSkip (the default)
// a run due while the previous one still runs is recorded as skipped; with
// kAllow it starts alongside. A timeout kills the run (every process of the
// exec; the run's container) and records it as timed out.
//
// Records: jobs and the last `history` runs of each (with the last
// `output_limit` bytes of output) are kept in the index (cron family), so
// jobs survive a restart of stratad. Jobs defined by container labels
// (CronJobsFromLabels) are added when the container is created and removed
// with it; a label job whose container has gone (a --rm container, a
// container removed while stratad was down) is dropped when noticed.
//
// Lifecycle: Open() loads the jobs; Start() starts the timing thread (after
// the containers are back); Shutdown() stops starting runs; the destructor
// waits for the runs in progress (stop the containers first so they end).
//
// Errors: EINVAL for a bad job (the reason in the message), EEXIST for a
// taken name, ENOENT for an unknown job.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "runtime/cron_job.h"
#include "runtime/cron_schedule.h"
#include "storage/index.h"

namespace strata::runtime {

class ContainerManager;
struct ContainerConfig;

struct CronSchedulerOptions {
  storage::Index* index = nullptr;         // required
  ContainerManager* containers = nullptr;  // required
  size_t history = 20;                     // runs kept per job
  size_t output_limit = 64 * 1024;         // bytes of output kept per run (the last ones)
};

// What `cron ls` and `cron inspect` show of a job.
struct CronJobStatus {
  CronJob job;
  double next_run = 0;              // unix seconds; 0: none scheduled
  int running = 0;                  // runs in progress
  std::optional<CronRun> last_run;  // without its output
};

// For the monitor: counts since stratad started.
struct CronJobMetrics {
  std::string job;
  uint64_t runs_succeeded = 0, runs_failed = 0, runs_skipped = 0, runs_timed_out = 0;
  double last_run_unix = 0, last_duration_seconds = 0;
};

class CronScheduler {
 public:
  static Result<std::unique_ptr<CronScheduler>> Open(const CronSchedulerOptions& options);
  ~CronScheduler();
  CronScheduler(const CronScheduler&) = delete;
  CronScheduler& operator=(const CronScheduler&) = delete;

  void Start();
  // Starts no more runs; idempotent. Runs in progress go on.
  void Shutdown();

  // job.name, schedule, tz, container or image, cmd, timeout, overlap,
  // catch_up, owner; the rest is set here.
  Result<CronJobStatus> Add(CronJob job);
  Status Remove(const std::string& name);
  std::vector<CronJobStatus> List();
  Result<CronJobStatus> Inspect(const std::string& name);
  // Oldest first.
  Result<std::vector<CronRun>> History(const std::string& name);

  // Label jobs: Check before the container is created (EINVAL with the
  // reason), AddLabelJobs once it is, RemoveContainerJobs when it goes.
  static Status CheckLabels(const std::map<std::string, std::string>& labels);
  Status AddLabelJobs(const ContainerConfig& container);
  void RemoveContainerJobs(const std::string& container_id);

  std::vector<CronJobMetrics> Metrics() const;

 private:
  using TimePoint = CronSchedule::TimePoint;
  struct Job;
  using JobPtr = std::shared_ptr<Job>;

  explicit CronScheduler(const CronSchedulerOptions& options);
  Status Load();
  void Loop();
  void Fire(const JobPtr& job, TimePoint due);
  void Work(JobPtr job, CronRun run);
  CronRun ExecRun(const Job& job, CronRun run);
  // In the first kRestoreGrace after Start(), waits (up to kRestoreGrace)
  // for a container the service is bringing back; whether it now runs.
  bool AwaitRestore(const std::string& container);
  CronRun ContainerRun(const Job& job, CronRun run);
  void Record(const JobPtr& job, const CronRun& run);
  CronJobStatus StatusOf(const Job& job) const;  // requires mu_
  bool OwnerGone(const CronJob& job);
  void ReapWorkers();  // requires mu_

  storage::Index& index_;
  ContainerManager& containers_;
  const size_t history_;
  const size_t output_limit_;

  std::mutex db_mu_;  // serializes index writes (before mu_)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, JobPtr> jobs_;                // guarded by mu_
  bool started_ = false;                              // guarded by mu_
  std::chrono::steady_clock::time_point started_at_;  // guarded by mu_
  static constexpr std::chrono::seconds kRestoreGrace{15};
  bool stopping_ = false;                    // guarded by mu_
  uint64_t next_worker_ = 0;                 // guarded by mu_
  std::map<uint64_t, std::thread> workers_;  // guarded by mu_
  std::vector<uint64_t> finished_;           // guarded by mu_: workers to join
  std::thread thread_;
};

}  // namespace strata::runtime
