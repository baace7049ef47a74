#include "rpc/hooks/hook_admin_grpc.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <set>

#include "hooks/v1/hooks.grpc.pb.h"
#include "rpc/common/call_metadata.h"
#include "rpc/common/server_call.h"

namespace flare {
namespace {

namespace pb = ::hooks::v1;

HookConfig FromSpec(const pb::HookSpec& spec) {
  HookConfig h;
  h.name = spec.name();
  h.point = spec.point();
  h.url = spec.url();
  h.secret = spec.secret();
  h.tenants.assign(spec.tenants().begin(), spec.tenants().end());
  h.conversation_types.assign(spec.conversation_types().begin(), spec.conversation_types().end());
  h.message_types.assign(spec.message_types().begin(), spec.message_types().end());
  if (spec.has_priority()) h.priority = spec.priority();
  if (spec.has_timeout_ms()) h.timeout_ms = spec.timeout_ms();
  if (spec.has_failure_policy()) h.failure_policy = spec.failure_policy();
  if (spec.has_max_concurrency()) h.max_concurrency = spec.max_concurrency();
  if (spec.has_max_attempts()) h.max_attempts = spec.max_attempts();
  if (spec.has_backoff_ms()) h.backoff_ms = spec.backoff_ms();
  return h;
}

// Without the secret: an admin reading the list need not learn it.
pb::HookSpec ToSpec(const HookConfig& h) {
  pb::HookSpec spec;
  spec.set_name(h.name);
  spec.set_point(h.point);
  spec.set_url(h.url);
  for (const auto& t : h.tenants) spec.add_tenants(t);
  for (const auto& t : h.conversation_types) spec.add_conversation_types(t);
  for (const auto& t : h.message_types) spec.add_message_types(t);
  spec.set_priority(h.priority);
  spec.set_timeout_ms(h.timeout_ms);
  spec.set_failure_policy(h.failure_policy);
  spec.set_max_concurrency(h.max_concurrency);
  spec.set_max_attempts(h.max_attempts);
  spec.set_backoff_ms(h.backoff_ms);
  return spec;
}

void FillStatistics(const std::string& name, const HookStats& stats, pb::HookStatistics& out) {
  out.set_name(name);
  out.set_calls(stats.calls.Value());
  out.set_failures(stats.failures.Value());
  out.set_timeouts(stats.timeouts.Value());
  out.set_rejections(stats.rejections.Value());
  out.set_dead_letters(stats.dead_letters.Value());
  out.set_dropped(stats.dropped.Value());
  const auto& bounds = stats.latency.bounds();
  auto counts = stats.latency.BucketCounts();
  int64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    auto* bucket = out.add_latency();
    bucket->set_le_seconds(i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity());
    bucket->set_count(cumulative);
  }
  out.set_latency_sum_seconds(stats.latency.Sum());
  out.set_latency_count(stats.latency.Count());
}

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
