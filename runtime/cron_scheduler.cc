#include "runtime/cron_scheduler.h"

#include <signal.h>

#include <algorithm>

#include "common/log.h"
#include "runtime/container_manager.h"
#include "runtime/container_record.h"
#include "runtime/restart_policy.h"

namespace strata::runtime {

namespace {

using Clock = std::chrono::system_clock;

double UnixNow() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

CronSchedule::TimePoint NowSeconds() {
  return std::chrono::floor<std::chrono::seconds>(Clock::now());
}

double ToUnix(CronSchedule::TimePoint t) {
  return static_cast<double>(t.time_since_epoch().count());
}

// Keeps the last `limit` bytes of what a run writes.
class OutputTail {
 public:
  explicit OutputTail(size_t limit) : limit_(limit) {}
  void Add(std::string_view data) {
    text_.append(data);
    if (text_.size() > 2 * limit_) Trim();
  }
  void Finish(CronRun& run) {
    Trim();
    run.output = SanitizeUtf8(text_);
    run.output_truncated = truncated_;
  }

 private:
  void Trim() {
    if (text_.size() <= limit_) return;
    text_.erase(0, text_.size() - limit_);
    truncated_ = true;
  }
  size_t limit_;
  std::string text_;
  bool truncated_ = false;
};

// Cuts a job's output into lines marked "[cron NAME] " for the container's
// log; text left without a newline at the end is a line of its own.
class MarkedLines {
 public:
  explicit MarkedLines(std::string mark) : mark_(std::move(mark)) {}
  std::vector<LogEntry> Add(std::string_view stream, std::string_view data, bool at_end = false) {
    std::string& pending = pending_[std::string(stream)];
    pending.append(data);
    std::vector<LogEntry> out;
    std::string time = NowRfc3339Nano();
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back({time, std::string(stream), mark_ + pending.substr(start, nl - start + 1)});
    }
    pending.erase(0, start);
    if ((at_end || pending.size() > 16 * 1024) && !pending.empty()) {
      out.push_back({time, std::string(stream), mark_ + pending + "\n"});
      pending.clear();
    }
    return out;
  }
  std::vector<LogEntry> Flush() {
    std::vector<LogEntry> out;
    for (auto& [stream, pending] : pending_) {
      if (!pending.empty()) out.push_back({NowRfc3339Nano(), stream, mark_ + pending + "\n"});
      pending.clear();
    }
    return out;
  }

 private:
  std::string mark_;
  std::map<std::string, std::string> pending_;
};

}  // namespace

struct CronScheduler::Job {
  Job(CronJob j, CronSchedule s) : job(std::move(j)), schedule(std::move(s)) {}
  CronJob job;  // guarded by mu_ (last_scheduled, next_seq change)
  const CronSchedule schedule;
  std::optional<TimePoint> next_due;  // guarded by mu_
  int running = 0;                    // guarded by mu_
  bool removed = false;               // guarded by mu_
  std::optional<CronRun> last_run;    // guarded by mu_; without output
  CronJobMetrics metrics;             // guarded by mu_
};

CronScheduler::CronScheduler(const CronSchedulerOptions& options)
    : index_(*options.index),
      containers_(*options.containers),
      history_(std::max<size_t>(1, options.history)),
      output_limit_(options.output_limit) {}

Result<std::unique_ptr<CronScheduler>> CronScheduler::Open(const CronSchedulerOptions& options) {
  if (options.index == nullptr || options.containers == nullptr) {
    return Error::Invalid("cron scheduler: index and containers are required");
  }
  std::unique_ptr<CronScheduler> s(new CronScheduler(options));
  RETURN_IF_ERROR_CTX(s->Load(), "cron jobs");
  return s;
}

CronScheduler::~CronScheduler() {
  Shutdown();
  if (thread_.joinable()) thread_.join();
  std::map<uint64_t, std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& [id, t] : workers) t.join();
}

