// Storage writers over the in-process bus (the Kafka run is in
// fenced_writer_kafkatest.cc).
#include "adapters/inprocess/inprocess_event_bus.h"
#include "fenced_writer_contract.h"

namespace flare {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Adapters, FencedWriters,
    ::testing::Values(std::make_pair(std::string("inprocess"), EventBusFactory([] {
                                       EventBusUnderTest t;
                                       t.bus = std::make_shared<InProcessEventBus>();
                                       return t;
                                     }))),
    [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
