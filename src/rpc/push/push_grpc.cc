#include "rpc/push/push_grpc.h"

#include "push/v1/push_service.grpc.pb.h"
#include "rpc/common/server_call.h"

namespace flare {
namespace {

namespace pv = ::push::v1;

class PushGrpcService final : public pv::PushService::Service {
 public:
  PushGrpcService(PushApi& api, const std::string& token)
      : api_(api), expected_(token.empty() ? "" : "Bearer " + token) {}

  grpc::Status Push(grpc::ServerContext* context, const pv::PushRequest* request,
                    pv::PushResponse* response) override {
    return Serve(*context, "Push", response,
                 [&](const std::string& tenant) { return api_.Push(tenant, *request); });
  }

  grpc::Status CancelScheduled(grpc::ServerContext* context,
                               const pv::CancelScheduledRequest* request,
                               pv::CancelScheduledResponse*) override {
    return Run(*context, "CancelScheduled", [&](const std::string& tenant) {
      return api_.CancelScheduled(tenant, request->push_id());
    });
  }

  grpc::Status ListScheduled(grpc::ServerContext* context, const pv::ListScheduledRequest*,
                             pv::ListScheduledResponse* response) override {
    return Run(*context, "ListScheduled", [&](const std::string& tenant) {
      auto pushes = api_.ListScheduled(tenant);
      if (!pushes.ok()) return pushes.status();
      for (auto& p : *pushes) response->add_pushes()->Swap(&p);
      return Status::Ok();
    });
  }

  grpc::Status PutTemplate(grpc::ServerContext* context, const pv::PushTemplate* request,
                           pv::PutTemplateResponse*) override {
    return Run(*context, "PutTemplate",
               [&](const std::string& tenant) { return api_.PutTemplate(tenant, *request); });
  }

  grpc::Status DeleteTemplate(grpc::ServerContext* context,
                              const pv::DeleteTemplateRequest* request,
                              pv::DeleteTemplateResponse*) override {
    return Run(*context, "DeleteTemplate", [&](const std::string& tenant) {
      return api_.DeleteTemplate(tenant, request->name());
    });
  }

  grpc::Status ListTemplates(grpc::ServerContext* context, const pv::ListTemplatesRequest*,
                             pv::ListTemplatesResponse* response) override {
    return Run(*context, "ListTemplates", [&](const std::string& tenant) {
      auto templates = api_.ListTemplates(tenant);
      if (!templates.ok()) return templates.status();
      for (auto& t : *templates) response->add_templates()->Swap(&t);
      return Status::Ok();
    });
  }

  grpc::Status RegisterDevice(grpc::ServerContext* context,
                              const pv::RegisterDeviceRequest* request,
                              pv::RegisterDeviceResponse*) override {
    return Run(*context, "RegisterDevice",
               [&](const std::string& tenant) { return api_.RegisterDevice(tenant, *request); });
  }

  grpc::Status UnregisterDevice(grpc::ServerContext* context,
                                const pv::UnregisterDeviceRequest* request,
                                pv::UnregisterDeviceResponse*) override {
    return Run(*context, "UnregisterDevice",
               [&](const std::string& tenant) { return api_.UnregisterDevice(tenant, *request); });
  }

  grpc::Status Stats(grpc::ServerContext* context, const pv::StatsRequest*,
                     pv::PushStats* response) override {
    return Serve(*context, "Stats", response,
                 [&](const std::string& tenant) { return api_.Stats(tenant); });
  }

 private:
  template <typename Handler>
  grpc::Status Run(grpc::ServerContext& context, const std::string& method, Handler handler) {
    std::string full = "push.v1.PushService/" + method;
    if (!expected_.empty()) {
      grpc::Status allowed = rpc::RequireBearer(context, expected_, full);
      if (!allowed.ok()) return allowed;
    }
    return rpc::ServeUnary(context, full,
                           [&](const Principal& who) { return handler(who.tenant); });
  }

  template <typename Response, typename Handler>
  grpc::Status Serve(grpc::ServerContext& context, const std::string& method, Response* response,
                     Handler handler) {
    return Run(context, method, [&](const std::string& tenant) {
      auto result = handler(tenant);
      if (!result.ok()) return result.status();
      response->Swap(&*result);
      return Status::Ok();
    });
  }

  PushApi& api_;
  const std::string expected_;
};

}  // namespace

RpcServicePtr NewPushGrpcService(PushApi& api, const std::string& token) {
  return RpcServicePtr(new PushGrpcService(api, token));
}

}  // namespace flare
