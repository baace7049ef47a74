// The contract every EventBus adapter passes (the TEST_Ps are in
// event_bus_contract.cc). A test binary instantiates EventBusContract with
// a name and a factory per adapter; the factory returns a bus with no
// topics (plus whatever must outlive it, such as a mock cluster).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ports/event_bus.h"

namespace flare {

struct EventBusUnderTest {
  std::shared_ptr<void> keepalive;  // destroyed after `bus` (declared first)
  std::shared_ptr<EventBus> bus;
  // Creates a topic the way the backend's tests must (the Kafka mock
  // cluster's own call); defaults to bus->CreateTopic.
  std::function<Status(const std::string&, int32_t)> create_topic;
  // Longest a group change may take (Kafka rebalances take seconds).
  std::chrono::milliseconds group_deadline{5'000};
};

using EventBusFactory = std::function<EventBusUnderTest()>;

// Test names show the backend's name, not the factory's bytes.
inline void PrintTo(const EventBusFactory&, std::ostream* os) { *os << "factory"; }

// Listens on behalf of one consumer: what it owns now, every callback, and
// whether a record ever came from a partition it did not own.
class RecordingListener : public BusConsumerListener {
 public:
  void OnAssigned(const std::vector<int32_t>& partitions) override;
  void OnRevoked(const std::vector<int32_t>& partitions) override;

  std::set<int32_t> owned;
  int assigned_calls = 0;
  int revoked_calls = 0;
  int epoch = 0;  // bumped by every callback
  std::vector<int32_t> ever_assigned;
  // Set when the consumer should commit everything it processed when a
  // partition is revoked (the pattern the storage writer follows).
  std::function<void(const std::vector<int32_t>&)> before_revoke;
};

// One consumer of a group with its listener.
struct TestConsumer {
  RecordingListener listener;  // outlives the consumer, which calls it on close
  std::unique_ptr<BusConsumer> consumer;
  std::vector<BusRecord> received;
  // Records that arrived from a partition the listener did not own.
  int unowned_records = 0;
  // Polls once; appends what arrived to `received`, returns it.
  std::vector<BusRecord> PollOnce(int timeout_ms = 50, int max_records = 500);
};

class EventBusContract : public ::testing::TestWithParam<std::pair<std::string, EventBusFactory>> {
 protected:
  void SetUp() override {
    under_test_ = GetParam().second();
    ASSERT_NE(under_test_.bus, nullptr) << "backend " << GetParam().first;
    if (!under_test_.create_topic) {
      auto bus = under_test_.bus;
      under_test_.create_topic = [bus](const std::string& name, int32_t partitions) {
        return bus->CreateTopic(name, partitions);
      };
    }
  }

  EventBus& bus() { return *under_test_.bus; }
  void CreateTopic(const std::string& name, int32_t partitions) {
    Status st = under_test_.create_topic(name, partitions);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  std::unique_ptr<TestConsumer> Join(const std::string& group, const std::string& topic,
                                     const ConsumerOptions& options = {});
  // Publishes "key:seq" values for `keys` keys × `per_key` records,
  // interleaved, numbering each key's records from `first_seq`; waits until
  // every done reported OK. Returns the values in publish order.
  std::vector<std::string> PublishKeyed(BusProducer& producer, const std::string& topic, int keys,
                                        int per_key, int first_seq = 0);
  // Polls every consumer until `done()` or the deadline; false on timeout.
  bool PollUntil(const std::vector<TestConsumer*>& consumers, const std::function<bool()>& done,
                 std::chrono::milliseconds deadline);

  EventBusUnderTest under_test_;
};

// "k3:17" -> {"k3", 17}.
std::pair<std::string, int> ParseKeyed(const std::string& value);

}  // namespace flare
