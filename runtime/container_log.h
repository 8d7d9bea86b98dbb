// ContainerLog: a container's output, kept like Docker's json-file driver in
// <root>/containers/<id>/log, one JSON object per line:
//
//   {"time":"2024-05-01T12:00:00.123456789Z","stream":"stdout","log":"hi\n"}
//
// A pump thread per run reads the container's stdout and stderr pipes until
// both reach end of file (every process holding them has exited) and
// appends a line per newline-terminated chunk; a line longer than 16 KiB is
// cut into several entries, and text at end of file without a newline is an
// entry of its own. Invalid UTF-8 becomes U+FFFD (JSON needs valid text).
//
// Rotation (Docker's json-file max-size / max-file): with a max size, the
// file that reaches it becomes log.1 (log.1 becomes log.2, ...), and
// max_files files are kept in all (log and log.1 .. log.<max_files-1>).
//
// Readers: Read() parses entries from an offset on; Tail() gives the last
// n (of every kept file); followers wait for more with WaitForChange().
// Offsets count every byte written since this object was made, so a
// follower that fell behind a rotation finishes log.1 before going on. Attached clients
// Subscribe() to the raw bytes as the pump reads them. The log outlives runs
// (a restarted container appends) and goes with the container.
//
// Thread safety: all methods may be called concurrently; one pump runs at a
// time (StartPump after the previous pump finished).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime {

struct LogEntry {
  std::string time;    // RFC 3339 with nanoseconds
  std::string stream;  // "stdout" or "stderr"
  std::string log;     // the text, with its newline if it had one
};

// One line of the file for entry (with the final '\n').
std::string LogLine(const LogEntry& entry);
// Replaces invalid UTF-8 sequences with U+FFFD.
std::string SanitizeUtf8(std::string_view text);

struct LogLimits {
  uint64_t max_size = 0;  // bytes of one file; 0: no rotation
  int max_files = 1;      // files kept, the current one included
};

class ContainerLog {
 public:
  explicit ContainerLog(std::string path, LogLimits limits = {})
      : path_(std::move(path)), limits_(limits) {}
  ~ContainerLog();
  ContainerLog(const ContainerLog&) = delete;
  ContainerLog& operator=(const ContainerLog&) = delete;

  const std::string& path() const { return path_; }

  // Starts pumping out and err (either may be invalid) into the file.
  Status StartPump(UniqueFd out, UniqueFd err);
  // Waits for the pump to reach end of file on both pipes; false on timeout.
  bool WaitPumpDone(std::chrono::milliseconds timeout);
  // Stops a pump that has not finished (closing its pipes) and joins it.
  void StopPump();
  bool pumping() const;

  // Entries from byte offset *offset on, complete lines only, from at most
  // about 1 MiB of the file (the container decides its size): call again
  // until *offset stops moving. *offset moves past what was read. A line
  // that is not JSON is skipped.
  Result<std::vector<LogEntry>> Read(uint64_t* offset) const;
  // Calls fn with every entry of the kept files, oldest first, reading a
  // bounded piece at a time; fn returning false stops the walk. After a
  // whole walk, *end_offset is the offset after the last entry.
  Status ForEach(const std::function<bool(const LogEntry&)>& fn, uint64_t* end_offset) const;
  // The last n entries (all when n < 0: as large as the log), and the
  // offset after them. Tail(0) reads only the end of the file.
  Result<std::vector<LogEntry>> Tail(long n, uint64_t* end_offset) const;

  // Appends entries written by something other than the pump (a cron
  // job's output); followers see them like the pump's.
  Status AppendEntries(const std::vector<LogEntry>& entries);

  // A counter that grows whenever the file grows or a pump ends.
  uint64_t version() const;
  // Waits until version() != seen or timeout passes.
  void WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Wakes every waiter (used when the container's state changes).
  void Notify();

  // Calls fn from the pump thread with each chunk read ("stdout"/"stderr",
  // bytes), before it is written to the file. Unsubscribe returns once no
  // call of fn is running, so what fn uses may go right after.
  using Subscriber = std::function<void(std::string_view stream, std::string_view data)>;
  uint64_t Subscribe(Subscriber fn);
  void Unsubscribe(uint64_t id);

 private:
  void Pump(UniqueFd out, UniqueFd err);
  Status Append(const std::string& lines);
  Status Rotate(uint64_t size);  // requires write_mu_
  std::string Rotated(int n) const { return path_ + "." + std::to_string(n); }

  std::string path_;
  const LogLimits limits_;
  std::mutex write_mu_;  // one Append (and rotation) at a time
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  uint64_t version_ = 0;  // guarded by mu_
  // Offsets where the current file and log.1 begin (guarded by mu_).
  uint64_t base_ = 0, previous_base_ = 0;
  bool pumping_ = false;  // guarded by mu_
  std::thread pump_;
  UniqueFd stop_read_, stop_write_;             // a pipe whose closing stops the pump
  std::mutex subscribers_mu_;                   // held while subscribers are called
  std::map<uint64_t, Subscriber> subscribers_;  // guarded by subscribers_mu_
  uint64_t next_subscriber_ = 1;                // guarded by subscribers_mu_
};

}  // namespace strata::runtime
