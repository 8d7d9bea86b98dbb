// Reading members of JSON objects the runtime's files and API bodies hold.
//
// Two flavours: the lenient getters (Str, Int, ...) read a missing or
// mistyped member as empty/zero, for records strata wrote itself; the
// checked getters (Get*) fail with EINVAL naming the member, for request
// bodies a client sent.
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/result.h"

namespace strata::runtime::jsonf {

namespace json = boost::json;

inline std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline int64_t Int(const json::object& o, std::string_view key, int64_t fallback = 0) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return fallback;
}

inline double Double(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return 0;
}

inline bool Bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

inline std::vector<std::string> Strs(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_array()) {
    for (const json::value& s : v->get_array()) {
      if (s.is_string()) out.emplace_back(s.get_string());
    }
  }
  return out;
}

inline std::map<std::string, std::string> StrMap(const json::object& o, std::string_view key) {
  std::map<std::string, std::string> out;
  const json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_object()) {
    for (const auto& member : v->get_object()) {
      if (member.value().is_string()) {
        out.emplace(std::string(member.key()), std::string(member.value().get_string()));
      }
    }
  }
  return out;
}

inline const json::object& Obj(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : kEmpty;
}

inline json::array ToArray(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

inline json::object ToObject(const std::map<std::string, std::string>& m) {
  json::object out;
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

// ---- checked, for request bodies ----

inline Error Mistyped(std::string_view key, std::string_view what) {
  return Error::Invalid("\"" + std::string(key) + "\" must be " + std::string(what));
}

inline Result<std::string> GetStr(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return Mistyped(key, "a string");
  return std::string(v->get_string());
}

inline Result<bool> GetBool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) return Mistyped(key, "true or false");
  return v->get_bool();
}

inline Result<int64_t> GetInt(const json::object& o, std::string_view key, int64_t fallback = 0) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= INT64_MAX) return static_cast<int64_t>(v->get_uint64());
  return Mistyped(key, "an integer");
}

inline Result<double> GetDouble(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return 0.0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return Mistyped(key, "a number");
}

inline Result<std::vector<std::string>> GetStrs(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Mistyped(key, "an array of strings");
  for (const json::value& item : v->get_array()) {
    if (!item.is_string()) return Mistyped(key, "an array of strings");
    out.emplace_back(item.get_string());
  }
  return out;
}

inline Result<std::map<std::string, std::string>> GetStrMap(const json::object& o,
                                                            std::string_view key) {
  std::map<std::string, std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_object()) return Mistyped(key, "an object of strings");
  for (const auto& member : v->get_object()) {
    if (!member.value().is_string()) return Mistyped(key, "an object of strings");
    out.emplace(std::string(member.key()), std::string(member.value().get_string()));
  }
  return out;
}

// Parses text as a JSON object; what names the text in the error.
inline Result<json::object> ParseObject(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error::Corrupt(std::string(what) + " is not JSON: " + ec.message());
  if (!v.is_object()) return Error::Corrupt(std::string(what) + " is not a JSON object");
  return std::move(v.get_object());
}

}  // namespace strata::runtime::jsonf
