// hung_fuse MOUNTPOINT: a FUSE filesystem (an empty root directory) that
// never answers statfs, as a hung network or FUSE mount would. The metrics
// tests point a volume at it and check that a scrape still ends in time.
// Runs in the foreground until killed; the kernel then fails the calls
// still waiting.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = S_IFDIR | 0755;
  st.st_nlink = 2;
  fuse_reply_attr(req, &st, 0);
}

void Lookup(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, ENOENT); }

// Never replied: the caller waits until the filesystem goes away.
void Statfs(fuse_req_t, fuse_ino_t) {}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hung_fuse MOUNTPOINT\n");
    return 2;
  }
  char prog[] = "hung_fuse";
  char opt[] = "-o";
  char opts[] = "fsname=hung,subtype=hung";
  char* args_v[] = {prog, opt, opts};
  fuse_args args = FUSE_ARGS_INIT(3, args_v);
  fuse_lowlevel_ops ops{};
  ops.getattr = Getattr;
  ops.lookup = Lookup;
  ops.statfs = Statfs;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (se == nullptr) return 1;
  if (fuse_session_mount(se, argv[1]) != 0) {
    fuse_session_destroy(se);
    return 1;
  }
  // Multi-threaded: a getattr is answered while statfs calls hang.
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  int r = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_session_unmount(se);
  fuse_session_destroy(se);
  return r == 0 ? 0 : 1;
}
