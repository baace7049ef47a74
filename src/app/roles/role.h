// One cluster role hosted by a role process (`flare serve --role`): the
// domain object of its seed module and the gRPC service that serves it.
// Each implemented role is a small file beside this one; role_server.cc
// hosts them.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "ports/store_factory.h"
#include "rpc/common/rpc_server.h"
#include "services/conversation_access.h"

namespace flare {

// What a process's roles share (opened once, whatever the roles).
struct RoleDeps {
  const Config& config;
  Stores& stores;
  ConversationAccess& access;
};

class Role {
 public:
  virtual ~Role() = default;
  // The gRPC service (owned by the role) and its full name, which is also
  // the name the health checking protocol answers for.
  virtual grpc::Service* service() = 0;
  virtual std::string grpc_service_name() const = 0;
};

std::unique_ptr<Role> MakeStorageReaderRole(RoleDeps& deps);
std::unique_ptr<Role> MakeSessionRole(RoleDeps& deps);

}  // namespace flare
