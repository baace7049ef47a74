// push-server's offline hand-off: for each stored message, the registered
// push devices of its recipients that have no live route get a PushTask on
// the event bus (topic flare.im.push.tasks, keyed tenant/user), which
// push-worker delivers to APNs, FCM or a webhook.
//
// PushServer calls it on the storage writer's thread, which must never
// wait for it: calls only queue (a bounded queue; what does not fit is
// dropped and counted), and one thread of the hand-off does the device and
// preference lookups, the badge counts and the publishing.
//
// A device with a live connection that did not ack pushes in time (its
// gateway reports them, OnPushesUnacked) is notified of those messages as
// if it were offline.
//
// Coalescing: one notification per (device, conversation) while the device
// stays offline. A device that comes back (its route seen in a batch, or a
// login reported by OnDeviceOnline) or a read cursor that moves to or past
// the notified seq makes the next message notify again.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "ports/conversation_store.h"
#include "ports/device_store.h"
#include "ports/event_bus.h"
#include "ports/message_store.h"
#include "ports/route_table.h"
#include "services/storage/writer/storage_writer.h"

namespace push::v1 {
class PushTask;
}

namespace flare {

// What the hand-off needs of one stored message (copied on the writer
// thread before push-server moves the message into its push frame).
struct OfflineMessage {
  std::string tenant;
  std::string conversation_id;
  int64_t seq = 0;
  std::string server_msg_id;
  std::string sender;
  std::string sender_device;
  int type = 0;       // ::flare::client::v1::MessageType
  std::string text;   // the text content, cut to an excerpt
  Audience audience;  // every member (1:1: both users)
};

// A stored message by its place (a push a device did not ack).
struct MessageRef {
  std::string conversation_id;
  int64_t seq = 0;
};

// Routes by tenant '\n' user: each user looked up has an entry (empty when
// offline); users without one are looked up by the hand-off.
using RoutesByUser = std::unordered_map<std::string, std::vector<DeviceRoute>>;

struct OfflineBatch {
  std::vector<OfflineMessage> messages;
  RoutesByUser routes;  // what push-server already looked up for the batch
};

// What push-server tells the hand-off; both calls return at once.
class OfflineSink {
 public:
  virtual ~OfflineSink() = default;
  virtual void OnCommitted(OfflineBatch batch) = 0;
  virtual void OnReadMoved(const std::vector<ReadMove>& moves) = 0;
};

// What gateways report to the hand-off: the hand-off itself in one
// process, a client of the push-servers in a cluster. Both return at once.
class DeviceActivitySink {
 public:
  virtual ~DeviceActivitySink() = default;
  // A login: the device's coalesced conversations notify again.
  virtual void OnDeviceOnline(const std::string& tenant, const std::string& user_id,
                              const std::string& device_id) = 0;
  // Pushes the device's connection did not ack in time (the gateway
  // reports each at most once): notified as if the device were offline.
  virtual void OnPushesUnacked(const std::string& tenant, const std::string& user_id,
                               const std::string& device_id, std::vector<MessageRef> messages) = 0;
};

// The bus topic of push tasks (push-worker consumes it).
inline constexpr const char* kPushTasksTopic = "flare.im.push.tasks";

struct OfflineHandoffOptions {
  std::string topic = kPushTasksTopic;
  size_t max_queued = 1024;  // batches, read moves and logins waiting for the thread
  // Coalescing entries kept; past it they are forgotten (the cost: a second
  // notification for a conversation, never a missed one).
  size_t max_coalesced = 1'000'000;
  // Stop hands on what is queued for at most this long (on the Clock);
  // what is left then is dropped and counted. Checked between events: the
  // one being handled when it passes still runs to its end.
  int64_t stop_deadline_ms = 5'000;
};

struct OfflineHandoffDeps {
  DeviceStore& devices;
  RouteTable& routes;                // for users push-server did not look up
  ConversationStore& conversations;  // badge: the user's conversations and cursors
  MessageStore& messages;            // badge: unread counts
  BusProducer& producer;
  const Clock& clock;  // mute expiry, do-not-disturb hours, task times
  Metrics* metrics = nullptr;
};

class OfflineHandoff final : public OfflineSink, public DeviceActivitySink {
 public:
  OfflineHandoff(OfflineHandoffDeps deps, OfflineHandoffOptions options);
  ~OfflineHandoff() override;

