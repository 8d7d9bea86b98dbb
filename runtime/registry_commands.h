// The `strata` commands that talk to registries: pull, push, login, logout.
// Credentials live in the user's docker config.json or the credential
// helper it names (registry/credential_store.h): pull and push send the
// entry for the registry along with the request; login has stratad check the
// credentials against the registry before it stores them; logout only edits
// the file and the helper.
//
// Progress: on a terminal, one line per layer ("3f4e5a6b7c8d: downloading
// 12.3 MB / 45.6 MB"), redrawn in place; nothing otherwise.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "runtime/image_commands.h"

namespace strata::runtime {

struct PullArgs {
  std::string ref;
  std::string platform;  // empty: stratad's default
};
Status Pull(CommandContext& ctx, const PullArgs& args);

struct PushArgs {
  std::string image;
  std::string target;       // empty: the image's name
  std::string compression;  // "gzip" (default) or "zstd"
  int64_t chunk_size = -1;  // -1: stratad's default; 0: always one PUT
};
Status Push(CommandContext& ctx, const PushArgs& args);

struct LoginArgs {
  std::string registry;  // empty: Docker Hub
  std::string username;
  std::string password;
  bool password_stdin = false;
};
Status Login(CommandContext& ctx, const LoginArgs& args);
Status Logout(CommandContext& ctx, const std::string& registry);

}  // namespace strata::runtime
