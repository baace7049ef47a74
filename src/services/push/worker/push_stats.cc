#include "services/push/worker/push_stats.h"

namespace flare {
namespace {

void Bump(PushStats& s, PushEvent event) {
  switch (event) {
    case PushEvent::kSent:
      ++s.sent;
      break;
    case PushEvent::kFailed:
      ++s.failed;
      break;
    case PushEvent::kRetried:
      ++s.retried;
      break;
    case PushEvent::kDeadLettered:
      ++s.dead_lettered;
      break;
    case PushEvent::kTokenDisabled:
      ++s.token_disabled;
      break;
  }
}

}  // namespace

std::shared_ptr<PushStatsBook> PushStatsBook::Make(Metrics* metrics) {
  auto book = std::make_shared<PushStatsBook>();
  if (metrics != nullptr) metrics->AddCollector([book] { return book->Render(); });
  return book;
}

void PushStatsBook::Count(const std::string& tenant, const std::string& provider, PushEvent event) {
  std::lock_guard lock(mu_);
  Bump(by_tenant_[tenant], event);
  Bump(by_provider_[provider], event);
}

PushStats PushStatsBook::OfTenant(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = by_tenant_.find(tenant);
  return it == by_tenant_.end() ? PushStats{} : it->second;
}

std::map<std::string, PushStats> PushStatsBook::ByTenant() const {
  std::lock_guard lock(mu_);
  return by_tenant_;
}

PushStats PushStatsBook::OfProvider(const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = by_provider_.find(provider);
  return it == by_provider_.end() ? PushStats{} : it->second;
}

std::string PushStatsBook::Render() const {
  struct Family {
    const char* name;
    const char* help;
    int64_t PushStats::*field;
  };
  static const Family kFamilies[] = {
      {"flare_push_sent_total", "Push notifications a provider accepted", &PushStats::sent},
      {"flare_push_failed_total", "Push attempts that were not delivered", &PushStats::failed},
      {"flare_push_retried_total", "Push attempts scheduled again after a retriable failure",
       &PushStats::retried},
      {"flare_push_dead_letters_total", "Push tasks given up and dead-lettered",
       &PushStats::dead_lettered},
      {"flare_push_tokens_disabled_total", "Push tokens disabled after a provider refused them",
       &PushStats::token_disabled},
  };
  std::lock_guard lock(mu_);
  if (by_provider_.empty()) return "";
  std::string out;
  for (const auto& f : kFamilies) {
    out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " counter\n";
    for (const auto& [provider, stats] : by_provider_) {
      out += std::string(f.name) + "{provider=\"" + provider + "\"} " +
             std::to_string(stats.*f.field) + "\n";
    }
  }
  return out;
}

}  // namespace flare
