#include "runtime/oci/runtime_log.h"

#include <fcntl.h>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/oci/state.h"

namespace strata::runtime::oci {
namespace {

UniqueFd g_log;
LogFormat g_format = LogFormat::kText;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return Error::Invalid("unknown log format \"" + std::string(name) + "\" (text or json)");
}

Status OpenRuntimeLog(const std::string& path, LogFormat format) {
  ASSIGN_OR_RETURN(g_log, OpenFile(path, O_WRONLY | O_CREAT | O_APPEND, 0644));
  g_format = format;
  return Ok();
}

bool RuntimeLogIsOpen() { return g_log.valid(); }

void RuntimeLog(LogLevel level, std::string_view message) {
  if (!g_log.valid()) {
    Log(level, message);
    return;
  }
  std::string line;
  if (g_format == LogFormat::kJson) {
    boost::json::object obj;
    obj["level"] = LevelName(level);
    obj["msg"] = message;
    obj["time"] = NowRfc3339();
    line = boost::json::serialize(obj);
  } else {
    line = "time=\"" + NowRfc3339() + "\" level=" + std::string(LevelName(level)) +
           " msg=" + boost::json::serialize(boost::json::value(message));
  }
  line.push_back('\n');
  (void)WriteAll(g_log.get(), line);
}

}  // namespace strata::runtime::oci
