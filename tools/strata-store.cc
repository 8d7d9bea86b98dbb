// strata-store: the offline store commands, run by `strata` for
// `gc --root DIR` and `fsck --root DIR` / `fsck --repair` (stratad stopped).
// Kept out of `strata` so that the client does not link the store.
//
//   strata-store gc [--dry-run] ROOT
//   strata-store fsck [--repair] [--threads N] ROOT
//
// Prints one JSON object on stdout: the report (as stratad's /system/gc and
// /system/fsck send it), or {"error": ...} with exit status 1; 2 on a usage
// error. See runtime/store_helper.h.
#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/api_protocol.h"
#include "runtime/offline_store.h"

namespace {

int Main(int argc, char** argv) {
  CLI::App app{"strata-store: offline gc and fsck of a strata store (run by strata)",
               "strata-store"};
  app.require_subcommand(1);
  std::string root;
  bool dry_run = false, repair = false;
  unsigned threads = 0;
  CLI::App* gc = app.add_subcommand("gc", "collect garbage");
  gc->add_flag("--dry-run", dry_run);
  gc->add_option("ROOT", root)->required();
  CLI::App* fsck = app.add_subcommand("fsck", "check the store");
  fsck->add_flag("--repair", repair);
  fsck->add_option("--threads", threads);
  fsck->add_option("ROOT", root)->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto report = gc->parsed() ? strata::runtime::OfflineGc(root, dry_run)
                             : strata::runtime::OfflineFsck(root, repair, threads);
  if (!report.ok()) {
    std::cout << boost::json::serialize(strata::runtime::ErrorToJson(report.error())) << "\n";
    return 1;
  }
  std::cout << boost::json::serialize(*report) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
