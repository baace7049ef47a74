// Helpers for tests of the gRPC layer (rpc_*_test.cc): a sleeper that
// moves a ManualClock instead of waiting, a fixed random source, a log
// capture, and a TCP listener that never answers.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "rpc/common/rpc_options.h"

namespace flare::testing {

// Backoff waits: recorded, and passed on the manual clock at once.
class ClockSleeper final : public Sleeper {
 public:
  explicit ClockSleeper(ManualClock& clock) : clock_(clock) {}
  void SleepMs(int64_t ms) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(ms);
    clock_.Advance(ms);
  }
  std::vector<int64_t> sleeps() {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  ManualClock& clock_;
  std::mutex mu_;
  std::vector<int64_t> sleeps_;
};

// Counts up from `start`: ids differ, jitter is predictable.
class StepRandom final : public Random {
 public:
  explicit StepRandom(uint64_t start = 1) : next_(start) {}
  uint64_t Next() override { return next_++; }

 private:
  uint64_t next_;
};

// Everything logged (at debug and above) while it lives.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), previous_level_(previous_->level()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() {
    spdlog::set_default_logger(previous_);
    previous_->set_level(previous_level_);
  }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
  spdlog::level::level_enum previous_level_;
};

// A TCP port that accepts connections (the kernel's backlog does) and
// never says a word: a server that hangs.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace flare::testing
