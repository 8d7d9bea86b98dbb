// Result<T>: the one error type of strata.
//
// An Error carries an errno (0 when none applies) and a message; callers add
// context on the way up with Error::Context("while ..."), so the user sees
// "import busybox.tar: layer 2: open objects/ab/...: No space left on device".
// No exceptions cross component boundaries; Result is [[nodiscard]].
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace strata {

class Error {
 public:
  Error() = default;
  Error(int err, std::string message) : errno_(err), message_(std::move(message)) {}

  // An error from a failed system call: "what: strerror(errno)".
  static Error FromErrno(std::string_view what, int err = errno) {
    return Error(err, std::string(what) + ": " + std::strerror(err));
  }
  static Error Invalid(std::string message) { return Error(EINVAL, std::move(message)); }
  static Error NotFound(std::string message) { return Error(ENOENT, std::move(message)); }
  static Error Exists(std::string message) { return Error(EEXIST, std::move(message)); }
  static Error Corrupt(std::string message) { return Error(EBADMSG, std::move(message)); }

  int code() const { return errno_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return errno_ == ENOENT; }
  bool IsInvalid() const { return errno_ == EINVAL; }

  // Prepends "context: " to the message; returns *this for chaining.
  Error& Context(std::string_view context) {
    message_ = std::string(context) + ": " + message_;
    return *this;
  }

 private:
  int errno_ = 0;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : value_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(value_); }
  const T& value() const& { return std::get<0>(value_); }
  T&& value() && { return std::get<0>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(value_); }
  Error&& error() && { return std::get<1>(std::move(value_)); }

 private:
  std::variant<T, Error> value_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

}  // namespace strata

// Propagates an error from an expression returning Result/Status. The
// temporaries get unique names, so the macros nest (e.g. in lambdas).
#define STRATA_CONCAT_INNER(a, b) a##b
#define STRATA_CONCAT(a, b) STRATA_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr) RETURN_IF_ERROR_IMPL(STRATA_CONCAT(_status_, __COUNTER__), expr)
#define RETURN_IF_ERROR_IMPL(tmp, expr)                \
  do {                                                 \
    auto tmp = (expr);                                 \
    if (!tmp.ok()) return std::move(tmp).error();      \
  } while (0)

// ASSIGN_OR_RETURN(auto x, Foo()); binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(STRATA_CONCAT(_result_, __COUNTER__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()

// Like RETURN_IF_ERROR, adding context to the error on the way up.
#define RETURN_IF_ERROR_CTX(expr, ctx) \
  RETURN_IF_ERROR_CTX_IMPL(STRATA_CONCAT(_status_, __COUNTER__), expr, ctx)
#define RETURN_IF_ERROR_CTX_IMPL(tmp, expr, ctx)                 \
  do {                                                           \
    auto tmp = (expr);                                           \
    if (!tmp.ok()) return std::move(tmp).error().Context(ctx);   \
  } while (0)