Status CronScheduler::Load() {
  std::vector<CronJob> loaded;
  RETURN_IF_ERROR(index_.ForEachCron(kCronJobPrefix, [&](std::string_view, std::string_view value) {
    auto job = DecodeCronJob(value);
    if (!job.ok()) {
      LogWarning("cron: skipping a job record: " + job.error().message());
      return Ok();
    }
    loaded.push_back(std::move(job).value());
    return Ok();
  }));
  TimePoint now = NowSeconds();
  for (auto& j : loaded) {
    if (OwnerGone(j)) {
      storage::Index::Batch batch;
      batch.DeleteCron(CronJobKey(j.name));
      batch.DeleteCronPrefix(CronRunPrefix(j.name));
      RETURN_IF_ERROR(index_.Write(batch));
      LogInfo("cron: removed job " + j.name + ": its container is gone");
      continue;
    }
    auto schedule = CronSchedule::Parse(j.schedule, j.tz);
    if (!schedule.ok()) {
      LogWarning("cron: job " + j.name + " is not scheduled: " + schedule.error().message());
      continue;
    }
    auto job = std::make_shared<Job>(j, std::move(schedule).value());
    job->metrics.job = j.name;
    if (j.catch_up && j.last_scheduled > 0) {
      auto missed = job->schedule.Next(TimePoint(std::chrono::seconds(j.last_scheduled)));
      job->next_due = missed && *missed <= now ? std::optional(now) : missed;
    } else {
      job->next_due = job->schedule.Next(now);
    }
    // The last run, for `cron ls`.
    RETURN_IF_ERROR(
        index_.ForEachCron(CronRunPrefix(j.name), [&](std::string_view, std::string_view value) {
          if (auto run = DecodeCronRun(value); run.ok()) {
            job->last_run = std::move(run).value();
            job->last_run->output.clear();
          }
          return Ok();
        }));
    jobs_[j.name] = std::move(job);
  }
  return Ok();
}

void CronScheduler::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  started_at_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { Loop(); });
}

void CronScheduler::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void CronScheduler::ReapWorkers() {
  for (uint64_t id : finished_) {
    auto it = workers_.find(id);
    if (it == workers_.end()) continue;
    it->second.join();  // the worker has returned from Work (it only exits now)
    workers_.erase(it);
  }
  finished_.clear();
}

void CronScheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    ReapWorkers();
    TimePoint now = NowSeconds();
    std::vector<std::pair<JobPtr, TimePoint>> due;
    std::optional<TimePoint> earliest;
    for (auto& [name, job] : jobs_) {
      if (job->next_due && *job->next_due <= now) {
        due.emplace_back(job, *job->next_due);
        auto next = job->schedule.Next(*job->next_due);
        // Behind by more than a period (a suspended host, a slow start):
        // the missed runs are not replayed.
        if (next && *next <= now) next = job->schedule.Next(now);
        job->next_due = next;
      }
      if (job->next_due && (!earliest || *job->next_due < *earliest)) earliest = job->next_due;
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& [job, at] : due) Fire(job, at);
      lock.lock();
      continue;
    }
    if (earliest) {
      cv_.wait_until(lock, *earliest);
    } else {
      cv_.wait(lock);
    }
  }
}

bool CronScheduler::OwnerGone(const CronJob& job) {
  if (job.owner.empty()) return false;
  auto r = containers_.Inspect(job.owner);
  return !r.ok() && r.error().IsNotFound();
}

void CronScheduler::Fire(const JobPtr& job, TimePoint due) {
  CronJob definition;
  {
    std::lock_guard lock(mu_);
    if (job->removed || stopping_) return;
    definition = job->job;
  }
  if (OwnerGone(definition)) {
    LogInfo("cron: removing job " + definition.name + ": its container is gone");
    (void)Remove(definition.name);
    return;
  }
  CronRun run;
  run.scheduled = ToUnix(due);
  run.started = UnixNow();
  std::lock_guard lock(mu_);
  if (job->removed || stopping_) return;
  job->job.last_scheduled = due.time_since_epoch().count();
  run.seq = job->job.next_seq++;
  if (job->job.overlap == CronOverlap::kSkip && job->running > 0) {
    run.result = CronResult::kSkipped;
    run.message = "the previous run is still running (overlap: skip)";
    // Recorded from a worker too, so the timing thread never waits on a write.
  } else {
    ++job->running;
  }
  uint64_t id = next_worker_++;
  workers_.emplace(id, std::thread([this, job, run, id] {
                     Work(job, run);
                     std::lock_guard done(mu_);
                     finished_.push_back(id);
                     cv_.notify_all();
                   }));
}

