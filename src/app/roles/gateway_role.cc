// signaling-gateway as a process: holds client WebSocket connections and
// turns their frames into calls on the other roles over gRPC (sends,
// group and message operations and cursors to message-orchestrator on one
// batched stream; sync to storage-reader; bootstrap to session). Routes
// and presence live in the shared route table (Redis); outcomes and
// pushes reach it through its gateway inbox, whoever stored them: the
// inbox topic (bus.gateway_delivery = "bus") or its delivery service on
// the role server ("grpc"; announced in the gateway directory).
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "app/core_gateway_wiring.h"
#include "app/hook_wiring.h"
#include "app/media_wiring.h"
#include "app/roles/role.h"
#include "app/wiring.h"
#include "common/thread_pool.h"
#include "ports/store_factory.h"
#include "rpc/gateway_delivery/gateway_delivery_grpc.h"
#include "rpc/message_orchestrator/message_orchestrator_grpc.h"
#include "rpc/push/push_scheduler_grpc.h"
#include "rpc/session/session_grpc.h"
#include "rpc/storage_reader/storage_reader_grpc.h"
#include "services/core_gateway/command_waiter.h"
#include "services/hooks/login_gate.h"
#include "services/signaling/gateway/gateway.h"
#include "services/signaling/inbox/gateway_inbox.h"
#include "services/signaling/inbox/gateway_outbox.h"
#include "services/signaling/online/gateway_announcer.h"
#include "services/signaling/online/gateway_heartbeat.h"
#include "services/signaling/online/session_revocations.h"

namespace flare {
namespace {

// The orchestrator client answers refused submissions here; the gateway
// it forwards to is built after the client.
class RepliesToGateway final : public CommandReplies {
 public:
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    gateway_->OnCommandDone(to, outcome);
  }
  void Set(Gateway* gateway) { gateway_ = gateway; }

 private:
  // Set before the client can answer anything (nothing is queued before
  // the gateway exists to take a frame).
  Gateway* gateway_ = nullptr;
};

// The delivery service exists before the gateway (the gRPC server starts
// first); it hands records on once the gateway is built. None come before:
// senders find this gateway only once it is announced, after that.
class ToGateway final : public CommandReplies, public PushDelivery, public SessionKicks {
 public:
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    if (Gateway* g = gateway_.load()) g->OnCommandDone(to, outcome);
  }
  void Deliver(std::span<const SessionPushes> pushes) override {
    if (Gateway* g = gateway_.load()) g->Deliver(pushes);
  }
  void Notify(const std::vector<uint64_t>& session_ids,
              const std::shared_ptr<const SharedFrame>& frame) override {
    if (Gateway* g = gateway_.load()) g->Notify(session_ids, frame);
  }
  void KickSession(uint64_t session_id, const std::string& reason) override {
    if (Gateway* g = gateway_.load()) g->KickSession(session_id, reason);
  }
  void Set(Gateway* gateway) { gateway_.store(gateway); }

 private:
  std::atomic<Gateway*> gateway_{nullptr};
};

// What the gateway role adds to the gateway beside the pipeline: hooks,
// push devices, and where logins and unacked pushes are reported (null:
// nowhere).
struct GatewayExtras {
  std::unique_ptr<HookStack> hooks;
  // Revoked sessions (read at each login), API keys, media limits.
  std::shared_ptr<SettingsStore> settings;
  std::shared_ptr<DeviceStore> devices;
  std::unique_ptr<DeviceActivitySink> activity;  // to every push-server
};

