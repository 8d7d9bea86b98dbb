#include "runtime/oci/signal_names.h"

#include <signal.h>

#include <cctype>
#include <charconv>
#include <string>

namespace strata::runtime::oci {
namespace {

struct Named {
  std::string_view name;
  int number;
};

constexpr Named kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

}  // namespace

Result<int> ParseSignal(std::string_view text) {
  int number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    if (number > 0 && number < NSIG) return number;
    return Error::Invalid("signal " + std::string(text) + " is out of range");
  }
  std::string upper;
  for (char c : text)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const Named& s : kSignals) {
    if (s.name == name) return s.number;
  }
  // SIGRTMIN+n / RTMIN+n
  if (name.starts_with("RTMIN")) {
    int offset = 0;
    std::string_view rest = name.substr(5);
    if (!rest.empty() && rest[0] == '+') rest.remove_prefix(1);
    if (!rest.empty()) {
      auto [p2, e2] = std::from_chars(rest.data(), rest.data() + rest.size(), offset);
      if (e2 != std::errc() || p2 != rest.data() + rest.size()) offset = -1;
    }
    // Compared as a span: SIGRTMIN + a huge offset would overflow.
    if (offset >= 0 && offset <= SIGRTMAX - SIGRTMIN) return SIGRTMIN + offset;
  }
  return Error::Invalid("unknown signal \"" + std::string(text) + "\"");
}

}  // namespace strata::runtime::oci
