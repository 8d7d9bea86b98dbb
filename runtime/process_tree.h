// The processes below one process, from /proc: what a timed-out exec
// leaves behind (its shell's children hold its output pipes open, so
// killing the top process alone would not end it).
//
// Thread safety: plain functions; the answer is a snapshot (processes may
// fork or exit meanwhile, so callers that must end a tree repeat the kill).
#pragma once

#include <sys/types.h>

#include <vector>

namespace strata::runtime {

// Every descendant of root (not root itself), parents before children.
std::vector<pid_t> Descendants(pid_t root);

// Sends signal to every descendant of root, then to root, repeating the
// scan a few times so children forked meanwhile are caught too.
void KillProcessTree(pid_t root, int signal);

}  // namespace strata::runtime
