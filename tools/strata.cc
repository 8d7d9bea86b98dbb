// strata: the command line, a client of stratad over its Unix socket.
// This file only parses arguments; the commands are in
// runtime/image_commands.h.
//
// Exit status: 0 on success, 1 when a command fails, 2 on a usage error.
// Every failure is one line on stderr: "strata: <what failed>: <why>".
#include <unistd.h>

#include <csignal>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/api_client.h"
#include "runtime/image_commands.h"

namespace strata::tools {
namespace {

using runtime::CommandContext;
using runtime::OutputFormat;
using Command = std::function<Status(CommandContext&)>;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

OutputFormat ParseFormat(const std::string& name) {
  return name == "json" ? OutputFormat::kJson : OutputFormat::kTable;
}

CLI::Option* AddFormat(CLI::App* cmd, std::string& format) {
  return cmd->add_option("--format", format, "output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
}

// "image import" for the deepest subcommand the parser reached.
std::string CommandPath(const CLI::App& app) {
  std::string path;
  const CLI::App* cur = &app;
  while (!cur->get_subcommands().empty()) {
    cur = cur->get_subcommands().front();
    path += (path.empty() ? "" : " ") + cur->get_name();
  }
  return path;
}

struct Args {
  std::string socket = EnvOr("STRATA_SOCKET", "/run/strata/strata.sock");
  std::string root = EnvOr("STRATA_ROOT", "/var/lib/strata");
  std::string format = "table";
  bool quiet = false;
  bool verbose = false;
  bool writable = false;
  std::string path, output, ref, name, tag, platform, archive_format = "oci-archive";
  std::vector<std::string> refs, tags;
};

void AddImageCommands(CLI::App& app, Args& a, Command& run) {
  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);

  CLI::App* import_cmd = image->add_subcommand(
      "import", "Import an image from an OCI layout directory, an OCI archive or a docker-archive");
  import_cmd->add_option("PATH", a.path, "the directory or archive")->required();
  import_cmd->add_option("-t,--tag", a.tags, "tag the image NAME[:TAG] (repeatable)");
  import_cmd->add_option("--platform", a.platform, "os/arch[/variant] to pick from an image index");
  import_cmd->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageImport(ctx, {a.path, a.tags, a.platform});
    };
  });

  CLI::App* rootfs = image->add_subcommand(
      "import-rootfs", "Make a one-layer image from a root filesystem directory or tarball");
  rootfs->add_option("PATH", a.path, "a directory, or a tar / tar.gz / tar.zst")->required();
  rootfs->add_option("-t,--tag", a.tag, "NAME[:TAG] of the new image")->required();
  rootfs->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageImportRootfs(ctx, a.path, a.tag); };
  });

  CLI::App* ls = image->add_subcommand("ls", "List images")->alias("list");
  AddFormat(ls, a.format);
  ls->add_flag("-q,--quiet", a.quiet, "only show image IDs");
  ls->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageList(ctx, ParseFormat(a.format), a.quiet);
    };
  });

  CLI::App* inspect =
      image->add_subcommand("inspect", "Show images' details and configs (always JSON)");
  inspect->add_option("IMG", a.refs, "image names or IDs")->required();
  inspect->add_option("--format", a.format, "json (the only format)")
      ->check(CLI::IsMember({"json"}));
  inspect->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::ImageInspect(ctx, a.refs); }; });

  CLI::App* history = image->add_subcommand("history", "Show how an image's layers were made");
  history->add_option("IMG", a.ref, "image name or ID")->required();
  AddFormat(history, a.format);
  history->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::ImageHistory(ctx, a.ref, ParseFormat(a.format));
    };
  });

  CLI::App* tag = image->add_subcommand("tag", "Give an image another name");
  tag->add_option("IMG", a.ref, "image name or ID")->required();
  tag->add_option("NAME", a.name, "the new NAME[:TAG]")->required();
  tag->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::ImageTag(ctx, a.ref, a.name); }; });

  CLI::App* rm = image->add_subcommand(
      "rm", "Remove image tags; by ID, remove the image (content stays until gc)");
  rm->alias("remove");
  rm->add_option("IMG", a.refs, "image names or IDs")->required();
  rm->callback(
      [&] { run = [&](CommandContext& ctx) { return runtime::ImageRemove(ctx, a.refs); }; });

  CLI::App* exp = image->add_subcommand("export", "Write an image to a directory or archive");
  exp->add_option("IMG", a.ref, "image name or ID")->required();
  CLI::Option* path = exp->add_option("PATH", a.path, "destination (or use -o)");
  CLI::Option* output = exp->add_option("-o,--output", a.output, "destination");
  path->excludes(output);
  exp->add_option("--format", a.archive_format,
                  "oci (layout directory), oci-archive (tar) or docker (docker-archive tar)")
      ->check(CLI::IsMember({"oci", "oci-archive", "docker"}))
      ->capture_default_str();
  exp->callback([&] {
    if (a.path.empty() && a.output.empty()) throw CLI::RequiredError("PATH or -o");
    run = [&](CommandContext& ctx) {
      return runtime::ImageExport(ctx, a.ref, a.path.empty() ? a.output : a.path, a.archive_format);
    };
  });
}

