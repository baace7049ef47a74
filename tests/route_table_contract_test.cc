// RouteTableContract for the in-memory adapter.
#include "route_table_contract.h"
#include "adapters/memory/memory_route_table.h"

namespace flare {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Adapters, RouteTableContract,
    ::testing::Values(std::make_pair(std::string("memory"), RouteTableFactory([] {
                                       return std::make_shared<MemoryRouteTable>();
                                     }))),
    [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
