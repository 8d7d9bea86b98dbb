// FUSE over io_uring (Linux 6.14+): the session's requests travel through
// one io_uring queue per CPU instead of reads and writes of /dev/fuse.
//
// Why: the kernel puts a request on the queue of the CPU its caller runs
// on, and a session thread pinned to that CPU takes it, then commits the
// reply and fetches the next request in one io_uring_enter: the request
// is served on its caller's CPU. Through /dev/fuse, any idle session
// thread takes a request, usually on another CPU, and every request then
// costs two cross-CPU wake-ups; in a VM, whose idle vCPUs halt, they cost
// more than the request. (The reply's wake-up may still move the caller
// to an idle CPU: docs/fuse.md, "Over io_uring", has what that leaves.)
//
// Debian 12's libfuse (3.14) predates the protocol, so it is added under
// the session as its custom I/O layer (fuse_session_custom_io over the
// session's own /dev/fuse descriptor):
// - INIT still goes through /dev/fuse. When the kernel's INIT request
//   offers FUSE_OVER_IO_URING, the workers make their rings first (from
//   the reply on, the kernel holds every request until each CPU's queue
//   has an entry, so a ring that cannot be made means not asking); then
//   the reply asks for it, the workers register their entries, and the
//   kernel sends requests through the rings.
// - A ring request is rebuilt into the /dev/fuse layout (header, the
//   op's own struct, then the payload, which the kernel wrote in place)
//   and handed to fuse_session_process_buf on the worker thread; the
//   reply that libfuse writes (writev or splice_send) on that thread is
//   copied into the entry and committed with the next fetch.
// - FORGET and INTERRUPT stay on /dev/fuse (the kernel's choice), and so
//   does every notification; the session's /dev/fuse loop keeps running
//   for them.
//
// Each CPU's queue has several workers, each with one entry, so a slow
// request (a large copy-up, an fsync) holds up only its own worker.
//
// The kernel lets servers use io_uring only while fuse's enable_uring
// module parameter is on; KernelAllows turns it on when asked.
//
// Thread safety: the I/O methods are called from any session thread.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

struct fuse_session;

namespace strata::fuse {

class UringChannel {
 public:
  // Whether this kernel lets FUSE servers use io_uring. With enable, the
  // module parameter is turned on when it is off (needs root). *note says
  // why not, or that it was turned on.
  static bool KernelAllows(bool enable, std::string* note);

  // device: the session's /dev/fuse descriptor; workers_per_cpu 0 picks;
  // served counts the requests the rings carry.
  UringChannel(fuse_session* session, int device, unsigned workers_per_cpu,
               std::atomic<uint64_t>* served);
  ~UringChannel();
  UringChannel(const UringChannel&) = delete;
  UringChannel& operator=(const UringChannel&) = delete;

  // The session's custom I/O layer.
  ssize_t Read(int fd, void* buf, size_t len);
  ssize_t Writev(int fd, struct iovec* iov, int count);
  ssize_t SpliceSend(int fdin, off_t* offin, int fdout, off_t* offout, size_t len,
                     unsigned int flags);

  // On a worker serving a request: the entry's payload buffer, where a
  // reply's data can be put directly (a reply pointing into it is not
  // copied). Empty on any other thread.
  static std::span<char> ReplySpace();

  // Ends the workers. Call once the session is unmounted.
  void Stop();


 private:
  struct Entry;
  struct Worker;

  // Starts the workers and waits until each has made its ring; false if
  // one could not (then none may register: Go(false)).
  bool SetUpWorkers();
  // Lets the workers register their entries (serve) or end.
  void Go(bool serve);
  void Run(Worker* worker);
  void Serve(Worker* worker);
  // Puts a reply (header, then the payload's pieces) in the entry; a piece
  // already in the entry's payload buffer, where it belongs, is not copied.
  static void Stage(Entry* entry, const struct iovec* iov, int count);
  static void StageError(Entry* entry, int err);
  // Queues a register or commit-and-fetch of the worker's entry.
  void Queue(Worker* w, uint32_t op);
  static thread_local Entry* current_;

  fuse_session* session_;
  int device_;
  unsigned workers_per_cpu_;
  std::atomic<bool> offered_{false};        // the kernel's INIT request offered io_uring
  std::atomic<uint64_t> init_unique_{0};    // the INIT request's id, while its reply is due
  size_t payload_size_ = 0;                 // from the INIT reply
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t>* served_;
  enum class GoState { kWait, kServe, kQuit };
  std::mutex setup_mu_;
  std::condition_variable setup_cv_;
  size_t set_up_ = 0;  // workers whose ring is made; guarded by setup_mu_
  size_t failed_ = 0;  // workers that could not make one; guarded
  GoState go_ = GoState::kWait;  // guarded
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace strata::fuse
