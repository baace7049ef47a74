#include "app/roles/roles.h"

#include <algorithm>

namespace flare {
namespace {

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string Names(bool runnable_only) {
  std::string out;
  for (const RoleInfo& role : KnownRoles()) {
    if (runnable_only && role.make == nullptr) continue;
    out += (out.empty() ? "" : ", ") + std::string(role.name);
  }
  return out;
}

Result<std::unique_ptr<Role>> StorageReader(RoleDeps& deps) { return MakeStorageReaderRole(deps); }
Result<std::unique_ptr<Role>> Session(RoleDeps& deps) { return MakeSessionRole(deps); }
Result<std::unique_ptr<Role>> PushServer(RoleDeps& deps) { return MakePushServerRole(deps); }

}  // namespace

const std::vector<RoleInfo>& KnownRoles() {
  static const std::vector<RoleInfo> roles = {
      {"core-gateway", 0, nullptr},
      {"signaling-gateway", 0, &MakeGatewayRole},
      {"signaling-online", 50051, &MakeSignalingOnlineRole},
      {"signaling-route", 50052, &MakeSignalingRouteRole},
      {"message-orchestrator", 50053, &MakeOrchestratorRole},
      {"hook-engine", 50059, &MakeHookEngineRole},
      {"storage-writer", 0, &MakeStorageWriterRole},
      {"storage-reader", 50054, &StorageReader},
      {"session", 50055, &Session},
      {"push-proxy", 50056, &MakePushProxyRole},
      {"push-server", 50057, &PushServer},
      {"push-worker", 50060, &MakePushWorkerRole},
      {"media", 50058, &MakeMediaRole},
  };
  return roles;
}

const RoleInfo* FindRole(std::string_view name) {
  for (const RoleInfo& role : KnownRoles()) {
    if (name == role.name) return &role;
  }
  return nullptr;
}

Result<std::vector<std::string>> ParseRoles(std::string_view list) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    names.push_back(Trimmed(list.substr(start, comma - start)));
    start = comma + 1;
  }
  if (names.size() == 1 && names[0] == "all") return std::vector<std::string>{};
  std::vector<std::string> roles;
  for (const std::string& name : names) {
    if (name == "all") {
      return InvalidArgument(
          "role 'all' (every service in one process) cannot be combined "
          "with other roles");
    }
    const RoleInfo* role = FindRole(name);
    if (role == nullptr) {
      return InvalidArgument("unknown role '" + name + "'; the roles are: all, " + Names(false));
    }
    if (role->make == nullptr) {
      return InvalidArgument("role '" + name +
                             "' cannot run as a process of its own yet (it runs inside "
                             "'all'); roles that can: " +
                             Names(true));
    }
    if (std::find(roles.begin(), roles.end(), name) == roles.end()) roles.push_back(name);
  }
  auto has = [&](const char* name) {
    return std::find(roles.begin(), roles.end(), name) != roles.end();
  };
  if (has("push-server") && !has("storage-writer")) {
    return InvalidArgument(
        "role 'push-server' runs on the commits of a storage writer: list it with "
        "'storage-writer' (--role storage-writer,push-server)");
  }
  return roles;
}

}  // namespace flare
