#include "runtime/container_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <iterator>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/container_record.h"
#include "runtime/json_fields.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

constexpr size_t kMaxLine = 16 * 1024;

// The length of the valid UTF-8 sequence starting at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string LogLine(const LogEntry& e) {
  json::object o{{"time", e.time}, {"stream", e.stream}, {"log", SanitizeUtf8(e.log)}};
  std::string line = json::serialize(o);
  line.push_back('\n');
  return line;
}

ContainerLog::~ContainerLog() { StopPump(); }

Status ContainerLog::StartPump(UniqueFd out, UniqueFd err) {
  StopPump();  // a finished pump's thread is joined here
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  stop_read_.reset(p[0]);
  stop_write_.reset(p[1]);
  {
    std::lock_guard lock(mu_);
    pumping_ = true;
  }
  pump_ = std::thread([this, o = std::move(out), e = std::move(err)]() mutable {
    Pump(std::move(o), std::move(e));
  });
  return Ok();
}

bool ContainerLog::WaitPumpDone(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return !pumping_; });
}

void ContainerLog::StopPump() {
  stop_write_.reset();  // the pump sees POLLHUP on stop_read_ and ends
  if (pump_.joinable()) pump_.join();
  stop_read_.reset();
}

bool ContainerLog::pumping() const {
  std::lock_guard lock(mu_);
  return pumping_;
}

Status ContainerLog::Append(const std::string& lines) {
  std::lock_guard write(write_mu_);
  auto open = [&] { return OpenFile(path_, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640); };
  ASSIGN_OR_RETURN(UniqueFd fd, open());
  if (limits_.max_size == 0) return WriteAll(fd.get(), lines);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::FromErrno("stat " + path_);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // Whole lines up to the limit per file, so one burst of output cannot
  // make a file much bigger than max-size.
  std::string_view rest(lines);
  while (!rest.empty()) {
    size_t take = 0;
    while (take < rest.size() && (take == 0 || size + take < limits_.max_size)) {
      size_t nl = rest.find('\n', take);
      take = nl == std::string_view::npos ? rest.size() : nl + 1;
    }
    RETURN_IF_ERROR(WriteAll(fd.get(), rest.substr(0, take)));
    rest.remove_prefix(take);
    size += take;
    if (size >= limits_.max_size) {
      RETURN_IF_ERROR(Rotate(size));
      size = 0;
      if (!rest.empty()) {
        ASSIGN_OR_RETURN(fd, open());
      }
    }
  }
  return Ok();
}

Status ContainerLog::Rotate(uint64_t size) {
  if (limits_.max_files <= 1) {
    if (::unlink(path_.c_str()) != 0) return Error::FromErrno("rotate " + path_);
  } else {
    (void)::unlink(Rotated(limits_.max_files - 1).c_str());
    for (int n = limits_.max_files - 2; n >= 1; --n) {
      if (::rename(Rotated(n).c_str(), Rotated(n + 1).c_str()) != 0 && errno != ENOENT) {
        return Error::FromErrno("rotate " + Rotated(n));
      }
    }
    if (::rename(path_.c_str(), Rotated(1).c_str()) != 0) {
      return Error::FromErrno("rotate " + path_);
    }
  }
  std::lock_guard lock(mu_);
  previous_base_ = base_;
  base_ += size;
  return Ok();
}

Status ContainerLog::AppendEntries(const std::vector<LogEntry>& entries) {
  std::string lines;
  for (const auto& e : entries) lines += LogLine(e);
  if (lines.empty()) return Ok();
  Status st = Append(lines);
  std::lock_guard lock(mu_);
  ++version_;
  cv_.notify_all();
  return st;
}