void CronScheduler::Work(JobPtr job, CronRun run) {
  if (run.result != CronResult::kSkipped) {
    CronJob definition;
    {
      std::lock_guard lock(mu_);
      definition = job->job;
    }
    Job snapshot(definition, job->schedule);
    run = definition.container.empty() ? ContainerRun(snapshot, run) : ExecRun(snapshot, run);
    std::lock_guard lock(mu_);
    --job->running;
  }
  Record(job, run);
}

bool CronScheduler::AwaitRestore(const std::string& container) {
  using namespace std::chrono_literals;
  {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() - started_at_ > kRestoreGrace) return false;
  }
  auto deadline = std::chrono::steady_clock::now() + kRestoreGrace;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = containers_.Inspect(container);
    if (!r.ok()) return false;
    const ContainerState& s = r->state;
    if (s.status == ContainerStatus::kRunning) return true;
    // Only a container the service brings back is worth waiting for.
    if (s.status != ContainerStatus::kRestarting &&
        !RestartsWithService(r->config.restart, s.manually_stopped)) {
      return false;
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, 100ms, [&] { return stopping_; })) return false;
  }
  return false;
}

CronRun CronScheduler::ExecRun(const Job& job, CronRun run) {
  OutputTail tail(output_limit_);
  MarkedLines lines("[cron " + job.job.name + "] ");
  auto to_log = [&](const std::vector<LogEntry>& entries) {
    if (!entries.empty()) (void)containers_.AppendLog(job.job.container, entries);
  };
  ExecRequest request;
  request.cmd = job.job.cmd;
  request.timeout = std::chrono::seconds(job.job.timeout);
  auto start = std::chrono::steady_clock::now();
  auto exec = [&] {
    return containers_.Exec(job.job.container, request,
                            [&](std::string_view stream, std::string_view data) {
                              tail.Add(data);
                              to_log(lines.Add(stream, data));
                            });
  };
  auto code = exec();
  if (!code.ok() && code.error().code() == EBUSY && AwaitRestore(job.job.container)) {
    code = exec();
  }
  to_log(lines.Flush());
  run.duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tail.Finish(run);
  if (!code.ok()) {
    run.result = code.error().code() == ETIMEDOUT ? CronResult::kTimedOut : CronResult::kFailed;
    run.message = code.error().message();
  } else {
    run.exit_code = *code;
    if (*code != 0) {
      run.result = CronResult::kFailed;
      run.message = "exited with code " + std::to_string(*code);
    }
  }
  return run;
}

