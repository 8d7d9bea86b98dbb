#include "fuse/uring_channel.h"

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include "common/log.h"

namespace strata::fuse {
namespace {

// The kernel ABI (Linux 6.14, FUSE 7.42), newer than the build's
// <linux/fuse.h>.
constexpr uint64_t kInitOverIoUring = 1ULL << 41;  // FUSE_OVER_IO_URING, in flags2
constexpr uint32_t kCmdRegister = 1;               // FUSE_IO_URING_CMD_REGISTER
constexpr uint32_t kCmdCommitAndFetch = 2;         // FUSE_IO_URING_CMD_COMMIT_AND_FETCH
struct RingEntInOut {                              // struct fuse_uring_ent_in_out
  uint64_t flags;
  uint64_t commit_id;
  uint32_t payload_sz;
  uint32_t padding;
  uint64_t reserved;
};
struct RingHeader {  // struct fuse_uring_req_header
  char in_out[128];  // fuse_in_header in, fuse_out_header out
  char op_in[128];   // the op's own struct (its first argument)
  RingEntInOut ent;
};
struct RingCmd {  // struct fuse_uring_cmd_req, in the SQE's command area
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};
static_assert(sizeof(RingHeader) == 288);
constexpr size_t kCmdAreaSize = 80;  // of an IORING_SETUP_SQE128 SQE
// fuse_init_in: flags2 at 16. fuse_init_out: max_write at 20, max_pages at
// 28, flags2 at 32.
constexpr size_t kInitInFlags2 = 16;
constexpr size_t kInitOutMaxWrite = 20;
constexpr size_t kInitOutMaxPages = 28;
constexpr size_t kInitOutFlags2 = 32;
constexpr size_t kMinReadBuffer = 8192;  // FUSE_MIN_READ_BUFFER

constexpr char kEnableParam[] = "/sys/module/fuse/parameters/enable_uring";

// Room before the payload for the request's header and op struct, which
// are copied there so the request lies contiguous, as read from /dev/fuse.
constexpr size_t kRoom = 4096;
// The ring header has a page of its own, so the payload is page-aligned
// (an O_DIRECT read goes straight into it).
constexpr size_t kHeaderArea = 4096;
static_assert(kHeaderArea >= sizeof(RingHeader) && kRoom % 512 == 0);
constexpr unsigned kRingDepth = 4;
// How often an idle worker looks at the stop flag.
constexpr long long kIdleCheckNs = 500'000'000;

template <typename T>
T Load(const void* base, size_t offset) {
  T value;
  std::memcpy(&value, static_cast<const char*>(base) + offset, sizeof value);
  return value;
}
template <typename T>
void Store(void* base, size_t offset, T value) {
  std::memcpy(static_cast<char*>(base) + offset, &value, sizeof value);
}

// The kernel has one queue per possible CPU, numbered by CPU.
unsigned PossibleCpus() {
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string text;
  if (in >> text) {
    size_t cut = text.find_last_of(",-");
    std::string last = cut == std::string::npos ? text : text.substr(cut + 1);
    char* end = nullptr;
    unsigned long n = std::strtoul(last.c_str(), &end, 10);
    if (end != last.c_str()) return static_cast<unsigned>(n + 1);
  }
  return static_cast<unsigned>(get_nprocs_conf());
}

}  // namespace

struct UringChannel::Entry {
  RingHeader* header = nullptr;
  char* buffer = nullptr;  // kRoom, then the payload
  size_t payload_size = 0;
  struct iovec iov[2] {};
  uint64_t unique = 0;  // the request being served
  uint64_t commit_id = 0;
  bool staged = false;  // its reply is in the entry

