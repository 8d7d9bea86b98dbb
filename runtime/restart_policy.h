// RestartPolicy: what stratad does when a container's process exits, as
// Docker's --restart:
//
//   no                  never restart (the default)
//   on-failure[:N]      restart when the exit code is not 0, at most N times
//                       (no N: without limit)
//   always              restart whatever the exit code; after a stop by the
//                       user, only when stratad starts again
//   unless-stopped      as always, but a container the user stopped stays
//                       stopped across stratad restarts
//
// A stop or kill by the user suspends every policy until the next start by
// the user. Restarts wait a delay (RestartBackoff) that starts at 100 ms and
// doubles up to a minute; a run that lasted 10 s or more counts as healthy
// and resets the delay.
//
// Thread safety: plain values; a RestartBackoff belongs to one container.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::runtime {

struct RestartPolicy {
  enum class Kind { kNo, kOnFailure, kAlways, kUnlessStopped };
  Kind kind = Kind::kNo;
  int max_retries = 0;  // on-failure only; 0 = without limit

  // "no", "on-failure", "on-failure:3", "always", "unless-stopped".
  static Result<RestartPolicy> Parse(std::string_view text);
  std::string str() const;
  friend bool operator==(const RestartPolicy&, const RestartPolicy&) = default;
};

// Whether a container whose process just exited with exit_code restarts,
// having restarted restart_count times since the user last started it.
bool ShouldRestart(const RestartPolicy& policy, int exit_code, bool manually_stopped,
                   int restart_count);

// Whether stratad, starting, brings back a container that was running (or
// had been started) when the previous stratad went away.
bool RestartsWithService(const RestartPolicy& policy, bool manually_stopped);

class RestartBackoff {
 public:
  using Duration = std::chrono::milliseconds;
  static constexpr Duration kInitial{100};
  static constexpr Duration kMax{60'000};
  static constexpr Duration kHealthyRun{10'000};

  // The delay before the next restart, given how long the run that just
  // ended lasted: kInitial after a healthy run (or the first time), else
  // twice the previous delay, at most kMax.
  Duration Next(Duration ran_for);
  void Reset() { last_ = Duration::zero(); }

 private:
  Duration last_ = Duration::zero();
};

}  // namespace strata::runtime
