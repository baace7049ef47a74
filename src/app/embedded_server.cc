#include "app/embedded_server.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "adapters/grpc_hooks/grpc_hook_transport.h"
#include "app/core_gateway_wiring.h"
#include "app/health_http.h"
#include "app/hook_wiring.h"
#include "app/media_wiring.h"
#include "app/push_wiring.h"
#include "app/quic_wiring.h"
#include "app/wiring.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "ports/event_bus.h"
#include "ports/presence_bus.h"
#include "ports/route_table.h"
#include "ports/store_factory.h"
#include "rpc/common/rpc_server.h"
#include "rpc/hooks/hook_admin_grpc.h"
#include "services/conversation_access.h"
#include "services/core_gateway/command_waiter.h"
#include "services/hooks/hook_engine.h"
#include "services/hooks/hook_settings.h"
#include "services/hooks/login_gate.h"
#include "services/hooks/pre_send_ingest.h"
#include "services/media/media_references.h"
#include "services/message_orchestrator/bus_ingest.h"
#include "services/message_orchestrator/message_orchestrator.h"
#include "services/push/server/offline_handoff.h"
#include "services/push/server/push_server.h"
#include "services/session/session_service.h"
#include "services/signaling/gateway/gateway.h"
#include "services/signaling/gateway/transport.h"
#include "services/signaling/inbox/gateway_inbox.h"
#include "services/signaling/inbox/gateway_outbox.h"
#include "services/signaling/online/gateway_heartbeat.h"
#include "services/signaling/online/session_revocations.h"
#include "services/storage/reader/storage_reader.h"
#include "services/storage/writer/ingest_consumer.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {
namespace {

class Embedded final : public EmbeddedServer {
 public:
  // `event_bus` null: the orchestrator hands commands straight to the
  // writer's queue; else through the bus's ingest topic (kafka), and
  // outcomes and pushes for other processes' gateways go through the
  // gateway inbox (`inbox_producer` publishes them).
  Embedded(const Config& config, Stores stores, std::shared_ptr<RouteTable> routes,
           std::shared_ptr<PresenceBus> presence_bus, std::shared_ptr<EventBus> event_bus,
           std::unique_ptr<BusProducer> producer, std::unique_ptr<BusProducer> inbox_producer,
           std::string secret, LoginConflictPolicy login_conflict,
           std::unique_ptr<HookDeadLetters> dead_letters, std::shared_ptr<DeviceStore> devices,
           PushTaskBus push_tasks, std::shared_ptr<SettingsStore> settings_store,
           std::unique_ptr<MediaService> media)
      : config_(config),
        gateway_id_(NewInstanceId("gw")),
        stores_(std::move(stores)),
        devices_(std::move(devices)),
        push_tasks_(std::move(push_tasks)),
        routes_(std::move(routes)),
        presence_bus_(std::move(presence_bus)),
        heartbeat_(
            *routes_, gateway_id_, std::chrono::milliseconds(config.gateway_ttl_ms / 3),
            [this](RouteRepair repair) { gateway_.RegisterRoutesAgain(repair); },
            [this] { return gateway_.RoutesIncomplete(); },
            std::chrono::milliseconds(config.gateway_ttl_ms)),
        tokens_(std::move(secret), config.auth_public_keys_dir),
        server_metrics_(metrics_),
        blocking_(static_cast<int>(config.reader_threads),
                  static_cast<size_t>(config.reader_queue)),
        access_(*stores_.conversations),
        writer_(*stores_.messages, *stores_.conversations, clock_, WriterOptionsFrom(config),
                &server_metrics_),
        event_bus_(std::move(event_bus)),
        hook_dead_letters_(std::move(dead_letters)),
        hook_transport_(MakeHookTransport()),
        hooks_(
            *hook_transport_, *hook_dead_letters_, clock_, &metrics_,
            HookEngineOptions{.max_message_bytes = static_cast<size_t>(config.max_message_bytes)}),
        settings_store_(std::move(settings_store)),
        hook_settings_(*settings_store_, hooks_, clock_, HookSettingsOptionsFrom(config)),
        // Answers what the bus refused through the gateway (built below;
        // only its address is taken here).
        bus_ingest_(producer ? std::make_unique<BusIngest>(std::move(producer),
                                                           config.bus_ingest_topic, gateway_)
                             : nullptr),
        // Pre-send hooks run in front of the ingest; refusals are answered
        // through the gateway (only its address is taken here).
        pre_send_(hooks_, bus_ingest_ ? static_cast<MessageIngest&>(*bus_ingest_) : writer_,
                  gateway_),
        orchestrator_(access_, pre_send_, clock_,
                      {static_cast<size_t>(config.max_message_bytes), 128}),
        reader_(
            *stores_.messages, access_,
            {static_cast<int>(config.sync_default_limit), static_cast<int>(config.sync_max_limit),
             static_cast<size_t>(config.sync_max_page_bytes)},
            &fence_, stores_.search.get()),
        sessions_(*stores_.messages, *stores_.conversations,
                  {static_cast<int>(config.bootstrap_page_conversations),
                   static_cast<size_t>(config.sync_max_page_bytes)},
                  &fence_),
        presence_(*routes_, presence_bus_.get()),
        gateway_(GatewayOptionsFrom(config, std::move(login_conflict), gateway_id_),
                 GatewayDeps{tokens_, orchestrator_, reader_, sessions_, *routes_, presence_,
                             *stores_.conversations, *stores_.messages, access_, blocking_, clock_,
                             server_metrics_, &fence_, devices_.get(),
                             [this](const Principal& who) { OnLogin(who); },
                             [this](const Principal& who, std::vector<MessageRef> unacked) {
                               if (handoff_) {
                                 handoff_->OnPushesUnacked(who.tenant, who.user_id, who.device,
                                                           std::move(unacked));
                               }
                             },
                             &revocations_}),
        outbox_(inbox_producer ? std::make_unique<GatewayOutbox>(
                                     GatewayOutboxOptions{config.bus_gateway_topic, gateway_id_},
                                     gateway_, gateway_, std::move(inbox_producer),
                                     &server_metrics_.inbox_publish_failures)
                               : nullptr),
        push_(*routes_, gateway_,
              PushOptions{static_cast<size_t>(config.large_group_threshold), gateway_id_},
              outbox_.get()),
        post_send_(hooks_, push_),
        media_(std::move(media)),
        media_refs_(*media_, &post_send_) {
    // Checked by LoadConfig already; kept so a bad list can never go unnoticed.
    if (Status st = hooks_.Configure(config.hooks); !st.ok()) spdlog::error("{}", st.ToString());
    LoadSavedHooks(hook_settings_);  // the admin API's saved list, if any, replaces them
    if (config.push_offline_enabled == "true") {
      handoff_ = std::make_unique<OfflineHandoff>(
          OfflineHandoffDeps{*devices_, *routes_, *stores_.conversations, *stores_.messages,
                             *push_tasks_.producer, clock_, &metrics_},
          OfflineHandoffOptions{.topic = config.push_worker_tasks_topic,
                                .max_queued = static_cast<size_t>(config.push_offline_queue)});
      push_.SetOfflineSink(handoff_.get());
    }
    writer_.SetListener(&media_refs_);
    AttachGatewayHooks(hooks_, login_gate_, gateway_, presence_, clock_);
    writer_.SetReplies(outbox_ ? static_cast<CommandReplies*>(outbox_.get()) : &gateway_);
    gateway_.SetApiReplies(&http_waiter_);  // outcomes of the HTTP API's commands
    writer_.SetFence(&fence_);
    if (event_bus_) {
      IngestConsumerOptions o;
      o.topic = config.bus_ingest_topic;
      o.group = config.bus_writer_group;
      o.lag_records = &server_metrics_.ingest_lag_records;
      o.partitions_owned = &server_metrics_.ingest_partitions_owned;
      ingest_consumer_ =
          std::make_unique<IngestConsumer>(*event_bus_, *stores_.messages, writer_, clock_, o);
    }
    if (outbox_) {
      gateway_.SetOtherGateways(outbox_.get());
      GatewayInboxOptions o;
      o.topic = config.bus_gateway_topic;
      o.gateway_id = gateway_id_;
      o.join_timeout_ms = config.bus_kafka_startup_timeout_ms;
      inbox_ = std::make_unique<GatewayInbox>(*event_bus_, o, gateway_, gateway_, gateway_,
                                              &server_metrics_.inbox_records_in);
    }
    core_http_ = std::make_unique<CoreGatewayHttp>(
        config,
        CoreGatewayDeps{.tokens = tokens_,
                        .clock = clock_,
                        .messages = orchestrator_,
                        .waiter = http_waiter_,
                        .reader = reader_,
                        .sessions = sessions_,
                        .presence = presence_,
                        .gateway = &gateway_,
                        .hooks = &hooks_,
                        .hook_settings = &hook_settings_,
                        .push = nullptr,  // set in Start, once the push API runs
                        .media = media_.get(),
                        .metrics = &metrics_,
                        .ws_port = [this] { return static_cast<int>(ws_port()); },
                        .token_ttl_s = config.token_ttl_s},
        *settings_store_, &metrics_,
        [this](const HttpServerRequest& r) { return http_.Handle(r); });
    TransportOptions topts = GatewayTransportOptions(config);
    // server.ws_transport is one of the known names (the config checks it);
    // a name the factory still refuses fails Start.
    auto transport = MakeTransport(config.ws_transport, topts, &gateway_, core_http_->Handler());
    if (transport.ok()) {
      transport_ = std::move(transport).value();
    } else {
      transport_status_ = transport.status();
    }
  }