  char* payload() const { return buffer + kRoom; }
};

struct UringChannel::Worker {
  unsigned qid = 0;
  struct io_uring ring {};
  Entry entry;
  void* memory = nullptr;  // the entry's header and buffer
  ~Worker() { std::free(memory); }
};

// The entry whose request this thread is serving: libfuse's reply, written
// on the same thread, belongs to it.
thread_local UringChannel::Entry* UringChannel::current_ = nullptr;

bool UringChannel::KernelAllows(bool enable, std::string* note) {
  std::ifstream in(kEnableParam);
  std::string value;
  if (!(in >> value)) {
    *note = std::string("this kernel has no FUSE over io_uring (no ") + kEnableParam + ")";
    return false;
  }
  if (value == "Y" || value == "1") return true;
  if (!enable) {
    *note = std::string(kEnableParam) + " is off";
    return false;
  }
  std::ofstream out(kEnableParam);
  out << "Y\n";
  out.flush();
  if (!out) {
    *note = std::string("cannot turn on ") + kEnableParam + ": " + std::strerror(errno);
    return false;
  }
  *note = std::string("turned on ") + kEnableParam;
  return true;
}

UringChannel::UringChannel(fuse_session* session, int device, unsigned workers_per_cpu,
                           std::atomic<uint64_t>* served)
    : session_(session), device_(device), workers_per_cpu_(workers_per_cpu), served_(served) {
  if (workers_per_cpu_ == 0) {
    // Enough that a slow request (a large copy-up, an fsync) leaves the
    // CPU's queue served, without hundreds of threads on large hosts.
    workers_per_cpu_ = std::clamp(32 / std::max(PossibleCpus(), 1U), 2U, 4U);
  }
}

UringChannel::~UringChannel() { Stop(); }

void UringChannel::Stop() {
  stop_ = true;
  Go(false);  // workers still waiting to register end
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

ssize_t UringChannel::Read(int fd, void* buf, size_t len) {
  ssize_t n = ::read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(fuse_in_header) + kInitInFlags2 + sizeof(uint32_t))) {
    const auto* in = static_cast<const fuse_in_header*>(buf);
    if (in->opcode == FUSE_INIT) {
      const char* arg = static_cast<const char*>(buf) + sizeof(fuse_in_header);
      uint32_t flags = Load<uint32_t>(arg, offsetof(fuse_init_in, flags));
      uint32_t flags2 = Load<uint32_t>(arg, kInitInFlags2);
      offered_ = (flags & FUSE_INIT_EXT) != 0 && (flags2 & (kInitOverIoUring >> 32)) != 0;
      init_unique_ = in->unique;
    }
  }
  return n;
}

void UringChannel::Stage(Entry* entry, const struct iovec* iov, int count) {
  auto* header = entry->header;
  fuse_out_header out {};
  size_t header_got = 0;
  size_t payload = 0;
  bool fits = true;
  for (int i = 0; i < count; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    size_t n = iov[i].iov_len;
    if (header_got < sizeof out) {
      size_t take = std::min(n, sizeof out - header_got);
      std::memcpy(reinterpret_cast<char*>(&out) + header_got, p, take);
      header_got += take;
      p += take;
      n -= take;
    }
    if (n == 0) continue;
    if (payload + n > entry->payload_size) {
      fits = false;
      break;
    }
    char* to = entry->payload() + payload;
    if (p != to) std::memcpy(to, p, n);  // else made in place (ReplySpace)
    payload += n;
  }
  if (!fits) {  // more than the kernel's own limits allow; cannot happen
    out.error = -EIO;
    payload = 0;
  }
  out.len = static_cast<uint32_t>(sizeof out + payload);
  std::memcpy(header->in_out, &out, sizeof out);
  header->ent.payload_sz = static_cast<uint32_t>(payload);
  entry->staged = true;
}

std::span<char> UringChannel::ReplySpace() {
  Entry* entry = current_;
  if (entry == nullptr) return {};
  return {entry->payload(), entry->payload_size};
}

void UringChannel::StageError(Entry* entry, int err) {
  fuse_out_header out {sizeof out, -err, entry->unique};
  struct iovec one {&out, sizeof out};
  Stage(entry, &one, 1);
}

ssize_t UringChannel::Writev(int fd, struct iovec* iov, int count) {
  if (count >= 1 && iov[0].iov_len >= sizeof(fuse_out_header)) {
    const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
    if (Entry* entry = current_; entry != nullptr && out->unique == entry->unique) {
      Stage(entry, iov, count);
      ssize_t total = 0;
      for (int i = 0; i < count; ++i) total += static_cast<ssize_t>(iov[i].iov_len);
      return total;
    }
    if (out->unique != 0 && out->unique == init_unique_.load() && out->error == 0 && offered_ &&
        count >= 2 && iov[1].iov_len >= kInitOutFlags2 + sizeof(uint32_t)) {
      void* arg = iov[1].iov_base;
      auto* init = static_cast<fuse_init_out*>(arg);
      size_t max_write = Load<uint32_t>(arg, kInitOutMaxWrite);
      size_t max_pages = Load<uint16_t>(arg, kInitOutMaxPages);
      payload_size_ = std::max<size_t>({kMinReadBuffer, max_write,
                                        max_pages * static_cast<size_t>(::sysconf(_SC_PAGESIZE))});
      init_unique_ = 0;
      // Once the reply asks for io_uring, the kernel holds every request
      // until each CPU's queue has an entry: the rings must exist before
      // it is sent.
      if (!SetUpWorkers()) {
        Go(false);
        return ::writev(fd, iov, count);
      }
      init->flags |= FUSE_INIT_EXT;
      Store<uint32_t>(arg, kInitOutFlags2,
                      Load<uint32_t>(arg, kInitOutFlags2) |
                          static_cast<uint32_t>(kInitOverIoUring >> 32));
      ssize_t n = ::writev(fd, iov, count);
      // The kernel takes ring entries only once it is initialized, which
      // this reply does.
      Go(n >= 0);
      return n;
    }
  }
  return ::writev(fd, iov, count);
}

