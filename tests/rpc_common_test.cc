// The call plumbing of src/rpc/common without a server: W3C traceparent
// parsing and spans, backoff bounds, the status mapping both ways and the
// rpc.* config keys.
#include <gtest/gtest.h>

#include "rpc/common/call_metadata.h"
#include "rpc/common/rpc_options.h"
#include "rpc/common/trace_context.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

TEST(TraceParent, ParsesAndFormatsTheW3CForm) {
  const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto tp = TraceParent::Parse(header);
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(tp->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tp->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(tp->flags, 1);
  EXPECT_EQ(tp->ToString(), header);
  // A later version may append fields; its first four are read.
  EXPECT_TRUE(TraceParent::Parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"));
}

TEST(TraceParent, RefusesWhatTheSpecRefuses) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",     // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 with more
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
       }) {
    EXPECT_FALSE(TraceParent::Parse(bad).has_value()) << bad;
  }
}

TEST(TraceParent, NewTracesAndChildSpansAreValid) {
  testing::StepRandom random;
  TraceParent root = NewTrace(random);
  ASSERT_TRUE(TraceParent::Parse(root.ToString())) << root.ToString();
  TraceParent child = ChildSpan(root, random);
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_NE(child.parent_id, root.parent_id);
  EXPECT_EQ(child.flags, root.flags);
  ASSERT_TRUE(TraceParent::Parse(child.ToString()));
}

TEST(TraceContext, ScopesNestAndRestore) {
  EXPECT_EQ(CurrentTrace(), nullptr);
  {
    ScopedTrace outer(TraceContext{"a", ""});
    {
      ScopedTrace inner(TraceContext{"b", ""});
      EXPECT_EQ(CurrentTrace()->request_id, "b");
    }
    EXPECT_EQ(CurrentTrace()->request_id, "a");
  }
  EXPECT_EQ(CurrentTrace(), nullptr);
}

// A random source that always answers the same.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(uint64_t value) : value_(value) {}
  uint64_t Next() override { return value_; }

 private:
  uint64_t value_;
};

TEST(Backoff, DoublesWithinJitterBoundsUpToTheCap) {
  RetryPolicy policy{10, 100, 1'000, 0};
  FixedRandom low(0);
  FixedRandom high(~uint64_t{0} - 1);  // a large draw; % keeps it in range
  for (int retry = 1; retry <= 8; ++retry) {
    int64_t ceiling = std::min<int64_t>(100 << (retry - 1), 1'000);
    EXPECT_EQ(BackoffDelayMs(policy, retry, low), ceiling / 2) << retry;
    int64_t drawn = BackoffDelayMs(policy, retry, high);
    EXPECT_GE(drawn, ceiling / 2) << retry;
    EXPECT_LE(drawn, ceiling) << retry;
  }
}

TEST(StatusMapping, EveryFlareCodeHasAGrpcCodeAndComesBack) {
  for (Code code : {Code::kOk, Code::kInvalidArgument, Code::kNotFound, Code::kAlreadyExists,
                    Code::kPermissionDenied, Code::kUnauthenticated, Code::kResourceExhausted,
                    Code::kUnavailable, Code::kInternal, Code::kAborted}) {
    EXPECT_EQ(rpc::FromGrpcCode(rpc::ToGrpcCode(code)), code) << CodeName(code);
  }
  // IO_ERROR shares INTERNAL on the wire; its trailer restores it (over a
  // real call in rpc_storage_reader_test.cc).
  EXPECT_EQ(rpc::ToGrpcCode(Code::kIoError), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(rpc::FromGrpcCode(grpc::StatusCode::DEADLINE_EXCEEDED), Code::kUnavailable);
  EXPECT_EQ(rpc::FromGrpcCode(grpc::StatusCode::UNIMPLEMENTED), Code::kInternal);
}

TEST(RpcConfig, PerServiceDeadlinesFallBackToTheDefault) {
  Config config;
  ASSERT_TRUE(SetConfigValue(config, "rpc.deadline_ms", "700").ok());
  ASSERT_TRUE(SetConfigValue(config, "rpc.session.deadline_ms", "90").ok());
  ASSERT_TRUE(SetConfigValue(config, "rpc.retry.max_attempts", "5").ok());
  ASSERT_TRUE(SetConfigValue(config, "rpc.signaling.deadline_ms", "60").ok());
  EXPECT_EQ(RpcOptionsFor(config, RpcService::kSession).deadline_ms, 90);
  EXPECT_EQ(RpcOptionsFor(config, RpcService::kSignaling).deadline_ms, 60);
  RpcOptions reader = RpcOptionsFor(config, RpcService::kStorageReader);
  EXPECT_EQ(reader.deadline_ms, 700);
  EXPECT_EQ(reader.retry.max_attempts, 5);
  EXPECT_FALSE(SetConfigValue(config, "rpc.retry.max_attempts", "0").ok());
  auto loaded = LoadConfig("", {{"FLARE_RPC_RETRY_INITIAL_BACKOFF_MS", "5000"},
                                {"FLARE_RPC_RETRY_MAX_BACKOFF_MS", "100"}});
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("rpc.retry.initial_backoff_ms"), std::string::npos);
}

}  // namespace
}  // namespace flare