  ~Embedded() override {
    Shutdown();
    hook_settings_.Stop();
    hook_transport_->Close();  // no hook callback after this: they use members below
    hooks_.Stop();
  }

  Status Start() override {
    if (!transport_) return transport_status_;
    heartbeat_.Start();
    // push-worker on the push task bus (in process unless kafka): what the
    // hand-off publishes is sent to the providers and committed, so the
    // in-process bus does not keep it.
    auto push_worker =
        StartPushWorker(config_, *push_tasks_.bus, devices_.get(), clock_, &metrics_);
    if (!push_worker.ok()) {
      heartbeat_.Stop();
      return push_worker.status();
    }
    push_worker_ = std::move(push_worker).value();
    auto push_api =
        StartPushApi(config_, *devices_, *push_tasks_.producer,
                     NewLocalPushStats(push_worker_->worker()), clock_, config_.hook_admin_token);
    if (!push_api.ok()) {
      push_worker_->Stop();
      heartbeat_.Stop();
      return push_api.status();
    }
    push_api_ = std::move(push_api).value();
    core_http_->SetPush(&push_api_->api());
    if (handoff_) handoff_->Start();  // before the writer that feeds it
    media_->Start();                  // before the writer that queues references
    writer_.Start();
    hooks_.Start();
    hook_settings_.Start();
    Status st = ingest_consumer_ ? ingest_consumer_->Start() : Status::Ok();
    // Before any client can connect: replies to its first requests may
    // come from another process's writer.
    if (st.ok() && inbox_) st = inbox_->Start();
    if (st.ok()) st = transport_->Start();
    if (st.ok()) {
      auto quic = StartQuicListener(config_, &gateway_);  // nullptr when off
      st = quic.status();
      if (st.ok()) quic_ = std::move(quic).value();
      if (st.ok()) st = StartHookAdmin();
      if (!st.ok()) {
        if (quic_) quic_->Stop();
        transport_->Stop();
      }
    }
    if (!st.ok()) {
      // Undone in reverse, so nothing runs on members being destroyed.
      if (inbox_) inbox_->Stop();
      if (ingest_consumer_) ingest_consumer_->Stop();
      writer_.Stop();
      if (handoff_) handoff_->Stop();
      media_->Stop();
      push_api_->Stop();
      push_worker_->Stop();
      if (bus_ingest_) bus_ingest_->Close(0);
      heartbeat_.Stop();
      return st;
    }
    gateway_.StartTimer();
    started_ = true;
    return Status::Ok();
  }

