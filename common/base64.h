// Base64 (RFC 4648's standard alphabet): basic-auth values and docker
// config.json "auth" fields (registry), and bytes that travel in JSON
// strings (exec output through the API). Boost.Archive's base64 iterators
// underneath (header-only, so the client links no crypto library for it).
//
// Thread safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata {

// With padding.
std::string Base64Encode(std::string_view data);

// With or without padding; nullopt on a character outside the alphabet, a
// misplaced '=' or an impossible length.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace strata
