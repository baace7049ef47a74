#include "adapters/apns/apns_provider.h"

#include <charconv>
#include <mutex>

#include <nlohmann/json.hpp>

#include "adapters/http/jwt_signer.h"

namespace flare {
namespace {

std::string ReasonOf(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("reason") && parsed["reason"].is_string()) {
    return parsed["reason"].get<std::string>();
  }
  return "";
}

Result<int64_t> IntSetting(const std::string& where, const std::string& key,
                           const std::string& value, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < min || v > max) {
    return InvalidArgument("config key '" + where + "." + key + "': '" + value +
                           "' is not an integer in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
  }
  return v;
}

// The provider token, signed again when it is token_refresh_s old or APNs
// said it expired.
class ProviderToken {
 public:
  ProviderToken(std::unique_ptr<JwtSigner> signer, const ApnsOptions& options, const Clock& clock)
      : signer_(std::move(signer)), options_(options), clock_(clock) {}

  Result<std::string> Get() {
    std::lock_guard lock(mu_);
    int64_t now_s = clock_.NowMs() / 1000;
    if (token_.empty() || now_s - issued_s_ >= options_.token_refresh_s) {
      auto signed_token =
          signer_->Sign({{"kid", options_.key_id}}, {{"iss", options_.team_id}, {"iat", now_s}});
      if (!signed_token.ok()) return signed_token.status();
      token_ = std::move(signed_token).value();
      issued_s_ = now_s;
    }
    return token_;
  }
  // APNs refused `token` as expired: the next Get signs a new one (once,
  // however many sends in flight carried it).
  void Expired(const std::string& token) {
    std::lock_guard lock(mu_);
    if (token == token_) token_.clear();
  }

 private:
  std::unique_ptr<JwtSigner> signer_;
  const ApnsOptions& options_;
  const Clock& clock_;
  std::mutex mu_;
  std::string token_;
  int64_t issued_s_ = 0;
};

class ApnsProvider final : public PushProvider {
 public:
  ApnsProvider(ApnsOptions options, std::unique_ptr<JwtSigner> signer,
               std::shared_ptr<CurlLoop> loop, const Clock& clock)
      : options_(std::move(options)),
        token_(std::move(signer), options_, clock),
        loop_(std::move(loop)) {}
  ~ApnsProvider() override { Close(); }

  void Send(const PushNotification& n, Deadline deadline, PushSendCallback done) override {
    auto jwt = token_.Get();
    if (!jwt.ok())
      return done({PushSendResult::Kind::kRejected, 0, jwt.status().message(), std::nullopt});
    HttpRequest request;
    request.url = options_.endpoint + "/3/device/" + n.token;
    request.version = HttpRequest::Version::kHttp2;
    request.ca_file = options_.ca_file;
    request.deadline = deadline;
    request.body = ApnsPayload(n);
    request.headers = {"content-type: application/json", "authorization: bearer " + jwt.value(),
                       "apns-topic: " + options_.topic, "apns-push-type: alert",
                       "apns-priority: " + std::to_string(options_.priority)};
    if (!n.collapse_id.empty()) request.headers.push_back("apns-collapse-id: " + n.collapse_id);
    loop_->Submit(this, std::move(request),
                  [this, used = jwt.value(), done = std::move(done)](HttpResponse response) {
                    PushSendResult result = ClassifyApnsResponse(response);
                    if (result.reason == "ExpiredProviderToken") token_.Expired(used);
                    done(std::move(result));
                  });
  }

  void Close() override { loop_->Cancel(this); }

 private:
  ApnsOptions options_;
  ProviderToken token_;
  std::shared_ptr<CurlLoop> loop_;
};

}  // namespace

std::string ApnsPayload(const PushNotification& n) {
  nlohmann::json payload = nlohmann::json::object();
  for (const auto& [k, v] : n.data) {
    if (k != "aps") payload[k] = v;  // "aps" is Apple's own dictionary
  }
  nlohmann::json aps = {{"alert", {{"title", n.title}, {"body", n.body}}}};
  if (n.badge) aps["badge"] = *n.badge;
  payload["aps"] = std::move(aps);
  return payload.dump();
}

PushSendResult ClassifyApnsResponse(const HttpResponse& response) {
  using Kind = PushSendResult::Kind;
  PushSendResult r;
  if (!response.transport.ok()) {
    r.kind = Kind::kRetriable;
    r.reason = response.transport.message();
    return r;
  }
  r.http_status = response.status;
  r.reason = ReasonOf(response.body);
  r.retry_after = RetryAfter(response);
  int s = response.status;
  bool token_gone = r.reason == "BadDeviceToken" || r.reason == "DeviceTokenNotForTopic" ||
                    r.reason == "Unregistered";
  if (s == 200) {
    r.kind = Kind::kDelivered;
  } else if (s == 410 || (s == 400 && token_gone)) {
    r.kind = Kind::kTokenInvalid;
  } else if (s == 429 || s >= 500 || (s == 403 && r.reason == "ExpiredProviderToken")) {
    r.kind = Kind::kRetriable;
  } else {
    r.kind = Kind::kRejected;
  }
  if (r.reason.empty()) r.reason = "HTTP " + std::to_string(s);
  return r;
}

Result<ApnsOptions> ApnsOptionsFromSettings(const std::string& where,
                                            const PushProviderSettings& settings) {
  ApnsOptions o;
  auto get = [&](const char* key) {
    auto it = settings.find(key);
    return it == settings.end() ? std::string() : it->second;
  };
  for (const char* key : {"team_id", "key_id", "key_file", "topic"}) {
    if (get(key).empty()) {
      return InvalidArgument("config key '" + where + "." + key + "' is required");
    }
  }
  if (!get("endpoint").empty()) o.endpoint = get("endpoint");
  if (o.endpoint.rfind("https://", 0) != 0 && o.endpoint.rfind("http://", 0) != 0) {
    return InvalidArgument("config key '" + where +
                           ".endpoint' must start with https:// or http://");
  }
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  o.team_id = get("team_id");
  o.key_id = get("key_id");
  o.topic = get("topic");
  o.ca_file = get("ca_file");
  auto pem = ReadWholeFile(get("key_file"));
  if (!pem.ok()) {
    return InvalidArgument("config key '" + where + ".key_file': " + pem.status().message());
  }
  o.key_pem = std::move(pem).value();
  if (!get("priority").empty()) {
    auto p = IntSetting(where, "priority", get("priority"), 1, 10);
    if (!p.ok()) return p.status();
    o.priority = static_cast<int>(p.value());
  }
  if (!get("token_refresh_s").empty()) {
    // At least 20 minutes (APNs' limit on refreshing), below an hour (its expiry).
    auto t = IntSetting(where, "token_refresh_s", get("token_refresh_s"), 1'200, 3'540);
    if (!t.ok()) return t.status();
    o.token_refresh_s = t.value();
  }
  return o;
}

Result<std::unique_ptr<PushProvider>> MakeApnsProvider(ApnsOptions options,
                                                       std::shared_ptr<CurlLoop> loop,
                                                       const Clock& clock) {
  auto signer = JwtSigner::FromPem(options.key_pem, JwtSigner::Algorithm::kES256);
  if (!signer.ok()) return InvalidArgument("APNs key: " + signer.status().message());
  return std::unique_ptr<PushProvider>(
      new ApnsProvider(std::move(options), std::move(signer).value(), std::move(loop), clock));
}

}  // namespace flare