ssize_t UringChannel::SpliceSend(int fdin, off_t* offin, int fdout, off_t* offout, size_t len,
                                 unsigned int flags) {
  Entry* entry = current_;
  if (entry == nullptr) return ::splice(fdin, offin, fdout, offout, len, flags);
  // libfuse put the reply (header, then the data) in its pipe: it goes to
  // the entry instead of /dev/fuse.
  fuse_out_header out {};
  size_t got = 0;
  while (got < len) {
    char* to;
    size_t room;
    if (got < sizeof out) {
      to = reinterpret_cast<char*>(&out) + got;
      room = sizeof out - got;
    } else {
      size_t at = got - sizeof out;
      if (at >= entry->payload_size) {
        errno = EINVAL;
        return -1;
      }
      to = entry->payload() + at;
      room = std::min(len - got, entry->payload_size - at);
    }
    ssize_t n = ::read(fdin, to, room);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -1 : static_cast<ssize_t>(got);
    got += static_cast<size_t>(n);
  }
  // The payload is in place already (Stage does not copy it again).
  struct iovec reply[2] = {{&out, sizeof out}, {entry->payload(), len - sizeof out}};
  Stage(entry, reply, 2);
  return static_cast<ssize_t>(len);
}

bool UringChannel::SetUpWorkers() {
  if (!threads_.empty() || stop_) return false;
  const unsigned cpus = PossibleCpus();
  const size_t bytes = kHeaderArea + kRoom + payload_size_;
  for (unsigned q = 0; q < cpus; ++q) {
    for (unsigned i = 0; i < workers_per_cpu_; ++i) {
      auto worker = std::make_unique<Worker>();
      worker->qid = q;
      // Page-aligned: the header's page, then the room and the payload.
      worker->memory = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
      if (worker->memory == nullptr) {
        LogWarning("FUSE over io_uring: out of memory for ring buffers");
        return false;
      }
      Entry& e = worker->entry;
      e.header = static_cast<RingHeader*>(worker->memory);
      e.buffer = static_cast<char*>(worker->memory) + kHeaderArea;
      e.payload_size = payload_size_;
      e.iov[0] = {e.header, sizeof(RingHeader)};
      e.iov[1] = {e.payload(), payload_size_};
      workers_.push_back(std::move(worker));
    }
  }
  try {
    for (auto& w : workers_) threads_.emplace_back([this, worker = w.get()] { Run(worker); });
  } catch (const std::system_error& e) {
    LogWarning(std::string("FUSE over io_uring: cannot start its workers: ") + e.what());
    return false;
  }
  // Each worker makes its ring on its own thread (a single-issuer ring
  // belongs to the thread that made it) and says how that went.
  std::unique_lock lock(setup_mu_);
  setup_cv_.wait(lock, [&] { return set_up_ + failed_ == threads_.size(); });
  if (failed_ > 0) return false;
  LogInfo("FUSE requests go over io_uring: " + std::to_string(cpus) + " queues, " +
          std::to_string(workers_per_cpu_) + " workers each");
  return true;
}

void UringChannel::Go(bool serve) {
  std::lock_guard lock(setup_mu_);
  go_ = serve ? GoState::kServe : GoState::kQuit;
  setup_cv_.notify_all();
}

void UringChannel::Queue(Worker* w, uint32_t op) {
  // One command in flight per ring (depth kRingDepth): there is always an SQE.
  struct io_uring_sqe* sqe = io_uring_get_sqe(&w->ring);
  Entry* entry = &w->entry;
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, device_, entry->iov, 2, 0);
  sqe->cmd_op = op;
  RingCmd cmd {};
  cmd.commit_id = op == kCmdCommitAndFetch ? entry->commit_id : 0;
  cmd.qid = static_cast<uint16_t>(w->qid);
  // The command area runs into the second half of a 128-byte SQE, past
  // what the struct declares (hence the address arithmetic).
  auto* area = reinterpret_cast<unsigned char*>(reinterpret_cast<uintptr_t>(sqe) +
                                                offsetof(struct io_uring_sqe, cmd));
  std::memset(area, 0, kCmdAreaSize);
  std::memcpy(area, &cmd, sizeof cmd);
  io_uring_sqe_set_data(sqe, entry);
}

