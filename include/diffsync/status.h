// Status and Result<T>: how every DiffSync API reports failure.
//
// A Status is either OK or carries a code and a human-readable message that names
// what was wrong and where (for parsers: the byte or line offset and the reason).
// Result<T> holds either a value or a non-OK Status. No exception crosses a
// DiffSync API; exceptions are used only at the outer edges (CLI, Python).
//
// Thread safety: both are plain values; distinct objects may be used from
// different threads, a single object needs external synchronisation to mutate.
//
// Example:
//   diffsync::Result<Diffs> diffs = diffsync::dmp::FromDelta(text, delta);
//   if (!diffs.ok()) {
//     std::cerr << diffs.status().ToString() << "\n";  // "invalid argument: ..."
//     return;
//   }
//   Use(*diffs);
#ifndef DIFFSYNC_STATUS_H_
#define DIFFSYNC_STATUS_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace diffsync {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,   // Malformed input from the caller or the wire.
  kNotFound,
  kFailedPrecondition,
  kOutOfRange,
  kResourceExhausted,  // A configured limit was exceeded.
  kUnavailable,        // Transient: retry may succeed.
  kIoError,
  kCorruption,  // Stored or received state is internally inconsistent.
  kInternal,
};

// Returns a stable lower-case name for `code`, e.g. "invalid argument".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(StatusCode::kNotFound, std::move(msg));
  }
  static Status FailedPrecondition(std::string msg) {
    return Status(StatusCode::kFailedPrecondition, std::move(msg));
  }
  static Status OutOfRange(std::string msg) {
    return Status(StatusCode::kOutOfRange, std::move(msg));
  }
  static Status ResourceExhausted(std::string msg) {
    return Status(StatusCode::kResourceExhausted, std::move(msg));
  }
  static Status Unavailable(std::string msg) {
    return Status(StatusCode::kUnavailable, std::move(msg));
  }
  static Status IoError(std::string msg) {
    return Status(StatusCode::kIoError, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(StatusCode::kCorruption, std::move(msg));
  }
  static Status Internal(std::string msg) {
    return Status(StatusCode::kInternal, std::move(msg));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK", or "<code name>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-OK Status. Constructing a Result from an OK Status is a
// programming error (asserted in debug builds, reported as kInternal otherwise).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
    if (std::get<Status>(v_).ok()) {
      v_ = Status::Internal("Result constructed from an OK status");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace diffsync

#endif  // DIFFSYNC_STATUS_H_