CronRun CronScheduler::ContainerRun(const Job& job, CronRun run) {
  auto start = std::chrono::steady_clock::now();
  auto finish = [&](CronResult result, std::string message) {
    run.duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.result = result;
    run.message = std::move(message);
    return run;
  };
  CreateRequest create;
  create.image = job.job.image;
  create.cmd = job.job.cmd;
  create.auto_remove = true;
  create.labels = {{"strata.cron.job", job.job.name}};
  auto record = containers_.Create(create);
  if (!record.ok()) return finish(CronResult::kFailed, "create: " + record.error().message());
  const std::string id = record->config.id;

  // The timeout's watchdog: kills the container, which ends the attached start.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false, timed_out = false;
  std::thread watchdog;
  if (job.job.timeout > 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(job.job.timeout);
    watchdog = std::thread([&] {
      std::unique_lock lock(mu);
      if (cv.wait_until(lock, deadline, [&] { return done; })) return;
      timed_out = true;
      lock.unlock();
      (void)containers_.Kill(id, SIGKILL);
    });
  }
  OutputTail tail(output_limit_);
  auto code = containers_.StartAttached(id, [&](const LogEntry& e) {
    tail.Add(e.log);
    return true;
  });
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  if (watchdog.joinable()) watchdog.join();
  // A --rm container goes by itself once it has run; one that never
  // started does not.
  (void)containers_.Remove(id, true);
  tail.Finish(run);
  if (timed_out) {
    return finish(CronResult::kTimedOut,
                  "timed out after " + std::to_string(job.job.timeout) + " s: killed");
  }
  if (!code.ok()) return finish(CronResult::kFailed, "start: " + code.error().message());
  run.exit_code = *code;
  if (*code != 0) return finish(CronResult::kFailed, "exited with code " + std::to_string(*code));
  return finish(CronResult::kSucceeded, "");
}

void CronScheduler::Record(const JobPtr& job, const CronRun& run) {
  std::lock_guard db(db_mu_);
  CronJob definition;
  {
    std::lock_guard lock(mu_);
    if (job->removed) return;
    definition = job->job;
    CronJobMetrics& m = job->metrics;
    switch (run.result) {
      case CronResult::kSucceeded:
        ++m.runs_succeeded;
        break;
      case CronResult::kFailed:
        ++m.runs_failed;
        break;
      case CronResult::kSkipped:
        ++m.runs_skipped;
        break;
      case CronResult::kTimedOut:
        ++m.runs_timed_out;
        break;
    }
    if (run.result != CronResult::kSkipped) {
      m.last_run_unix = run.started;
      m.last_duration_seconds = run.duration;
    }
    job->last_run = run;
    job->last_run->output.clear();
  }
  storage::Index::Batch batch;
  batch.PutCron(CronRunKey(definition.name, run.seq), EncodeCronRun(run));
  batch.PutCron(CronJobKey(definition.name), EncodeCronJob(definition));
  if (run.seq > history_) batch.DeleteCron(CronRunKey(definition.name, run.seq - history_));
  if (Status s = index_.Write(batch); !s.ok()) {
    LogWarning("cron: recording a run of " + definition.name + ": " + s.error().message());
  }
  if (run.result == CronResult::kFailed || run.result == CronResult::kTimedOut) {
    LogInfo("cron: job " + definition.name + " " + std::string(CronResultName(run.result)) + ": " +
            run.message);
  }
}

CronJobStatus CronScheduler::StatusOf(const Job& job) const {
  CronJobStatus s;
  s.job = job.job;
  s.next_run = job.next_due ? ToUnix(*job.next_due) : 0;
  s.running = job.running;
  s.last_run = job.last_run;
  return s;
}

Result<CronJobStatus> CronScheduler::Add(CronJob job) {
  RETURN_IF_ERROR(ValidateCronJobName(job.name));
  if (job.container.empty() == job.image.empty()) {
    return Error::Invalid("a job needs either a container (exec) or an image (run)");
  }
  if (job.cmd.empty()) return Error::Invalid("a job needs a command");
  if (job.timeout < 0) return Error::Invalid("the timeout must not be negative");
  auto schedule = CronSchedule::Parse(job.schedule, job.tz);
  if (!schedule.ok()) {
    return Error::Invalid("invalid schedule \"" + job.schedule +
                          "\": " + schedule.error().message());
  }
  job.created = NowRfc3339Nano();
  job.last_scheduled = 0;
  job.next_seq = 1;

  std::lock_guard db(db_mu_);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Error(ESHUTDOWN, "stratad is shutting down");
    if (jobs_.count(job.name) != 0) {
      return Error::Exists("cron job " + job.name + " already exists");
    }
  }
  storage::Index::Batch batch;
  batch.DeleteCronPrefix(CronRunPrefix(job.name));  // runs of an earlier job of that name
  batch.PutCron(CronJobKey(job.name), EncodeCronJob(job));
  RETURN_IF_ERROR(index_.Write(batch));

  auto entry = std::make_shared<Job>(job, std::move(schedule).value());
  entry->metrics.job = job.name;
  entry->next_due = entry->schedule.Next(NowSeconds());
  CronJobStatus status;
  {
    std::lock_guard lock(mu_);
    jobs_[job.name] = entry;
    status = StatusOf(*entry);
  }
  cv_.notify_all();
  return status;
}