  void Start();
  // Handles what is queued (until options.stop_deadline_ms), then stops
  // the thread.
  void Stop();
  bool stopping() const;

  void OnCommitted(OfflineBatch batch) override;
  void OnReadMoved(const std::vector<ReadMove>& moves) override;
  // A device logged in (on any thread): its coalesced conversations notify again.
  void OnDeviceOnline(const std::string& tenant, const std::string& user_id,
                      const std::string& device_id) override;
  void OnPushesUnacked(const std::string& tenant, const std::string& user_id,
                       const std::string& device_id, std::vector<MessageRef> messages) override;

  // True once everything queued before the call is handled (tests).
  bool WaitIdle(int64_t timeout_ms);

 private:
  struct DeviceOnline {
    std::string tenant, user_id, device_id;
    uint64_t after = 0;  // events queued before it (applied once they are handled)
  };
  struct Unacked {
    std::string tenant, user_id, device_id;
    std::vector<MessageRef> messages;
  };
  using Event = std::variant<OfflineBatch, std::vector<ReadMove>, Unacked>;
  // Per user (tenant '\n' user): device -> conversation -> notified seq.
  struct Notified {
    int64_t seq = 0;
    // Notified for a push the connected device did not ack: seeing the
    // device's route again does not end it (the device was "online" all
    // along); a login or a read past `seq` does.
    bool while_connected = false;
  };
  using Coalesced = std::unordered_map<
      std::string, std::unordered_map<std::string, std::unordered_map<std::string, Notified>>>;
  struct BatchState;  // lookups cached for one batch (offline_handoff.cc)

  void Enqueue(Event event);
  void Run();
  bool DropWhatIsLeftAfterTheDeadline();  // with mu_ held
  void Handle(OfflineBatch& batch);
  void HandleMessages(OfflineBatch& batch);
  void Handle(const std::vector<ReadMove>& moves);
  void Handle(const DeviceOnline& online);
  void Handle(const Unacked& unacked);
  void LoadDevices(BatchState& state);
  void LookupMissingRoutes(BatchState& state, RoutesByUser& routes);
  void NotifyDevices(const OfflineMessage& m, const std::string& user, BatchState& state);
  bool Suppressed(const OfflineMessage& m, const std::string& user, BatchState& state);
  std::optional<int64_t> Badge(const std::string& tenant, const std::string& user,
                               BatchState& state);
  // Whether the producer took the task (its storing is reported later).
  bool Publish(const push::v1::PushTask& task);
  void Remember(const std::string& user_key, const std::string& device,
                const std::string& conversation, Notified notified);

  OfflineHandoffDeps deps_;
  OfflineHandoffOptions options_;
  SystemRandom random_;  // task ids; used on the hand-off thread only
  Counter* dropped_ = nullptr;
  Counter* tasks_ = nullptr;
  Counter* messages_ = nullptr;
  Counter* publish_failures_ = nullptr;
  Counter* logins_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  // Logins are many and cheap to apply: kept apart, so a login storm never
  // fills the queue of batches; each applied once the events queued before
  // it are handled.
  std::vector<DeviceOnline> online_;
  uint64_t enqueued_ = 0;      // events queued, ever
  uint64_t dequeued_ = 0;      // events taken by the thread, ever
  size_t unacked_queued_ = 0;  // Unacked events in queue_ (at most a quarter of it)
  bool stopping_ = false;
  int64_t stop_deadline_ms_ = 0;  // Clock::MonotonicMs, once stopping
  bool busy_ = false;
  std::thread thread_;

  // Owned by the hand-off thread.
  Coalesced coalesced_;
  size_t coalesced_entries_ = 0;
};

// The hand-off's view of a stored message (no audience set).
OfflineMessage ToOfflineMessage(const std::string& tenant, const Message& m);

// Whether `now_ms` falls in the window (in the window's local time).
bool InDoNotDisturb(const DndWindow& window, int64_t now_ms);
// Title and body of the notification for `m`: the sender, and the text's
// excerpt or a placeholder such as "[image]" for other types.
std::pair<std::string, std::string> NotificationText(const OfflineMessage& m);
// `text` cut to at most `max_bytes` without splitting a UTF-8 sequence
// ("…" appended when cut).
std::string Excerpt(const std::string& text, size_t max_bytes);

}  // namespace flare
