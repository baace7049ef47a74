// PresenceBusContract for the in-process adapter.
#include "presence_bus_contract.h"
#include "adapters/memory/memory_presence_bus.h"

namespace flare {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Adapters, PresenceBusContract,
    ::testing::Values(std::make_pair(std::string("memory"), PresenceBusFactory([] {
                                       auto bus = std::make_shared<MemoryPresenceBus>();
                                       return BusPair(bus, bus);
                                     }))),
    [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