class GatewayRole final : public Role {
 public:
  GatewayRole(RoleDeps& deps, LoginConflictPolicy login_conflict, std::string secret,
              std::shared_ptr<RouteTable> routes, std::shared_ptr<PresenceBus> presence_bus,
              std::shared_ptr<EventBus> bus, std::shared_ptr<GatewayDirectory> directory,
              GatewayExtras extras)
      : deps_(deps),
        extras_(std::move(extras)),
        login_gate_(extras_.hooks->engine(), SystemClock::Instance()),
        id_(NewInstanceId("gw")),
        login_conflict_(std::move(login_conflict)),
        secret_(secret),
        tokens_(std::move(secret), deps.config.auth_public_keys_dir),
        routes_(std::move(routes)),
        presence_bus_(std::move(presence_bus)),
        bus_(std::move(bus)),
        // Started by Start(), after Build() made gateway_.
        heartbeat_(
            *routes_, id_, std::chrono::milliseconds(deps.config.gateway_ttl_ms / 3),
            [this](RouteRepair repair) { gateway_->RegisterRoutesAgain(repair); },
            [this] { return gateway_->RoutesIncomplete(); },
            std::chrono::milliseconds(deps.config.gateway_ttl_ms)),
        blocking_(static_cast<int>(deps.config.reader_threads),
                  static_cast<size_t>(deps.config.reader_queue)),
        presence_(*routes_, presence_bus_.get()),
        directory_(std::move(directory)) {
    if (directory_) {
      dispatcher_ =
          std::make_unique<InboxDispatcher>(id_, to_gateway_, to_gateway_, to_gateway_,
                                            &deps.shared.server_metrics().inbox_records_in);
      service_ = NewGatewayDeliveryGrpcService(*dispatcher_);
    }
  }

  ~GatewayRole() override {
    Stop();
    blocking_.Stop();
    // The transport has stopped, so no frame calls the client any more;
    // what it still holds is answered to the (drained) gateway, which
    // must outlive it.
    messages_.reset();
    // extras_ goes last, after ~Gateway stopped the login lanes and timer
    // that report to extras_.activity (whose destructor sends what is left).
  }

  ConnectionHandler* connection_handler() override { return gateway_.get(); }
  HttpHandler http_handler(CoreGatewayHttp::Health health) override {
    if (!deps_.shared.Hosts("core-gateway") || !gateway_) return nullptr;
    return BuildHttpApi(std::move(health));
  }
  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override {
    return service_ ? "signaling.gateway.v1.GatewayDeliveryService" : "";
  }
  bool discoverable() const override { return false; }

  Status Start() override {
    if (Status st = Build(); !st.ok()) return st;
    heartbeat_.Start();
    // Before any client connects: replies to its first requests come
    // through the inbox.
    if (inbox_) {
      if (Status st = inbox_->Start(); !st.ok()) {
        heartbeat_.Stop();
        return st;
      }
    }
    if (directory_) {
      std::string address =
          deps_.shared.AdvertisedHost() + ":" + std::to_string(deps_.shared.rpc_port());
      announcer_ = std::make_unique<GatewayAnnouncer>(
          *directory_, id_, address, std::chrono::milliseconds(deps_.config.gateway_ttl_ms));
      // Not fatal: the announcer tries again every third of the TTL.
      (void)announcer_->Start();
    }
    gateway_->StartTimer();
    started_ = true;
    spdlog::info("signaling-gateway {} started", id_);
    return Status::Ok();
  }

