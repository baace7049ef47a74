// AcceptLoop (adapters/net), the accept loop of every listener: when
// accepting fails, as it does while the process is out of descriptors, it
// waits before the next attempt instead of spinning an I/O thread.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

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
// gives them back and restores the limit. ok() says whether the
// descriptors really ran out.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    int source = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (source < 0) return;
    held_.push_back(source);
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(HighestOpenDescriptor() + 16);
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) return;
    limited_ = true;
    int fd;
    while ((fd = fcntl(source, F_DUPFD_CLOEXEC, 0)) >= 0) held_.push_back(fd);
    exhausted_ = errno == EMFILE;
  }
  ~DescriptorsExhausted() { Release(); }
  bool ok() const { return exhausted_; }
  void Release() {
    for (int fd : held_) close(fd);
    held_.clear();
    if (limited_) setrlimit(RLIMIT_NOFILE, &saved_);
    limited_ = false;
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
  bool limited_ = false, exhausted_ = false;
  std::vector<int> held_;
};

// UndefinedBehaviorSanitizer's vptr check: linked only into a
// -fsanitize=undefined build.
extern "C" void __ubsan_handle_dynamic_type_cache_miss(void*, void*, void*) __attribute__((weak));

class AcceptLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (&__ubsan_handle_dynamic_type_cache_miss != nullptr) {
      // The vptr check reads memory it is unsure of through a pipe it opens:
      // with every descriptor taken, each virtual call reports an invalid
      // vptr.
      GTEST_SKIP() << "UBSan's vptr check needs descriptors, which this test takes away";
    }
  }

  void Start(std::chrono::milliseconds retry_after) {
    loop_.emplace(retry_after);
    auto port = loop_->Start(pool_, "127.0.0.1", 0, [this](tcp::socket, size_t) {
      if (++accepted_ == 1) first_accept_.set_value();
    });
    pool_.Run();  // before the assertion: TearDown drains the loop's thread
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
  }

  // Runs on the loop's thread once every handler queued before it has run.
  void Drain() {
    std::promise<void> ran;
    asio::post(pool_.context(0), [&] { ran.set_value(); });
    ran.get_future().wait();
  }

  // Drains the loop's thread until an accept has failed (false if none
  // failed within 30 s, or a connection was accepted instead).
  bool WaitForAFailure() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (loop_->failures() == 0) {
      Drain();
      if (accepted_ > 0 || std::chrono::steady_clock::now() > deadline) return false;
    }
    return true;
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
  ASSERT_FALSE(HasFatalFailure());
  asio::io_context client_context;
  tcp::socket client(client_context, tcp::v4());  // opened before the descriptors run out
  {
    DescriptorsExhausted exhausted;
    ASSERT_TRUE(exhausted.ok()) << "the descriptors did not run out";
    client.connect({asio::ip::make_address("127.0.0.1"), port_});  // waits in the backlog
    ASSERT_TRUE(WaitForAFailure());
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
  ASSERT_FALSE(HasFatalFailure());
  asio::io_context client_context;
  tcp::socket client(client_context, tcp::v4());
  DescriptorsExhausted exhausted;
  ASSERT_TRUE(exhausted.ok()) << "the descriptors did not run out";
  client.connect({asio::ip::make_address("127.0.0.1"), port_});
  ASSERT_TRUE(WaitForAFailure());
  EXPECT_EQ(accepted_, 0);
  exhausted.Release();
  ASSERT_EQ(first_accept_.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
}

}  // namespace
}  // namespace flare