Status CronScheduler::Remove(const std::string& name) {
  std::lock_guard db(db_mu_);
  {
    std::lock_guard lock(mu_);
    if (jobs_.count(name) == 0) return Error::NotFound("no such cron job: " + name);
  }
  storage::Index::Batch batch;
  batch.DeleteCron(CronJobKey(name));
  batch.DeleteCronPrefix(CronRunPrefix(name));
  RETURN_IF_ERROR(index_.Write(batch));
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(name);
    if (it != jobs_.end()) {
      it->second->removed = true;
      jobs_.erase(it);
    }
  }
  cv_.notify_all();
  return Ok();
}

std::vector<CronJobStatus> CronScheduler::List() {
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, job] : jobs_) {
      if (!job->job.owner.empty()) gone.push_back(name);
    }
  }
  // Label jobs of containers removed behind our back (--rm) go first.
  for (const auto& name : gone) {
    CronJob definition;
    {
      std::lock_guard lock(mu_);
      auto it = jobs_.find(name);
      if (it == jobs_.end()) continue;
      definition = it->second->job;
    }
    if (OwnerGone(definition)) (void)Remove(name);
  }
  std::vector<CronJobStatus> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, job] : jobs_) out.push_back(StatusOf(*job));
  return out;
}

Result<CronJobStatus> CronScheduler::Inspect(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return Error::NotFound("no such cron job: " + name);
  return StatusOf(*it->second);
}

Result<std::vector<CronRun>> CronScheduler::History(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    if (jobs_.count(name) == 0) return Error::NotFound("no such cron job: " + name);
  }
  std::vector<CronRun> runs;
  RETURN_IF_ERROR(index_.ForEachCron(CronRunPrefix(name),
                                     [&](std::string_view, std::string_view value) -> Status {
                                       ASSIGN_OR_RETURN(CronRun run, DecodeCronRun(value));
                                       runs.push_back(std::move(run));
                                       return Ok();
                                     }));
  return runs;
}

Status CronScheduler::CheckLabels(const std::map<std::string, std::string>& labels) {
  // The container's name is not known yet; a placeholder checks the rest.
  auto jobs = CronJobsFromLabels("c", "", labels);
  if (!jobs.ok()) return jobs.error();
  return Ok();
}

Status CronScheduler::AddLabelJobs(const ContainerConfig& container) {
  ASSIGN_OR_RETURN(std::vector<CronJob> jobs,
                   CronJobsFromLabels(container.name, container.id, container.labels));
  for (auto& job : jobs) {
    // A job left by an earlier container of that name (removed while
    // stratad was down) gives way.
    bool stale = false;
    {
      std::lock_guard lock(mu_);
      auto it = jobs_.find(job.name);
      stale = it != jobs_.end() && !it->second->job.owner.empty() &&
              it->second->job.owner != container.id;
    }
    if (stale) (void)Remove(job.name);
    auto added = Add(std::move(job));
    if (!added.ok()) return std::move(added).error().Context("label job");
  }
  return Ok();
}

void CronScheduler::RemoveContainerJobs(const std::string& container_id) {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, job] : jobs_) {
      if (job->job.owner == container_id) names.push_back(name);
    }
  }
  for (const auto& name : names) (void)Remove(name);
}

std::vector<CronJobMetrics> CronScheduler::Metrics() const {
  std::lock_guard lock(mu_);
  std::vector<CronJobMetrics> out;
  for (const auto& [name, job] : jobs_) out.push_back(job->metrics);
  return out;
}

}  // namespace strata::runtime
