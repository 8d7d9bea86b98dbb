// strata-runtime's log: --log FILE and --log-format text|json, as runc has
// them, so a caller (stratad, a containerd shim) can read why a command
// failed. Lines are appended; json lines are {"level","msg","time"}, text
// lines are time="..." level=... msg="..." (logrus's format, which runc
// writes). Without --log, warnings and errors go to stderr.
//
// Process-wide; strata-runtime is single-threaded.
#pragma once

#include <string>
#include <string_view>

#include "common/log.h"
#include "common/result.h"

namespace strata::runtime::oci {

enum class LogFormat { kText, kJson };

Result<LogFormat> ParseLogFormat(std::string_view name);
Status OpenRuntimeLog(const std::string& path, LogFormat format);
bool RuntimeLogIsOpen();
// Writes one line to the log file, or (no file) to stderr via common/log.
void RuntimeLog(LogLevel level, std::string_view message);

}  // namespace strata::runtime::oci
