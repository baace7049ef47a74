#include "rpc/common/server_call.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "rpc/common/call_metadata.h"

namespace flare::rpc {
namespace {

// Failures that point at the server or the caller's set-up, not at what
// a user asked: worth a warning.
bool Alarming(Code code) {
  return code == Code::kInternal || code == Code::kIoError || code == Code::kUnavailable ||
         code == Code::kUnauthenticated;
}

bool SameInConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

grpc::Status RequireBearer(const grpc::ServerContext& context, std::string_view expected,
                           std::string_view method) {
  auto it = context.client_metadata().find("authorization");
  std::string_view given = it == context.client_metadata().end()
                               ? std::string_view()
                               : std::string_view(it->second.data(), it->second.size());
  if (SameInConstantTime(given, expected)) return grpc::Status::OK;
  spdlog::warn("rpc {} refused: bad or missing bearer token, peer={}", method, context.peer());
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bearer token required");
}

grpc::Status ServeUnary(grpc::ServerContext& context, std::string_view method,
                        const std::function<Status(const Principal&)>& handler) {
  auto call = ReadIncomingCall(context);
  if (!call.ok()) {
    spdlog::warn("rpc {} refused: {} peer={}", method, call.status().ToString(), context.peer());
    return ToGrpcStatus(call.status(), context);
  }
  auto start = std::chrono::steady_clock::now();
  Status status;
  {
    ScopedTrace scope(call->trace);
    status = handler(call->who);
  }
  auto ms = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count() /
            1000.0;
  auto level = !status.ok() && Alarming(status.code()) ? spdlog::level::warn : spdlog::level::debug;
  spdlog::log(level, "rpc {} {} in {:.2f} ms tenant={} user={} device={} request_id={} trace_id={}",
              method, status.ToString(), ms, call->who.tenant, call->who.user_id, call->who.device,
              call->trace.request_id, call->trace_id);
  return ToGrpcStatus(status, context);
}

}  // namespace flare::rpc