  uint16_t ws_port() const override { return transport_ ? transport_->ws_port() : 0; }
  uint16_t quic_port() const override { return quic_ ? quic_->port() : 0; }
  uint16_t http_port() const override { return transport_ ? transport_->http_port() : 0; }
  int hook_admin_port() const override { return hook_admin_ ? hook_admin_->port() : 0; }
  MediaService& media() override { return *media_; }

  void Shutdown() override {
    if (!started_ || draining_.exchange(true)) return;
    spdlog::info("draining: stop accepting, flush the writer, close connections");
    transport_->StopAccepting();
    if (quic_) quic_->StopAccepting();
    core_http_->Drain();  // new API calls get 503; those in flight finish below
    if (hook_admin_) hook_admin_->Shutdown(1'000);
    if (bus_ingest_) {
      // Sends already taken reach the stream; their owner answers them.
      if (Status st = bus_ingest_->Flush(5'000); !st.ok()) spdlog::warn("{}", st.ToString());
    }
    // Nothing is published after this, and what never reached the stream is
    // answered now, while the gateway is still there.
    if (bus_ingest_) bus_ingest_->Close(1'000);
    // Leaving the group commits what is durable; the rest is redelivered.
    if (ingest_consumer_) ingest_consumer_->Stop();
    writer_.Stop();  // commits and acks everything already queued
    // Hands what the writer's last batches queued to the bus.
    if (handoff_) handoff_->Stop();
    media_->Stop();     // records the references the last batches queued
    push_api_->Stop();  // no scheduled push is sent after this
    if (Status st = push_tasks_.producer->Flush(1'000); !st.ok()) spdlog::warn("{}", st.ToString());
    push_worker_->Stop();  // what it has not sent is dead-lettered
    // Hooks stay open until here, so no send skips its pre-send hooks while
    // draining; a send whose hook answers after the writer stopped is
    // answered UNAVAILABLE (clients retry it elsewhere). Post-send calls in
    // flight fail and are queued again, then dead-lettered below.
    hook_settings_.Stop();
    hook_transport_->Close();
    // Acks and pushes for other gateways reach the bus (bounded wait).
    if (outbox_) outbox_->Close(1'000);
    hooks_.Stop();  // post-send deliveries still queued become dead letters
    gateway_.DrainAll("server shutting down; reconnect");
    // Give close frames a moment to reach clients; bounded so shutdown never hangs.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (gateway_.SessionCount() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (inbox_) inbox_->Stop();
    gateway_.StopTimer();
    core_http_->Stop();  // pending API calls are answered before the transport goes
    if (quic_) quic_->Stop();
    transport_->Stop();
    blocking_.Stop();
    heartbeat_.Stop();
    spdlog::info("stopped");
  }

 private:
  // A login (on a login lane): the device is back, so its coalesced
  // conversations notify again.
  void OnLogin(const Principal& who) {
    if (handoff_) handoff_->OnDeviceOnline(who.tenant, who.user_id, who.device);
  }

  // The admin APIs, hooks.v1.HookAdminService and push.v1.PushService, on
  // hook_admin.address:port, when a token is set (every call carries it).
  Status StartHookAdmin() {
    if (config_.hook_admin_token.empty()) return Status::Ok();
    hook_admin_service_ = NewHookAdminGrpcService(hooks_, hook_settings_, config_.hook_admin_token);
    std::string address =
        config_.hook_admin_address + ":" + std::to_string(config_.hook_admin_port);
    auto server = RpcServer::Start(address, {hook_admin_service_.get(), push_api_->service()});
    if (!server.ok()) return server.status();
    hook_admin_ = std::move(server).value();
    spdlog::info("admin API (hooks.v1.HookAdminService, push.v1.PushService) on {}:{}",
                 config_.hook_admin_address, hook_admin_->port());
    return Status::Ok();
  }

  Config config_;
  // New for every start: routes a previous, killed process left in a shared
  // route table carry the old id and are never delivered to.
  std::string gateway_id_;
  Stores stores_;
  std::shared_ptr<DeviceStore> devices_;
  PushTaskBus push_tasks_;  // the in-process bus, or the cluster's (kafka)
  std::shared_ptr<RouteTable> routes_;
  std::shared_ptr<PresenceBus> presence_bus_;  // outlives presence_, which listens on it
  GatewayHeartbeat heartbeat_;
  TokenSigner tokens_;
  Metrics metrics_;
  ServerMetrics server_metrics_;
  const Clock& clock_ = SystemClock::Instance();
  ThreadPool blocking_;
  ConversationAccess access_;
  DurableFence fence_;  // before the writer and readers that use it
  StorageWriter writer_;
  std::shared_ptr<EventBus> event_bus_;
  std::unique_ptr<HookDeadLetters> hook_dead_letters_;
  std::unique_ptr<HookTransport> hook_transport_;
  HookEngine hooks_;
  std::shared_ptr<SettingsStore> settings_store_;
  HookSettings hook_settings_;                // the admin API's saved hook list, applied to hooks_
  HookLoginGate login_gate_{hooks_, clock_};  // pre_login hooks, asked by gateway_ (built below)
  SessionRevocations revocations_{*settings_store_, clock_};  // asked by gateway_ at each login
  // The HTTP API's commands wait here for their outcomes, which come back
  // to gateway_ (this process's gateway id) and are handed here.
  CommandWaiter http_waiter_{gateway_id_, clock_, 2 * config_.http_api_request_timeout_ms};
  std::unique_ptr<BusIngest> bus_ingest_;
  std::unique_ptr<IngestConsumer> ingest_consumer_;  // reports to writer_, stopped before it
  PreSendIngest pre_send_;
  MessageOrchestrator orchestrator_;
  LocalStorageReader reader_;
  LocalSessionService sessions_;
  PresenceHub presence_;
  Gateway gateway_;
  std::unique_ptr<GatewayOutbox> outbox_;  // kafka only: replies and pushes for other gateways
  PushServer push_;
  PostSendListener post_send_;  // post-send hooks, then push_
  std::unique_ptr<MediaService> media_;
  MediaReferenceListener media_refs_;             // the writer's listener: counts, then post_send_
  std::unique_ptr<OfflineHandoff> handoff_;       // push.offline_enabled; fed by push_
  std::unique_ptr<PushWorkerStack> push_worker_;  // consumes what handoff_ publishes
  std::unique_ptr<PushApiStack> push_api_;        // publishes beside handoff_; served below
  std::unique_ptr<Transport> transport_;
  Status transport_status_ = Status::Ok();  // why there is no transport_
  std::unique_ptr<QuicListener> quic_;      // server.quic_port; null when off
  std::unique_ptr<GatewayInbox> inbox_;     // kafka only; hands to gateway_, so destroyed first
  bool started_ = false;
  std::atomic<bool> draining_{false};
  HealthHttp http_{metrics_, config_.metrics_token, draining_};
  // After transport_: destroyed before it (its pending calls hold connections).
  std::unique_ptr<CoreGatewayHttp> core_http_;
  // Last, so destroyed first: its calls use hooks_.
  RpcServicePtr hook_admin_service_;
  std::unique_ptr<RpcServer> hook_admin_;  // stopped before the service it serves is destroyed
};

}  // namespace

Result<std::unique_ptr<EmbeddedServer>> EmbeddedServer::Create(const Config& config) {
  auto login_conflict = LoginConflictPolicy::Parse(config.login_conflict);
  if (!login_conflict.ok()) return login_conflict.status();
  auto secret = ResolveJwtSecret(config);
  if (!secret.ok()) return secret.status();
  auto stores = OpenStores(config);
  if (!stores.ok()) return stores.status();
  auto routes = OpenRouteTable(config);
  if (!routes.ok()) return routes.status();
  auto presence_bus = OpenPresenceBus(config);
  if (!presence_bus.ok()) return presence_bus.status();
  std::shared_ptr<EventBus> bus;
  std::unique_ptr<BusProducer> producer, inbox_producer;
  // In one process the in-process bus would only add a copy per command:
  // commands go straight to the writer's queue unless the bus is Kafka.
  if (config.bus_backend != "inprocess") {
    auto opened = OpenClusterBus(config);
    if (!opened.ok()) return opened.status();
    bus = std::move(opened).value();
    auto made = bus->CreateProducer();
    if (!made.ok()) return made.status();
    producer = std::move(made).value();
    // A queue of its own: replies piling up for a slow broker do not take
    // the ingest stream's room, nor the other way round.
    auto inbox = bus->CreateProducer();
    if (!inbox.ok()) return inbox.status();
    inbox_producer = std::move(inbox).value();
  }
  auto dead_letters = OpenHookDeadLetters(config);
  if (!dead_letters.ok()) return dead_letters.status();
  auto devices = OpenDeviceStore(config);
  if (!devices.ok()) return devices.status();
  auto push_tasks = OpenPushTaskBus(bus, config.push_worker_tasks_topic);
  if (!push_tasks.ok()) return push_tasks.status();
  auto settings_store = OpenSettingsStore(config);
  if (!settings_store.ok()) return settings_store.status();
  auto media = OpenMediaService(config, SystemClock::Instance(), *secret, *settings_store);
  if (!media.ok()) return media.status();
  return std::unique_ptr<EmbeddedServer>(new Embedded(
      config, std::move(stores).value(), std::move(routes).value(), std::move(presence_bus).value(),
      std::move(bus), std::move(producer), std::move(inbox_producer), *secret,
      std::move(login_conflict).value(), std::move(dead_letters).value(),
      std::move(devices).value(), std::move(push_tasks).value(), std::move(settings_store).value(),
      std::move(media).value()));
}

}  // namespace flare