void ContainerLog::Pump(UniqueFd out, UniqueFd err) {
  struct Stream {
    UniqueFd fd;
    const char* name;
    std::string pending;
  };
  Stream streams[2] = {{std::move(out), "stdout", {}}, {std::move(err), "stderr", {}}};
  char buf[32768];
  bool write_failed = false;

  auto emit = [&](Stream& s, bool at_eof) {
    std::string lines;
    std::string time = NowRfc3339Nano();
    size_t start = 0;
    for (;;) {
      size_t nl = s.pending.find('\n', start);
      size_t len;
      if (nl != std::string::npos && nl - start < kMaxLine) {
        len = nl - start + 1;
      } else if (s.pending.size() - start >= kMaxLine) {
        len = kMaxLine;
      } else if (at_eof && s.pending.size() > start) {
        len = s.pending.size() - start;
      } else {
        break;
      }
      lines += LogLine({time, s.name, s.pending.substr(start, len)});
      start += len;
    }
    s.pending.erase(0, start);
    if (lines.empty()) return;
    Status st = Append(lines);
    if (!st.ok() && !write_failed) {
      write_failed = true;
      LogWarning("container log " + path_ + ": " + st.error().message());
    }
    std::lock_guard lock(mu_);
    ++version_;
    cv_.notify_all();
  };

  for (;;) {
    pollfd fds[3] = {{streams[0].fd.get(), POLLIN, 0},
                     {streams[1].fd.get(), POLLIN, 0},
                     {stop_read_.get(), POLLIN, 0}};
    if (!streams[0].fd && !streams[1].fd) break;
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;
    for (int i = 0; i < 2; ++i) {
      if (!streams[i].fd || fds[i].revents == 0) continue;
      ssize_t n = ::read(streams[i].fd.get(), buf, sizeof buf);
      if (n > 0) {
        {
          std::lock_guard lock(subscribers_mu_);
          for (auto& [id, fn] : subscribers_) fn(streams[i].name, std::string_view(buf, n));
        }
        streams[i].pending.append(buf, static_cast<size_t>(n));
        emit(streams[i], false);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        emit(streams[i], true);
        streams[i].fd.reset();
      }
    }
  }
  for (auto& s : streams) emit(s, true);
  std::lock_guard lock(mu_);
  pumping_ = false;
  ++version_;
  cv_.notify_all();
}

namespace {

// The most of a log file held in memory at once. Lines the pump writes are
// far shorter (16 KiB of text, at most 6 bytes of JSON per byte), so a
// piece this long without a newline is not a line of ours and is skipped.
constexpr size_t kReadPiece = 1 << 20;

// Calls fn with the entry of each complete line of path from byte `from`
// on, a piece at a time, until fn returns false, end of file, or at least
// max_bytes are taken; *consumed: the bytes of the lines taken. A line that
// is not JSON is skipped; a missing file has none.
Status ForEachEntry(const std::string& path, uint64_t from, uint64_t max_bytes,
                    const std::function<bool(LogEntry)>& fn, uint64_t* consumed) {
  *consumed = 0;
  auto fd = OpenFile(path, O_RDONLY | O_CLOEXEC);
  if (!fd.ok()) {
    if (fd.error().IsNotFound()) return Ok();
    return std::move(fd).error();
  }
  std::string piece(kReadPiece, '\0');
  while (*consumed < max_bytes) {
    ssize_t n =
        ::pread(fd->get(), piece.data(), piece.size(), static_cast<off_t>(from + *consumed));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + path);
    }
    std::string_view data(piece.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = data.find('\n', start)) != std::string_view::npos; start = nl + 1) {
      std::string_view line = data.substr(start, nl - start);
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec || !v.is_object()) continue;
      const json::object& o = v.get_object();
      if (!fn({jsonf::Str(o, "time"), jsonf::Str(o, "stream"), jsonf::Str(o, "log")})) {
        *consumed += nl + 1;
        return Ok();
      }
    }
    if (start == 0 && data.size() == piece.size()) start = data.size();  // not a line of ours
    *consumed += start;
    if (start == 0 || data.size() < piece.size()) break;  // at the end (or a line being written)
  }
  return Ok();
}

