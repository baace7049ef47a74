#include "rpc/hooks/hook_admin_grpc.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <set>

#include "hooks/v1/hooks.grpc.pb.h"
#include "rpc/hooks/hook_spec_codec.h"
#include "rpc/common/call_metadata.h"
#include "rpc/common/server_call.h"

namespace flare {
namespace {

namespace pb = ::hooks::v1;

class HookAdminGrpcService final : public pb::HookAdminService::Service {
 public:
  HookAdminGrpcService(HookEngine& engine, HookSettings& settings, std::string token)
      : engine_(engine), settings_(settings), expected_("Bearer " + std::move(token)) {}

  grpc::Status ListHooks(grpc::ServerContext* context, const pb::ListHooksRequest*,
                         pb::ListHooksResponse* response) override {
    return Serve(*context, "ListHooks", [&] {
      for (const auto& hook : engine_.Hooks()) *response->add_hooks() = ToSpec(hook);
      return Status::Ok();
    });
  }

  grpc::Status PutHook(grpc::ServerContext* context, const pb::PutHookRequest* request,
                       pb::PutHookResponse* response) override {
    return Serve(*context, "PutHook", [&]() -> Status {
      auto replaced = settings_.PutHook(FromSpec(request->hook()));
      if (!replaced.ok()) return replaced.status();
      response->set_replaced(*replaced);
      spdlog::info("hook admin: hook '{}' {}", request->hook().name(),
                   *replaced ? "replaced" : "added");
      return Status::Ok();
    });
  }

  grpc::Status DeleteHook(grpc::ServerContext* context, const pb::DeleteHookRequest* request,
                          pb::DeleteHookResponse*) override {
    return Serve(*context, "DeleteHook", [&]() -> Status {
      FLARE_RETURN_IF_ERROR(settings_.DeleteHook(request->name()));
      spdlog::info("hook admin: hook '{}' deleted", request->name());
      return Status::Ok();
    });
  }

  grpc::Status GetHookStats(grpc::ServerContext* context, const pb::GetHookStatsRequest* request,
                            pb::GetHookStatsResponse* response) override {
    return Serve(*context, "GetHookStats", [&] {
      std::set<std::string> wanted(request->names().begin(), request->names().end());
      for (const auto& [name, stats] : engine_.AllStats()) {
        if (wanted.empty() || wanted.count(name) > 0) {
          FillStatistics(name, *stats, *response->add_hooks());
        }
      }
      return Status::Ok();
    });
  }

  grpc::Status ListDeadLetters(grpc::ServerContext* context,
                               const pb::ListDeadLettersRequest* request,
                               pb::ListDeadLettersResponse* response) override {
    return Serve(*context, "ListDeadLetters", [&]() -> Status {
      if (request->limit() < 0 || request->limit() > 1000) {
        return InvalidArgument("limit must be within [0, 1000]");
      }
      auto letters = engine_.dead_letters().Recent(request->limit() == 0 ? 100 : request->limit());
      if (!letters.ok()) return letters.status();
      for (const auto& letter : *letters) {
        auto* out = response->add_letters();
        out->set_hook(letter.hook);
        out->set_point(letter.point);
        out->set_event_id(letter.event_id);
        out->set_tenant(letter.tenant);
        out->set_payload(letter.payload);
        out->set_attempts(letter.attempts);
        out->set_last_error(letter.last_error);
        out->set_failed_at_ms(letter.failed_at_ms);
      }
      return Status::Ok();
    });
  }

 private:
  template <typename Handler>
  grpc::Status Serve(grpc::ServerContext& context, const char* method, Handler handler) {
    grpc::Status allowed = rpc::RequireBearer(context, expected_, method);
    if (!allowed.ok()) return allowed;
    return rpc::ToGrpcStatus(handler(), context);
  }

  HookEngine& engine_;
  HookSettings& settings_;
  std::string expected_;
};

}  // namespace

RpcServicePtr NewHookAdminGrpcService(HookEngine& engine, HookSettings& settings,
                                      std::string token) {
  return RpcServicePtr(new HookAdminGrpcService(engine, settings, std::move(token)));
}

}  // namespace flare
