// The `strata cron` commands, the client side of cron_routes.cc. Same
// conventions as image_commands.h: each prints what the user asked for to
// ctx.out and returns what failed, with the command as context
// ("cron add backup: invalid schedule ...").
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/image_commands.h"

namespace strata::runtime {

struct CronAddArgs {
  std::string name;
  std::string schedule;
  std::string tz;
  std::string container;  // exec job
  std::string image;      // run job
  std::vector<std::string> cmd;
  int64_t timeout = 0;  // seconds; 0: none
  std::string overlap;  // skip (default) or allow
  bool catch_up = false;
};

// Prints the job's name and its next run.
Status CronAdd(CommandContext& ctx, const CronAddArgs& args);
// NAME, SCHEDULE, TARGET, COMMAND, NEXT RUN, LAST RUN; quiet: names only.
Status CronList(CommandContext& ctx, OutputFormat format, bool quiet);
Status CronInspect(CommandContext& ctx, const std::vector<std::string>& names);
Status CronRemove(CommandContext& ctx, const std::vector<std::string>& names);
// Each recorded run (oldest first): start, duration, result, exit code,
// message, then its output indented.
Status CronHistory(CommandContext& ctx, const std::string& name, OutputFormat format);

}  // namespace strata::runtime
