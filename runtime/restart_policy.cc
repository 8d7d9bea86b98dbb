#include "runtime/restart_policy.h"

#include <charconv>

namespace strata::runtime {

Result<RestartPolicy> RestartPolicy::Parse(std::string_view text) {
  RestartPolicy p;
  if (text.empty() || text == "no") return p;
  if (text == "always") {
    p.kind = Kind::kAlways;
    return p;
  }
  if (text == "unless-stopped") {
    p.kind = Kind::kUnlessStopped;
    return p;
  }
  constexpr std::string_view kOnFailure = "on-failure";
  if (text.substr(0, kOnFailure.size()) == kOnFailure) {
    std::string_view rest = text.substr(kOnFailure.size());
    p.kind = Kind::kOnFailure;
    if (rest.empty()) return p;
    if (rest.front() == ':') {
      rest.remove_prefix(1);
      int n = 0;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (ec == std::errc() && end == rest.data() + rest.size() && !rest.empty() && n >= 0) {
        p.max_retries = n;
        return p;
      }
    }
  }
  return Error::Invalid("invalid restart policy \"" + std::string(text) +
                        "\" (no, on-failure[:N], always, unless-stopped)");
}

std::string RestartPolicy::str() const {
  switch (kind) {
    case Kind::kNo:
      return "no";
    case Kind::kAlways:
      return "always";
    case Kind::kUnlessStopped:
      return "unless-stopped";
    case Kind::kOnFailure:
      return max_retries > 0 ? "on-failure:" + std::to_string(max_retries) : "on-failure";
  }
  return "no";
}

bool ShouldRestart(const RestartPolicy& policy, int exit_code, bool manually_stopped,
                   int restart_count) {
  if (manually_stopped) return false;
  switch (policy.kind) {
    case RestartPolicy::Kind::kNo:
      return false;
    case RestartPolicy::Kind::kAlways:
    case RestartPolicy::Kind::kUnlessStopped:
      return true;
    case RestartPolicy::Kind::kOnFailure:
      return exit_code != 0 && (policy.max_retries == 0 || restart_count < policy.max_retries);
  }
  return false;
}

bool RestartsWithService(const RestartPolicy& policy, bool manually_stopped) {
  switch (policy.kind) {
    case RestartPolicy::Kind::kAlways:
      return true;
    case RestartPolicy::Kind::kUnlessStopped:
      return !manually_stopped;
    default:
      return false;
  }
}

RestartBackoff::Duration RestartBackoff::Next(Duration ran_for) {
  if (last_ == Duration::zero() || ran_for >= kHealthyRun) {
    last_ = kInitial;
  } else {
    last_ = std::min(last_ * 2, kMax);
  }
  return last_;
}

}  // namespace strata::runtime