void UringChannel::Run(Worker* w) {
  // On its queue's CPU, so that a request and its reply never cross CPUs.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(w->qid, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // else it floats

  struct io_uring_params params {};
  params.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int r = io_uring_queue_init_params(kRingDepth, &w->ring, &params);
  if (r == -EINVAL) {  // a kernel without deferred task work (before 6.1)
    params = {};
    params.flags = IORING_SETUP_SQE128;
    r = io_uring_queue_init_params(kRingDepth, &w->ring, &params);
  }
  // A forked child (the root warm-up runs in one) must not inherit the
  // ring's mappings: they hold the ring, whose pending commands hold
  // /dev/fuse, so a SIGKILLed stratad's connection would never end while
  // the child waits on it (seen as a D-state child and a hung restart).
  if (r >= 0) {
    r = io_uring_ring_dontfork(&w->ring);
    if (r < 0) io_uring_queue_exit(&w->ring);
  }
  {
    std::unique_lock lock(setup_mu_);
    ++(r < 0 ? failed_ : set_up_);
    setup_cv_.notify_all();
    if (r < 0) {
      if (failed_ == 1) {
        LogWarning("FUSE over io_uring: ring setup failed (requests stay on /dev/fuse): " +
                   std::string(std::strerror(-r)));
      }
      return;
    }
    setup_cv_.wait(lock, [&] { return go_ != GoState::kWait; });
    if (go_ == GoState::kQuit) {
      lock.unlock();
      io_uring_queue_exit(&w->ring);
      return;
    }
  }
  Queue(w, kCmdRegister);
  bool registered = false;
  for (;;) {
    struct io_uring_cqe* cqe = nullptr;
    struct __kernel_timespec idle {0, kIdleCheckNs};
    r = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &idle, nullptr);
    if (r == -ETIME || r == -EINTR) {
      if (stop_) break;
      continue;
    }
    if (r < 0) {
      // Not expected; the queue must not lose its worker over it.
      if (stop_) break;
      LogWarning("FUSE over io_uring: queue " + std::to_string(w->qid) + ": " +
                 std::strerror(-r));
      ::usleep(10'000);
      continue;
    }
    if (io_uring_peek_cqe(&w->ring, &cqe) != 0) continue;
    int res = cqe->res;
    io_uring_cqe_seen(&w->ring, cqe);
    if (res == -EAGAIN && !registered) {  // the kernel is not initialized yet
      ::usleep(1000);
      Queue(w, kCmdRegister);
      continue;
    }
    if (res < 0) {
      // The connection ending (unmount, abort) takes back every entry.
      if (res == -ENOTCONN || res == -ECONNABORTED || res == -ECANCELED) break;
      if (!registered) {  // the kernel turned io_uring off: /dev/fuse serves
        LogWarning("FUSE over io_uring: the kernel refused queue " + std::to_string(w->qid) +
                   "'s entry: " + std::strerror(-res));
        break;
      }
      // A commit the kernel could not match leaves it without this entry;
      // registering the buffers again keeps the worker serving.
      LogWarning("FUSE over io_uring: queue " + std::to_string(w->qid) + ": " +
                 std::strerror(-res) + "; registering again");
      registered = false;
      Queue(w, kCmdRegister);
      continue;
    }
    registered = true;
    Serve(w);
    Queue(w, kCmdCommitAndFetch);
  }
  io_uring_queue_exit(&w->ring);
}

void UringChannel::Serve(Worker* w) {
  Entry& e = w->entry;
  fuse_in_header in;
  std::memcpy(&in, e.header->in_out, sizeof in);
  const size_t payload = e.header->ent.payload_sz;
  e.commit_id = e.header->ent.commit_id;
  e.unique = in.unique;
  e.staged = false;
  // The request as /dev/fuse would carry it: header, the op's struct, and
  // the payload, which is already in place after them.
  if (in.len < sizeof in + payload || in.len - sizeof in - payload > sizeof e.header->op_in ||
      payload > e.payload_size) {
    StageError(&e, EIO);
    return;
  }
  const size_t op = in.len - sizeof in - payload;
  char* start = e.payload() - op - sizeof in;
  std::memcpy(start, &in, sizeof in);
  std::memcpy(start + sizeof in, e.header->op_in, op);
  struct fuse_buf buf {};
  buf.mem = start;
  buf.size = in.len;
  current_ = &e;
  fuse_session_process_buf(session_, &buf);
  current_ = nullptr;
  served_->fetch_add(1, std::memory_order_relaxed);
  if (!e.staged) {
    // libfuse answered nothing; the kernel's caller must not wait forever.
    StageError(&e, EIO);
  }
}

}  // namespace strata::fuse
