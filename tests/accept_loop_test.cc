// AcceptLoop (adapters/net), the accept loop of every listener: when
// accepting fails, as it does while the process is out of descriptors, it
// waits before the next attempt instead of spinning an I/O thread.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <future>
#include <vector>

#include "adapters/net/io_pool.h"

namespace flare {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Lowers the soft descriptor limit and holds every descriptor left under
// it, so the next accept fails with EMFILE; Release() (or the destructor)
// gives them back and restores the limit.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(HighestOpenDescriptor() + 16);
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = dup(STDIN_FILENO)) >= 0;) held_.push_back(fd);
  }
  ~DescriptorsExhausted() { Release(); }
  void Release() {
    for (int fd : held_) close(fd);
    held_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  static int HighestOpenDescriptor() {
    int highest = 0;
    DIR* dir = opendir("/proc/self/fd");
    for (dirent* e; dir != nullptr && (e = readdir(dir)) != nullptr;) {
      if (e->d_name[0] != '.') highest = std::max(highest, atoi(e->d_name));
    }
    if (dir != nullptr) closedir(dir);
    return highest;
  }

  rlimit saved_{};
  std::vector<int> held_;
};

class AcceptLoopTest : public ::testing::Test {
 protected:
  void Start(std::chrono::milliseconds retry_after) {
    loop_.emplace(retry_after);
    auto port = loop_->Start(pool_, "127.0.0.1", 0, [this](tcp::socket, size_t) {
      if (++accepted_ == 1) first_accept_.set_value();
    });
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    pool_.Run();
  }

  // Runs on the loop's thread once every handler queued before it has run.
  void Drain() {
    std::promise<void> ran;
    asio::post(pool_.context(0), [&] { ran.set_value(); });
    ran.get_future().wait();
  }

  // Drains the loop's thread until an accept has failed.
  void WaitForAFailure() {
    while (loop_->failures() == 0) Drain();
  }

  void TearDown() override {
    if (loop_) {
      asio::post(pool_.context(0), [this] { loop_->Close(); });
      Drain();
    }
    pool_.Stop();
  }

  IoPool pool_{1};
  std::optional<AcceptLoop> loop_;
  uint16_t port_ = 0;
  int accepted_ = 0;  // the loop's thread's
  std::promise<void> first_accept_;
};

TEST_F(AcceptLoopTest, AFailedAcceptWaitsBeforeTheNextAttempt) {
  Start(std::chrono::hours(1));
  asio::io_context client_context;
  tcp::socket client(client_context, tcp::v4());  // opened before the descriptors run out
  {
    DescriptorsExhausted exhausted;
    client.connect({asio::ip::make_address("127.0.0.1"), port_});  // waits in the backlog
    WaitForAFailure();
    // An accept retried at once fails at once again: its handler is queued
    // by the time the failed one has returned, so before the second marker.
    Drain();
    Drain();
    EXPECT_EQ(loop_->failures(), 1u);
  }
  EXPECT_EQ(accepted_, 0);
}

TEST_F(AcceptLoopTest, ItAcceptsAgainOnceDescriptorsAreFree) {
  Start(std::chrono::milliseconds(1));
  asio::io_context client_context;
  tcp::socket client(client_context, tcp::v4());
  DescriptorsExhausted exhausted;
  client.connect({asio::ip::make_address("127.0.0.1"), port_});
  WaitForAFailure();
  exhausted.Release();
  ASSERT_EQ(first_accept_.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  EXPECT_GE(loop_->failures(), 1u);
}

}  // namespace
}  // namespace flare
