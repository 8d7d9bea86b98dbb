// The `strata` commands that talk to stratad about images and the store:
// each sends its requests through an ApiClient, prints what the user asked
// for to `out`, and returns what failed. main() prints a returned error as
// the one line "strata: <message>"; a command adds what it was doing
// ("inspect busybox: ...") to errors stratad reports, and leaves transport
// errors ("cannot reach stratad at ...") as they are.
//
// Relative paths are resolved against the caller's working directory before
// they are sent, since stratad opens them.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/api_client.h"

namespace strata::runtime {

enum class OutputFormat { kTable, kJson };

struct CommandContext {
  ApiClient& client;
  std::ostream& out;
  std::ostream& err;
  // Draw a one-line progress display on err for operations running longer
  // than about two seconds (set when err is a terminal).
  bool show_progress = false;
};

struct ImageImportArgs {
  std::string path;
  std::vector<std::string> tags;
  std::string platform;  // empty: stratad's default
};
Status ImageImport(CommandContext& ctx, const ImageImportArgs& args);
Status ImageImportRootfs(CommandContext& ctx, const std::string& path, const std::string& tag);

// quiet: image IDs only (short, one per image).
Status ImageList(CommandContext& ctx, OutputFormat format, bool quiet);
// Prints a JSON array with one object per ref, like `docker inspect`;
// refs that fail are reported on err, and the last failure is returned.
Status ImageInspect(CommandContext& ctx, const std::vector<std::string>& refs);
Status ImageHistory(CommandContext& ctx, const std::string& ref, OutputFormat format);
Status ImageTag(CommandContext& ctx, const std::string& ref, const std::string& name);
// Removes each ref in turn; failures are reported on err as they happen and
// the last one is returned.
// force: also remove an image that containers were created from.
Status ImageRemove(CommandContext& ctx, const std::vector<std::string>& refs, bool force);
// format: "oci", "oci-archive" or "docker".
Status ImageExport(CommandContext& ctx, const std::string& ref, const std::string& path,
                   const std::string& format);

// `strata mount [--writable] IMG DIR` and `strata umount DIR`: DIR must
// exist; a writable mount's changes are thrown away by umount.
Status ImageMount(CommandContext& ctx, const std::string& ref, const std::string& dir,
                  bool writable);
Status ImageUnmount(CommandContext& ctx, const std::string& dir);

Status DiskUsage(CommandContext& ctx, bool verbose, OutputFormat format);
Status Version(CommandContext& ctx, OutputFormat format);

}  // namespace strata::runtime