void AddMountCommands(CLI::App& app, Args& a, Command& run) {
  CLI::App* mount = app.add_subcommand(
      "mount", "Show an image's tree at a directory (read-only, or with a scratch writable layer)");
  mount->add_option("IMG", a.ref, "image name or ID")->required();
  mount->add_option("DIR", a.path, "an existing directory")->required();
  mount->add_flag("--writable", a.writable,
                  "add a scratch writable layer, thrown away by 'strata umount'");
  mount->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageMount(ctx, a.ref, a.path, a.writable); };
  });

  CLI::App* umount = app.add_subcommand("umount", "Unmount what 'strata mount' put at DIR");
  umount->alias("unmount");
  umount->add_option("DIR", a.path, "the mount point")->required();
  umount->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::ImageUnmount(ctx, a.path); };
  });
}

void AddStoreCommands(CLI::App& app, Args& a, Command& run) {
  CLI::App* du = app.add_subcommand("du", "Show the store's disk usage and what sharing saves");
  du->add_flag("-v,--verbose", a.verbose, "per image: total, shared and unique bytes");
  AddFormat(du, a.format);
  du->callback([&] {
    run = [&](CommandContext& ctx) {
      return runtime::DiskUsage(ctx, a.verbose, ParseFormat(a.format));
    };
  });

  CLI::App* version = app.add_subcommand("version", "Show the client's and stratad's versions");
  AddFormat(version, a.format);
  version->callback([&] {
    run = [&](CommandContext& ctx) { return runtime::Version(ctx, ParseFormat(a.format)); };
  });
}

int Main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"strata: images and containers on one host (a client of stratad)", "strata"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command

  Args a;
  app.add_option("--socket", a.socket, "stratad's API socket [env STRATA_SOCKET]")
      ->capture_default_str();
  app.add_option("--root", a.root,
                 "store root, for commands that open the store without stratad "
                 "[env STRATA_ROOT]")
      ->capture_default_str();

  Command run;
  AddImageCommands(app, a, run);
  AddMountCommands(app, a, run);
  AddStoreCommands(app, a, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::string path = CommandPath(app);
    std::cerr << "strata: " << (path.empty() ? "" : path + ": ") << e.what() << " (see 'strata "
              << (path.empty() ? "" : path + " ") << "--help')\n";
    return kExitUsage;
  }

  runtime::ApiClient client(a.socket);
  CommandContext ctx{client, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1};
  Status status = run(ctx);
  std::cout.flush();
  if (!status.ok()) {
    std::cerr << "strata: " << status.error().message() << "\n";
    return kExitFailure;
  }
  return 0;
}

}  // namespace
}  // namespace strata::tools

int main(int argc, char** argv) { return strata::tools::Main(argc, argv); }
