// Test support: a child process with its stdout on a pipe (stderr is
// inherited unless discarded), for helpers that announce themselves with one line on
// stdout (the fake Consul agent, python3's http.server, the Kafka
// stand-in). The destructor kills (SIGKILL) and reaps a child still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace flare::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // Starts argv[0] (looked up in PATH) with `argv`; false if it cannot run.
  // `discard_stderr`: the child's stderr goes to /dev/null (chatty helpers).
  bool Start(const std::vector<std::string>& argv, bool discard_stderr = false);
  // The next line of the child's stdout without its newline; nullopt if
  // none is complete within `timeout` or stdout closed.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  bool Signal(int signal) const;
  // The exit code once the child exits within `timeout` (a child killed by
  // a signal: 128 + signal); nullopt if it is still running.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

// The free port a line such as "... port=1234" or "... port 1234 ..."
// announces (the number after the first "port"), or 0.
uint16_t AnnouncedPort(const std::string& line);

}  // namespace flare::testing
