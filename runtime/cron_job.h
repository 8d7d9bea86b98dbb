// CronJob: a scheduled job as stratad keeps it, and the record of one run.
//
// Both are kept in the index's `cron` family (storage/schema.h), whose
// keys and values are opaque to the store; their encoding is here:
//
//   "j\0" NAME                 -> the job, JSON (definition + schedule state)
//   "r\0" NAME "\0" SEQ(u64 BE) -> one run, JSON
//
// so a job's runs are one prefix scan in order, and removing a job is one
// point delete plus one range delete. JSON, because the records are small
// and a newer stratad reads an older one's fields (unknown ones ignored,
// missing ones default).
//
// Thread safety: plain values and functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"

namespace strata::runtime {

enum class CronOverlap { kSkip, kAllow };
std::string_view CronOverlapName(CronOverlap overlap);  // "skip", "allow"
Result<CronOverlap> ParseCronOverlap(std::string_view text);

struct CronJob {
  std::string name;       // [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 bytes
  std::string schedule;   // the expression (cron_schedule.h)
  std::string tz;         // empty: UTC
  std::string container;  // exec job: the container's name, looked up at each run
  std::string image;      // run job: a fresh --rm container of this image
  std::vector<std::string> cmd;
  int64_t timeout = 0;  // seconds; 0: none
  CronOverlap overlap = CronOverlap::kSkip;
  bool catch_up = false;  // run once at start if a run was missed while down
  std::string owner;      // ID of the container whose labels define the job; empty: `cron add`
  std::string created;    // RFC 3339

  // What the scheduler remembers across restarts.
  int64_t last_scheduled = 0;  // unix seconds of the last due time acted on; 0: none
  uint64_t next_seq = 1;       // sequence number of the next run record
};

enum class CronResult { kSucceeded, kFailed, kSkipped, kTimedOut };
std::string_view CronResultName(
    CronResult result);  // "succeeded", "failed", "skipped", "timed_out"
Result<CronResult> ParseCronResult(std::string_view text);

struct CronRun {
  uint64_t seq = 0;
  double scheduled = 0;  // unix seconds: when it was due
  double started = 0;    // unix seconds
  double duration = 0;   // seconds
  CronResult result = CronResult::kSucceeded;
  int exit_code = -1;   // -1: no process ran or it was killed
  std::string message;  // why it failed, was skipped or timed out
  std::string output;   // stdout and stderr as they came, the last 64 KiB
  bool output_truncated = false;
};

// Docker's container-name rule, with a length limit.
Status ValidateCronJobName(std::string_view name);

boost::json::object CronJobToJson(const CronJob& job);
Result<CronJob> CronJobFromJson(const boost::json::object& o);
boost::json::object CronRunToJson(const CronRun& run);
Result<CronRun> CronRunFromJson(const boost::json::object& o);

std::string CronJobKey(std::string_view name);
std::string CronRunKey(std::string_view name, uint64_t seq);
std::string CronRunPrefix(std::string_view name);  // every run key of the job
inline constexpr std::string_view kCronJobPrefix{"j\0", 2};

std::string EncodeCronJob(const CronJob& job);
Result<CronJob> DecodeCronJob(std::string_view bytes);
std::string EncodeCronRun(const CronRun& run);
Result<CronRun> DecodeCronRun(std::string_view bytes);

// Jobs defined by a container's labels, `strata.cron.NAME.schedule` and
// `strata.cron.NAME.command` (a shell command line, run with /bin/sh -c),
// optionally `.timeout` (seconds), `.overlap` and `.tz`. Each becomes an
// exec job named CONTAINER.NAME aimed at the container's name, owned by its
// ID. EINVAL (naming the label) for an incomplete or invalid definition.
Result<std::vector<CronJob>> CronJobsFromLabels(const std::string& container_name,
                                                const std::string& container_id,
                                                const std::map<std::string, std::string>& labels);

}  // namespace strata::runtime
