// The WebSocket connection's write bookkeeping, driven through the orderings
// its I/O thread can produce.
#include "adapters/net/write_queue.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

using Frames = std::vector<std::shared_ptr<const std::string>>;

std::shared_ptr<const std::string> Frame(size_t bytes, char fill = 'x') {
  return std::make_shared<const std::string>(bytes, fill);
}

class WriteQueueTest : public ::testing::Test {
 protected:
  // Takes and completes `n` single-frame writes, as the I/O thread would.
  void WriteFrames(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kWrite);
      ASSERT_EQ(frames_.size(), 1u);
      queue_.WriteCompleted();
    }
  }

  FrameBatching no_batching_;  // `before` empty: one frame per write
  WriteQueue queue_{&no_batching_};
  Frames frames_;
  bool binary_ = false;
  WriteQueue::CloseRequest close_;
};

TEST_F(WriteQueueTest, TheFirstPushAfterOpenStartsTheWriterOnce) {
  EXPECT_FALSE(queue_.Push(Frame(5), true).start_writer);  // not open yet
  EXPECT_TRUE(queue_.Open());                              // frames were waiting
  auto queued = queue_.Push(Frame(7), true);
  EXPECT_FALSE(queued.start_writer);  // the writer runs already
  EXPECT_EQ(queued.bytes, 12u);
  WriteFrames(2);
  EXPECT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kIdle);
  EXPECT_EQ(queue_.queued_bytes(), 0u);
  EXPECT_TRUE(queue_.Push(Frame(1), true).start_writer);  // the writer stopped: restart it
}

TEST_F(WriteQueueTest, CloseGoesOutAfterTheQueuedFramesAndOnlyOnce) {
  queue_.Open();
  EXPECT_TRUE(queue_.Push(Frame(3), false).start_writer);
  EXPECT_FALSE(queue_.RequestClose(4004, "kicked"));  // the writer will see it
  EXPECT_FALSE(queue_.RequestClose(1000, "again"));
  EXPECT_EQ(queue_.Push(Frame(3), false).bytes, 3u);  // refused after the close request
  WriteFrames(1);
  ASSERT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kClose);
  EXPECT_EQ(close_.code, 4004);
  EXPECT_EQ(close_.reason, "kicked");
  EXPECT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kIdle);
}

TEST_F(WriteQueueTest, BatchesStopAtAChangeOfEncodingAndAtTheLimits) {
  FrameBatching batching;
  batching.max_frames = 3;
  batching.max_bytes = 100;
  batching.before = [](std::string&, size_t, size_t, bool) {};
  WriteQueue queue(&batching);
  queue.Open();
  for (int i = 0; i < 4; ++i) queue.Push(Frame(10), true);
  queue.Push(Frame(10), false);
  queue.Push(Frame(60), false);
  queue.Push(Frame(60), false);
  ASSERT_EQ(queue.TakeNext(frames_, binary_, close_), WriteQueue::Next::kWrite);
  EXPECT_EQ(frames_.size(), 3u);  // max_frames
  EXPECT_TRUE(binary_);
  queue.WriteCompleted();
  ASSERT_EQ(queue.TakeNext(frames_, binary_, close_), WriteQueue::Next::kWrite);
  EXPECT_EQ(frames_.size(), 1u);  // the text frames go in a write of their own
  queue.WriteCompleted();
  ASSERT_EQ(queue.TakeNext(frames_, binary_, close_), WriteQueue::Next::kWrite);
  EXPECT_EQ(frames_.size(), 2u);  // 10 + 60 fit in 100, the next 60 does not
  EXPECT_FALSE(binary_);
  queue.WriteCompleted();
  EXPECT_EQ(queue.queued_bytes(), 60u);
}

// The connection finishes (a read error) while a write is in flight, and the
// write then completes successfully: the writer must stop, and the byte count
// must not go below zero. Enough frames were taken before that the queue's
// read position is past 64 (where the queue compacts).
class WriteCompletingAfterFinish : public WriteQueueTest {
 protected:
  void SetUp() override {
    queue_.Open();
    for (int i = 0; i < 200; ++i) queue_.Push(Frame(10), true);
    WriteFrames(70);
    ASSERT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kWrite);
    queue_.Finish();          // read error on the I/O thread
    queue_.WriteCompleted();  // then the write in flight completes without error
  }
};

TEST_F(WriteCompletingAfterFinish, LeavesNothingQueued) {
  EXPECT_EQ(queue_.queued_bytes(), 0u);
  auto queued = queue_.Push(Frame(10), true);
  EXPECT_EQ(queued.bytes, 0u);  // a finished connection holds nothing: no slow-consumer close
  EXPECT_FALSE(queued.start_writer);
}

TEST_F(WriteCompletingAfterFinish, StopsTheWriterWithoutAClose) {
  EXPECT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kIdle);
  EXPECT_TRUE(frames_.empty());
  EXPECT_FALSE(queue_.RequestClose(1000, "late"));
  EXPECT_EQ(queue_.TakeNext(frames_, binary_, close_), WriteQueue::Next::kIdle);
}

TEST_F(WriteQueueTest, FinishBeforeOpenKeepsTheWriterStopped) {
  queue_.Push(Frame(10), true);
  queue_.Finish();
  EXPECT_FALSE(queue_.Open());
  EXPECT_EQ(queue_.queued_bytes(), 0u);
}

}  // namespace
}  // namespace flare
