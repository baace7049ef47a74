#include "adapters/push_webhook/push_webhook_provider.h"

#include <nlohmann/json.hpp>

#include "adapters/webhook/webhook_signature.h"

namespace flare {
namespace {

using Kind = PushSendResult::Kind;

PushSendResult Classify(const HttpResponse& response) {
  PushSendResult r;
  if (!response.transport.ok()) {
    r.reason = response.transport.message();
    return r;  // retriable
  }
  int s = response.status;
  r.http_status = s;
  r.retry_after = RetryAfter(response);
  r.reason = "HTTP " + std::to_string(s);
  if (s >= 200 && s <= 299) {
    r.kind = Kind::kDelivered;
  } else if (s == 410) {
    r.kind = Kind::kTokenInvalid;
  } else if (s == 429 || s >= 500) {
    r.kind = Kind::kRetriable;
  } else {
    r.kind = Kind::kRejected;
  }
  return r;
}

class PushWebhookProvider final : public PushProvider {
 public:
  PushWebhookProvider(PushWebhookOptions options, std::shared_ptr<CurlLoop> loop)
      : options_(std::move(options)), loop_(std::move(loop)) {}
  ~PushWebhookProvider() override { Close(); }

  void Send(const PushNotification& n, Deadline deadline, PushSendCallback done) override {
    HttpRequest request;
    request.url = options_.url;
    request.ca_file = options_.ca_file;
    request.deadline = deadline;
    request.body = PushWebhookBody(n);
    std::string timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    request.headers = {"content-type: application/json",
                       std::string(kWebhookTimestampHeader) + ": " + timestamp,
                       std::string(kWebhookSignatureHeader) + ": " +
                           WebhookSignature(options_.secret, timestamp, request.body)};
    loop_->Submit(this, std::move(request),
                  [done = std::move(done)](HttpResponse r) { done(Classify(r)); });
  }

  void Close() override { loop_->Cancel(this); }

 private:
  PushWebhookOptions options_;
  std::shared_ptr<CurlLoop> loop_;
};

}  // namespace

std::string PushWebhookBody(const PushNotification& n) {
  nlohmann::json body = {{"task_id", n.task_id},
                         {"tenant", n.tenant},
                         {"user_id", n.user_id},
                         {"device_id", n.device_id},
                         {"platform", n.platform},
                         {"token", n.token},
                         {"title", n.title},
                         {"body", n.body},
                         {"collapse_id", n.collapse_id},
                         {"data", n.data}};
  if (n.badge) body["badge"] = *n.badge;
  return body.dump();
}

Result<PushWebhookOptions> PushWebhookOptionsFromSettings(const std::string& where,
                                                          const PushProviderSettings& settings) {
  PushWebhookOptions o;
  auto get = [&](const char* key) {
    auto it = settings.find(key);
    return it == settings.end() ? std::string() : it->second;
  };
  o.url = get("url");
  o.secret = get("secret");
  o.ca_file = get("ca_file");
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    return InvalidArgument("config key '" + where + ".url' must be an http:// or https:// URL");
  }
  if (o.secret.empty()) return InvalidArgument("config key '" + where + ".secret' is required");
  return o;
}

std::unique_ptr<PushProvider> MakePushWebhookProvider(PushWebhookOptions options,
                                                      std::shared_ptr<CurlLoop> loop) {
  return std::make_unique<PushWebhookProvider>(std::move(options), std::move(loop));
}

}  // namespace flare
