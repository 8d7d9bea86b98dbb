#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <string>

namespace strata {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
}

void SetLogLevel(LogLevel level) { g_level = level; }

void Log(LogLevel level, std::string_view message) {
  if (level < g_level.load()) return;
  static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line = std::string(stamp) + "Z " + kNames[static_cast<int>(level)] + ": ";
  line.append(message);
  line.push_back('\n');
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace strata
