// Push providers registered by name ("apns", "fcm", "webhook"), built from
// `[push.providers.<name>]` (every tenant) and `[push.tenants.<tenant>.
// <name>]` (that tenant's keys over the default ones), all on one HTTP loop.
#include <functional>
#include <map>
#include <utility>

#include "adapters/apns/apns_provider.h"
#include "adapters/fcm/fcm_provider.h"
#include "adapters/push_webhook/push_webhook_provider.h"
#include "common/config.h"
#include "ports/push_provider.h"

namespace flare {
namespace {

using Factory = std::function<Result<std::unique_ptr<PushProvider>>(
    const std::string& where, const PushProviderSettings&, std::shared_ptr<CurlLoop>,
    const Clock&)>;

const std::map<std::string, Factory>& Factories() {
  static const std::map<std::string, Factory> factories = {
      {"apns",
       [](const std::string& where, const PushProviderSettings& s, std::shared_ptr<CurlLoop> loop,
          const Clock& clock) -> Result<std::unique_ptr<PushProvider>> {
         auto options = ApnsOptionsFromSettings(where, s);
         if (!options.ok()) return options.status();
         auto made = MakeApnsProvider(std::move(options).value(), std::move(loop), clock);
         if (!made.ok())
           return InvalidArgument("config key '" + where + "': " + made.status().message());
         return made;
       }},
      {"fcm",
       [](const std::string& where, const PushProviderSettings& s, std::shared_ptr<CurlLoop> loop,
          const Clock& clock) -> Result<std::unique_ptr<PushProvider>> {
         auto options = FcmOptionsFromSettings(where, s);
         if (!options.ok()) return options.status();
         auto made = MakeFcmProvider(std::move(options).value(), std::move(loop), clock);
         if (!made.ok())
           return InvalidArgument("config key '" + where + "': " + made.status().message());
         return made;
       }},
      {"webhook",
       [](const std::string& where, const PushProviderSettings& s, std::shared_ptr<CurlLoop> loop,
          const Clock&) -> Result<std::unique_ptr<PushProvider>> {
         auto options = PushWebhookOptionsFromSettings(where, s);
         if (!options.ok()) return options.status();
         return MakePushWebhookProvider(std::move(options).value(), std::move(loop));
       }},
  };
  return factories;
}

class Directory final : public PushProviderDirectory {
 public:
  explicit Directory(std::shared_ptr<CurlLoop> loop) : loop_(std::move(loop)) {}
  ~Directory() override { Close(); }

  void Add(const std::string& tenant, const std::string& name,
           std::unique_ptr<PushProvider> provider) {
    providers_[{tenant, name}] = std::move(provider);
  }

  Choice Find(const std::string& tenant, const std::string& platform) override {
    std::string name = PushProviderForPlatform(platform);
    for (const std::string& t : {tenant, std::string(PushProvidersConfig::kDefaultTenant)}) {
      if (auto it = providers_.find({t, name}); it != providers_.end()) {
        return {it->second.get(), name};
      }
    }
    return {nullptr, name};
  }

  void Close() override {
    for (auto& [key, provider] : providers_) provider->Close();
    loop_->Close();
  }

 private:
  std::shared_ptr<CurlLoop> loop_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<PushProvider>> providers_;
};

}  // namespace

Result<std::unique_ptr<PushProviderDirectory>> OpenPushProviders(const Config& config,
                                                                 const Clock& clock) {
  const PushProvidersConfig& providers = config.push_providers;
  auto loop = MakeCurlLoop();
  auto directory = std::make_unique<Directory>(loop);
  for (const auto& [name, factory] : Factories()) {
    std::vector<std::string> tenants = providers.TenantsOverriding(name);
    tenants.push_back(PushProvidersConfig::kDefaultTenant);
    for (const std::string& tenant : tenants) {
      auto settings = providers.For(tenant, name);
      if (!settings) continue;
      std::string where = tenant == PushProvidersConfig::kDefaultTenant
                              ? "push.providers." + name
                              : "push.tenants." + tenant + "." + name;
      auto made = factory(where, *settings, loop, clock);
      if (!made.ok()) return made.status();
      directory->Add(tenant, name, std::move(made).value());
    }
  }
  return std::unique_ptr<PushProviderDirectory>(std::move(directory));
}

}  // namespace flare
