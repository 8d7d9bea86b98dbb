#include "monitor/container_collector.h"

#include <ctime>
#include <map>

#include "common/fs.h"
#include "common/log.h"
#include "monitor/family.h"

namespace strata::monitor {

namespace {

std::optional<uint64_t> ReadNumber(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return std::nullopt;
  try {
    return std::stoull(*text);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<uint64_t> FirstNumber(std::initializer_list<std::string> paths) {
  for (const auto& p : paths) {
    if (auto v = ReadNumber(p)) return v;
  }
  return std::nullopt;
}

constexpr runtime::ContainerStatus kStates[] = {
    runtime::ContainerStatus::kCreated, runtime::ContainerStatus::kRunning,
    runtime::ContainerStatus::kPaused,  runtime::ContainerStatus::kRestarting,
    runtime::ContainerStatus::kExited,  runtime::ContainerStatus::kDead};

}  // namespace

std::optional<double> ParseRfc3339(const std::string& text) {
  struct tm tm {};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  double frac = 0;
  if (*rest == '.') {
    double scale = 0.1;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) frac += (*rest - '0') * scale;
  }
  if (*rest != 'Z') return std::nullopt;
  return static_cast<double>(::timegm(&tm)) + frac;
}

std::optional<uint64_t> CgroupMemoryBytes(const std::string& root, const std::string& id) {
  return FirstNumber({root + "/memory/strata/" + id + "/memory.usage_in_bytes",
                      root + "/strata/" + id + "/memory.current"});
}

std::optional<uint64_t> CgroupPids(const std::string& root, const std::string& id) {
  return FirstNumber(
      {root + "/pids/strata/" + id + "/pids.current", root + "/strata/" + id + "/pids.current"});
}

std::vector<prometheus::MetricFamily> ContainerCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto records = containers_.List(true);
  if (!records.ok()) {
    LogWarning("metrics: listing containers: " + records.error().message());
    return out;
  }
  auto state = Family::Gauge("strata_container_state",
                             "The container's state: 1 for the one it is in, 0 for the others");
  auto restarts =
      Family::Counter("strata_container_restarts_total",
                      "Restarts by the container's policy since it was last started by a user");
  auto started = Family::Gauge("strata_container_start_time_seconds",
                               "When the container last started, unix seconds");
  auto exit_code =
      Family::Gauge("strata_container_last_exit_code", "Exit code of the container's last run");
  auto oom = Family::Gauge("strata_container_oom_killed",
                           "Whether the container's last run ended by the OOM killer");
  auto upper =
      Family::Gauge("strata_container_upper_bytes",
                    "Disk usage of the container's writable layer (refreshed periodically)");
  auto memory = Family::Gauge("strata_container_memory_usage_bytes",
                              "Memory usage of the running container's cgroup");
  auto pids = Family::Gauge("strata_container_pids", "Processes in the running container's cgroup");

  std::map<std::string, std::string> upper_dirs;
  for (const auto& r : *records) {
    const std::string& id = r.config.id;
    Labels labels = {{"container", r.config.name}};
    for (auto s : kStates) {
      Labels l = labels;
      l.push_back({"state", std::string(runtime::StatusName(s))});
      state.Add(std::move(l), r.state.status == s ? 1 : 0);
    }
    restarts.Add(labels, r.state.restart_count);
    if (auto t = ParseRfc3339(r.state.started_at)) started.Add(labels, *t);
    if (!r.state.finished_at.empty()) {
      exit_code.Add(labels, r.state.exit_code);
      oom.Add(labels, r.state.oom_killed ? 1 : 0);
    }
    upper_dirs[id] = store_root_ + "/containers/" + id + "/upper";
    if (auto f = uppers_.Get(id)) upper.Add(labels, static_cast<double>(f->bytes));
    if (r.state.status == runtime::ContainerStatus::kRunning ||
        r.state.status == runtime::ContainerStatus::kPaused) {
      if (auto m = CgroupMemoryBytes(cgroup_root_, id)) memory.Add(labels, static_cast<double>(*m));
      if (auto p = CgroupPids(cgroup_root_, id)) pids.Add(labels, static_cast<double>(*p));
    }
  }
  uppers_.Track(upper_dirs);
  for (auto* f : {&state, &restarts, &started, &exit_code, &oom, &upper, &memory, &pids}) {
    f->MoveTo(out);
  }
  return out;
}

}  // namespace strata::monitor
