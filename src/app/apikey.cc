#include <cstdio>

#include "app/commands.h"
#include "app/config_loader.h"
#include "common/clock.h"
#include "ports/store_factory.h"
#include "services/core_gateway/api_keys.h"

namespace flare {
namespace {

int Fail(const Status& st) {
  std::fprintf(stderr, "flare apikey: %s\n", st.message().c_str());
  return 2;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

int RunApiKey(const ApiKeyFlags& flags) {
  auto config = LoadCommandConfig(flags.common);
  if (!config.ok()) return Fail(config.status());
  auto store = OpenSettingsStore(*config);
  if (!store.ok()) return Fail(store.status());
  ApiKeys keys(**store, SystemClock::Instance(), 0);
  if (flags.action == "create") {
    auto created = keys.Create(flags.tenant.empty() ? "default" : flags.tenant, flags.scopes);
    if (!created.ok()) return Fail(created.status());
    std::printf("id:     %s\ntenant: %s\nscopes: %s\nkey:    %s\n", created->record.id.c_str(),
                created->record.tenant.c_str(), Join(created->record.scopes).c_str(),
                created->key.c_str());
    std::fprintf(stderr, "flare apikey: the key is shown once; only its hash is kept\n");
    return 0;
  }
  if (flags.action == "revoke") {
    if (flags.id.empty()) return Fail(InvalidArgument("--id is required"));
    if (Status st = keys.Revoke(flags.id); !st.ok()) return Fail(st);
    std::printf("revoked %s\n", flags.id.c_str());
    return 0;
  }
  auto list = keys.List(flags.tenant);
  if (!list.ok()) return Fail(list.status());
  for (const auto& k : *list) {
    std::printf("%s  %-16s  %-8s  %s\n", k.id.c_str(), k.tenant.c_str(),
                k.revoked_ms ? "revoked" : "active", Join(k.scopes).c_str());
  }
  return 0;
}

}  // namespace flare