  // Before the gRPC server stops (its delivery service still brings the
  // clients' outcomes and pushes): every client is told to go elsewhere
  // and its connection closed.
  void Drain() override {
    if (!started_) return;
    if (http_api_) http_api_->Drain();  // new API calls get 503
    gateway_->DrainAll("server shutting down; reconnect");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (gateway_->SessionCount() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void Stop() override {
    if (!started_) return;
    Drain();  // a no-op after the process's drain; not so after a failed start
    started_ = false;
    if (announcer_) announcer_->Stop();
    if (http_api_) http_api_->Stop();  // pending API calls are answered (503)
    // Kicks for other gateways from logins during the drain went out before this.
    outbox_->Close(1'000);
    if (inbox_) inbox_->Stop();
    gateway_->StopTimer();
    heartbeat_.Stop();
    extras_.hooks->Close();  // post_offline of the drained clients: queued ones are dead-lettered
    // The read pool stops with the role, after the transport: a connection
    // still closing may queue work on it until then.
  }

 private:
  // The clients of the other roles resolve through discovery, where this
  // process's own roles are registered by now.
  Status Build() {
    RoleShared& shared = deps_.shared;
    auto orchestrator = shared.ChannelTo("message-orchestrator");
    if (!orchestrator.ok()) return orchestrator.status();
    auto reader = shared.ChannelTo("storage-reader");
    if (!reader.ok()) return reader.status();
    auto session = shared.ChannelTo("session");
    if (!session.ok()) return session.status();
    auto outbox_transport = shared.NewInboxTransport();
    if (!outbox_transport.ok()) return outbox_transport.status();
    const Config& c = deps_.config;
    MessageOrchestratorClientOptions submit;
    submit.linger_us = c.rpc_submit_linger_us;
    messages_ = NewMessageOrchestratorGrpcClient(
        *orchestrator, RpcOptionsFor(c, RpcService::kMessageOrchestrator), replies_, submit);
    reader_ = NewStorageReaderGrpcClient(*reader, RpcOptionsFor(c, RpcService::kStorageReader));
    sessions_ = NewSessionGrpcClient(*session, RpcOptionsFor(c, RpcService::kSession));
    ServerMetrics& metrics = shared.server_metrics();
    revocations_ = std::make_unique<SessionRevocations>(*extras_.settings, SystemClock::Instance());
    gateway_ = std::make_unique<Gateway>(
        GatewayOptionsFrom(c, login_conflict_, id_),
        // No DurableFence: read counts come from a store another process's
        // writer committed to before it published.
        GatewayDeps{tokens_, *messages_, *reader_, *sessions_, *routes_, presence_,
                    *deps_.stores.conversations, *deps_.stores.messages, deps_.access, blocking_,
                    SystemClock::Instance(), metrics, nullptr, extras_.devices.get(),
                    [this](const Principal& who) { OnLogin(who); },
                    [this](const Principal& who, std::vector<MessageRef> unacked) {
                      if (!extras_.activity) return;
                      extras_.activity->OnPushesUnacked(who.tenant, who.user_id, who.device,
                                                        std::move(unacked));
                    },
                    revocations_.get()});
    AttachGatewayHooks(extras_.hooks->engine(), login_gate_, *gateway_, presence_,
                       SystemClock::Instance());
    replies_.Set(gateway_.get());
    to_gateway_.Set(gateway_.get());
    outbox_ =
        std::make_unique<GatewayOutbox>(GatewayOutboxOptions{c.bus_gateway_topic, id_}, *gateway_,
                                        *gateway_, std::move(outbox_transport).value());
    gateway_->SetOtherGateways(outbox_.get());
    if (directory_) return Status::Ok();  // records come through the delivery service
    GatewayInboxOptions o;
    o.topic = c.bus_gateway_topic;
    o.gateway_id = id_;
    o.join_timeout_ms = c.bus_kafka_startup_timeout_ms;
    inbox_ = std::make_unique<GatewayInbox>(*bus_, o, *gateway_, *gateway_, *gateway_,
                                            &metrics.inbox_records_in);
    return Status::Ok();
  }

  // The core-gateway's HTTP API on this process's HTTP port: its sends are
  // answered to this gateway, which hands them to waiter_. Media are read
  // and written on the shared media backends (media.backend, the store's
  // database) as the media role does; this process deletes no orphans
  // (no writer of a cluster counts references yet). Push routes answer 503
  // here (push-proxy serves them over gRPC).
  HttpHandler BuildHttpApi(CoreGatewayHttp::Health health) {
    settings_ = extras_.settings;
    auto media = OpenMediaService(deps_.config, SystemClock::Instance(), secret_, settings_,
                                  /*delete_orphans=*/false);
    if (media.ok())
      media_ = std::move(media).value();
    else
      spdlog::error("core-gateway: media are not served: {}", media.status().ToString());
    waiter_ = std::make_unique<CommandWaiter>(id_, SystemClock::Instance(),
                                              2 * deps_.config.http_api_request_timeout_ms);
    gateway_->SetApiReplies(waiter_.get());
    CoreGatewayDeps api{.tokens = tokens_,
                        .clock = SystemClock::Instance(),
                        .messages = *messages_,
                        .waiter = *waiter_,
                        .reader = *reader_,
                        .sessions = *sessions_,
                        .presence = presence_,
                        .gateway = gateway_.get(),
                        .hooks = &extras_.hooks->engine(),
                        .hook_settings = &extras_.hooks->settings(),
                        .media = media_.get(),
                        .metrics = &deps_.shared.metrics(),
                        .ws_port = [port = deps_.config.ws_port] { return static_cast<int>(port); },
                        .token_ttl_s = deps_.config.token_ttl_s};
    http_api_ = std::make_unique<CoreGatewayHttp>(deps_.config, std::move(api), *settings_,
                                                  &deps_.shared.metrics(), std::move(health));
    spdlog::info("core-gateway: HTTP API served with signaling-gateway {}", id_);
    return http_api_->Handler();
  }

  // A login (on a login lane): push-servers let the device's coalesced
  // conversations notify again.
  void OnLogin(const Principal& who) {
    if (extras_.activity) extras_.activity->OnDeviceOnline(who.tenant, who.user_id, who.device);
  }

  RoleDeps& deps_;
  GatewayExtras extras_;
  HookLoginGate login_gate_;  // pre_login hooks on extras_.hooks
  const std::string id_;
  LoginConflictPolicy login_conflict_;
  std::string secret_;  // presigned media URLs are keyed from it
  TokenSigner tokens_;
  std::shared_ptr<RouteTable> routes_;
  std::shared_ptr<PresenceBus> presence_bus_;  // outlives presence_, which listens on it
  std::shared_ptr<EventBus> bus_;
  GatewayHeartbeat heartbeat_;
  ThreadPool blocking_;
  PresenceHub presence_;
  RepliesToGateway replies_;
  std::unique_ptr<MessageOrchestratorClient> messages_;
  std::unique_ptr<StorageReader> reader_;
  std::unique_ptr<SessionService> sessions_;
  std::unique_ptr<SessionRevocations> revocations_;  // over extras_.settings; asked by gateway_
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<GatewayOutbox> outbox_;
  std::unique_ptr<GatewayInbox> inbox_;  // hands to gateway_, so destroyed first
  // bus.gateway_delivery = "grpc" only:
  std::shared_ptr<GatewayDirectory> directory_;
  ToGateway to_gateway_;
  std::unique_ptr<InboxDispatcher> dispatcher_;
  RpcServicePtr service_;  // stopped (the gRPC server) before gateway_ is destroyed
  std::unique_ptr<GatewayAnnouncer> announcer_;
  // core-gateway in this process: the HTTP API and what its commands wait on.
  std::shared_ptr<SettingsStore> settings_;
  std::unique_ptr<CommandWaiter> waiter_;
  std::unique_ptr<MediaService> media_;  // not started: no references to count here
  std::unique_ptr<CoreGatewayHttp> http_api_;
  bool started_ = false;
};

Result<GatewayExtras> OpenGatewayExtras(RoleDeps& deps) {
  GatewayExtras extras;
  auto hooks = HookStack::Open(deps.config, &deps.shared.metrics());
  if (!hooks.ok()) return hooks.status();
  extras.hooks = std::move(hooks).value();
  auto devices = OpenDeviceStore(deps.config);
  if (!devices.ok()) return devices.status();
  extras.devices = std::move(devices).value();
  auto settings = OpenSettingsStore(deps.config);
  if (!settings.ok()) return settings.status();
  extras.settings = std::move(settings).value();
  if (deps.config.push_offline_enabled == "true") {
    auto registry = deps.shared.Discovery();
    if (!registry.ok()) return registry.status();
    extras.activity = NewPushSchedulerClient(*registry, RpcOptions{}, PushSchedulerClientOptions{},
                                             &deps.shared.metrics());
  }
  return extras;
}

class CoreGatewayMarker final : public Role {};

}  // namespace

Result<std::unique_ptr<Role>> MakeCoreGatewayRole(RoleDeps&) {
  return std::unique_ptr<Role>(std::make_unique<CoreGatewayMarker>());
}

Result<std::unique_ptr<Role>> MakeGatewayRole(RoleDeps& deps) {
  auto login_conflict = LoginConflictPolicy::Parse(deps.config.login_conflict);
  if (!login_conflict.ok()) return login_conflict.status();
  auto secret = ResolveJwtSecret(deps.config);
  if (!secret.ok()) return secret.status();
  auto routes = deps.shared.Routes();
  if (!routes.ok()) return routes.status();
  auto presence = deps.shared.Presence();
  if (!presence.ok()) return presence.status();
  auto bus = deps.shared.Bus();
  if (!bus.ok()) return bus.status();
  std::shared_ptr<GatewayDirectory> directory;
  if (deps.config.bus_gateway_delivery == "grpc") {
    auto opened = deps.shared.Directory();
    if (!opened.ok()) return opened.status();
    directory = *opened;
  }
  auto extras = OpenGatewayExtras(deps);
  if (!extras.ok()) return extras.status();
  return std::unique_ptr<Role>(new GatewayRole(deps, std::move(login_conflict).value(), *secret,
                                               *routes, *presence, *bus, std::move(directory),
                                               std::move(extras).value()));
}

}  // namespace flare
