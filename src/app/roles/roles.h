// The cluster roles by the seed's module names (docs/architecture.md,
// "Embedded vs. cluster"), and the parsing of `flare serve --role` /
// server.roles.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/roles/role.h"
#include "common/result.h"

namespace flare {

struct RoleInfo {
  const char* name;  // the seed's module name
  int seed_port;     // its gRPC port in the seed; 0 = none (HTTP/WebSocket or a consumer)
  // Builds the role; null while the role cannot run as a process yet.
  Result<std::unique_ptr<Role>> (*make)(RoleDeps& deps);
};

// Every role of the seed, in the seed's order.
const std::vector<RoleInfo>& KnownRoles();
const RoleInfo* FindRole(std::string_view name);

// "all" -> an empty list (embedded: every service in one process); else
// the comma-separated names, each known and runnable as a process, without
// repeats. An unknown name, a role not runnable yet, "all" among other
// names or push-server without storage-writer (the push-server's fan-out
// runs on the writer's commits) is an InvalidArgument that names it.
Result<std::vector<std::string>> ParseRoles(std::string_view list);

}  // namespace flare
