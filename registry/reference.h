// Reference: an image reference as users type it, resolved the way docker
// does.
//
//   busybox                      -> docker.io / library/busybox : latest
//   user/app:v2                  -> docker.io / user/app        : v2
//   localhost:5000/app           -> localhost:5000 / app        : latest
//   ghcr.io/o/app@sha256:<hex>   -> ghcr.io / o/app             @ digest
//   app:v1@sha256:<hex>          -> tag v1 and digest (the digest wins)
//
// The first component is a registry host when it contains '.' or ':' or is
// "localhost"; otherwise the registry is Docker Hub ("docker.io", served by
// registry-1.docker.io) and one-component names get "library/". Repository
// components are lower-case [a-z0-9] separated by '.', '_', '__' or '-'
// runs; tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. Anything else is EINVAL
// with the reference quoted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/digest.h"

namespace strata::registry {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000", "ghcr.io"
  std::string repository;  // "library/busybox"
  std::string tag;         // "latest" unless a digest alone was given
  std::optional<storage::Digest> digest;

  static Result<Reference> Parse(std::string_view text);

  // The host:port to connect to ("registry-1.docker.io" for Docker Hub).
  std::string Endpoint() const;
  // What the manifest is fetched by: the digest if any, else the tag.
  std::string ManifestRef() const { return digest ? digest->str() : tag; }
  // "registry/repository" ("docker.io/library/busybox").
  std::string Repo() const { return registry + "/" + repository; }
  // The name as docker shows it: "busybox:latest", "localhost:5000/app:v2",
  // "app@sha256:..." for a digest-only reference.
  std::string Familiar() const;
  // Familiar() without the tag or digest ("busybox", "localhost:5000/app").
  std::string FamiliarRepo() const;
};

// Whether a registry is on a loopback address ("localhost", "127.x.y.z",
// "[::1]", with or without a port): plain HTTP is allowed there by default.
bool IsLoopbackRegistry(std::string_view registry);

}  // namespace strata::registry