// Where the last complete line of path ends (0 for a missing file).
Result<uint64_t> EndOfLines(const std::string& path) {
  auto fd = OpenFile(path, O_RDONLY | O_CLOEXEC);
  if (!fd.ok()) {
    if (fd.error().IsNotFound()) return uint64_t{0};
    return std::move(fd).error();
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return Error::FromErrno("stat " + path);
  uint64_t end = static_cast<uint64_t>(st.st_size);
  std::string piece(std::min<uint64_t>(end, kReadPiece), '\0');
  // A line being written is at most one piece long.
  ssize_t n =
      ::pread(fd->get(), piece.data(), piece.size(), static_cast<off_t>(end - piece.size()));
  if (n < 0) return Error::FromErrno("read " + path);
  size_t nl = std::string_view(piece.data(), static_cast<size_t>(n)).rfind('\n');
  if (nl == std::string_view::npos) return end - piece.size();
  return end - piece.size() + nl + 1;
}

}  // namespace

Result<std::vector<LogEntry>> ContainerLog::Read(uint64_t* offset) const {
  uint64_t base, previous_base;
  {
    std::lock_guard lock(mu_);
    base = base_;
    previous_base = previous_base_;
  }
  std::vector<LogEntry> entries;
  auto add = [&](LogEntry e) {
    entries.push_back(std::move(e));
    return true;
  };
  uint64_t consumed;
  if (*offset < base) {
    // Rotated since the last read: the rest of log.1 first, if it is kept
    // and the reader was in it (further behind, what it missed is gone).
    if (*offset >= previous_base && limits_.max_files > 1) {
      RETURN_IF_ERROR(
          ForEachEntry(Rotated(1), *offset - previous_base, kReadPiece, add, &consumed));
      // Short of the budget only at its end: the rest of it next time.
      if (consumed >= kReadPiece) {
        *offset += consumed;
        return entries;
      }
    }
    *offset = base;
  }
  RETURN_IF_ERROR(ForEachEntry(path_, *offset - base, kReadPiece, add, &consumed));
  *offset += consumed;
  return entries;
}

Status ContainerLog::ForEach(const std::function<bool(const LogEntry&)>& fn,
                             uint64_t* end_offset) const {
  bool more = true;
  auto each = [&](LogEntry e) { return more = fn(e); };
  uint64_t consumed = 0;
  for (int k = limits_.max_size ? limits_.max_files - 1 : 0; k >= 1 && more; --k) {
    RETURN_IF_ERROR(ForEachEntry(Rotated(k), 0, UINT64_MAX, each, &consumed));
  }
  uint64_t base;
  {
    std::lock_guard lock(mu_);
    base = base_;
  }
  consumed = 0;
  if (more) RETURN_IF_ERROR(ForEachEntry(path_, 0, UINT64_MAX, each, &consumed));
  *end_offset = base + consumed;
  return Ok();
}

Result<std::vector<LogEntry>> ContainerLog::Tail(long n, uint64_t* end_offset) const {
  if (n == 0) {
    uint64_t base;
    {
      std::lock_guard lock(mu_);
      base = base_;
    }
    ASSIGN_OR_RETURN(uint64_t end, EndOfLines(path_));
    *end_offset = base + end;
    return std::vector<LogEntry>();
  }
  std::deque<LogEntry> last;
  RETURN_IF_ERROR(ForEach(
      [&](const LogEntry& e) {
        last.push_back(e);
        if (n > 0 && last.size() > static_cast<size_t>(n)) last.pop_front();
        return true;
      },
      end_offset));
  return std::vector<LogEntry>(std::make_move_iterator(last.begin()),
                               std::make_move_iterator(last.end()));
}

uint64_t ContainerLog::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

void ContainerLog::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return version_ != seen; });
}

uint64_t ContainerLog::Subscribe(Subscriber fn) {
  std::lock_guard lock(subscribers_mu_);
  uint64_t id = next_subscriber_++;
  subscribers_.emplace(id, std::move(fn));
  return id;
}

void ContainerLog::Unsubscribe(uint64_t id) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(id);
}

void ContainerLog::Notify() {
  std::lock_guard lock(mu_);
  ++version_;
  cv_.notify_all();
}

}  // namespace strata::runtime
