#include "adapters/fcm/fcm_provider.h"

#include <curl/curl.h>

#include <deque>
#include <mutex>

#include <nlohmann/json.hpp>

#include "adapters/http/jwt_signer.h"

namespace flare {
namespace {

using Kind = PushSendResult::Kind;
constexpr int64_t kTokenMarginMs = 60'000;  // a token is renewed this long before it expires
constexpr auto kTokenFetchTimeout = std::chrono::seconds(10);

std::string FormEscape(const std::string& s) {
  char* escaped = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = escaped == nullptr ? "" : escaped;
  curl_free(escaped);
  return out;
}

bool MentionsToken(const nlohmann::json& error) {
  if (error.value("message", "").find("registration token") != std::string::npos) return true;
  for (const auto& detail : error.value("details", nlohmann::json::array())) {
    for (const auto& v : detail.value("fieldViolations", nlohmann::json::array())) {
      if (v.value("field", "") == "message.token") return true;
    }
  }
  return false;
}

class FcmProvider final : public PushProvider {
 public:
  FcmProvider(FcmOptions options, std::unique_ptr<JwtSigner> signer, std::shared_ptr<CurlLoop> loop,
              const Clock& clock)
      : options_(std::move(options)),
        signer_(std::move(signer)),
        loop_(std::move(loop)),
        clock_(clock) {}
  ~FcmProvider() override { Close(); }

  void Send(const PushNotification& n, Deadline deadline, PushSendCallback done) override {
    std::unique_lock lock(mu_);
    if (closed_) {
      lock.unlock();
      return done({Kind::kRetriable, 0, "FCM provider closed", std::nullopt});
    }
    if (!access_token_.empty() && clock_.NowMs() < expires_ms_ - kTokenMarginMs) {
      std::string token = access_token_;
      lock.unlock();
      return SendWith(token, n, deadline, std::move(done));
    }
    waiting_.push_back({n, deadline, std::move(done)});
    if (fetching_) return;
    fetching_ = true;
    lock.unlock();
    FetchToken();
  }

  void Close() override {
    std::deque<Waiting> left;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      left.swap(waiting_);
    }
    for (auto& w : left) w.done({Kind::kRetriable, 0, "FCM provider closed", std::nullopt});
    loop_->Cancel(this);
  }

 private:
  struct Waiting {
    PushNotification notification;
    Deadline deadline;
    PushSendCallback done;
  };

  void FetchToken();
  void OnToken(const HttpResponse& response);
  void SendWith(const std::string& token, const PushNotification& n, Deadline deadline,
                PushSendCallback done);

  FcmOptions options_;
  std::unique_ptr<JwtSigner> signer_;
  std::shared_ptr<CurlLoop> loop_;
  const Clock& clock_;
  std::mutex mu_;
  std::string access_token_;
  int64_t expires_ms_ = 0;
  bool fetching_ = false;
  bool closed_ = false;
  std::deque<Waiting> waiting_;
};

void FcmProvider::FetchToken() {
  int64_t now_s = clock_.NowMs() / 1000;
  auto assertion = signer_->Sign({}, {{"iss", options_.client_email},
                                      {"scope", kFcmScope},
                                      {"aud", options_.token_uri},
                                      {"iat", now_s},
                                      {"exp", now_s + 3600}});
  if (!assertion.ok()) {
    HttpResponse failed;
    failed.transport = assertion.status();
    return OnToken(failed);
  }
  HttpRequest request;
  request.url = options_.token_uri;
  request.ca_file = options_.ca_file;
  request.deadline = std::chrono::steady_clock::now() + kTokenFetchTimeout;
  request.headers = {"content-type: application/x-www-form-urlencoded"};
  request.body = "grant_type=" + FormEscape("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                 "&assertion=" + FormEscape(assertion.value());
  loop_->Submit(this, std::move(request), [this](HttpResponse r) { OnToken(r); });
}

void FcmProvider::OnToken(const HttpResponse& response) {
  std::string token;
  std::string error;
  int64_t expires_in_s = 0;
  if (!response.transport.ok()) {
    error = "access token: " + response.transport.message();
  } else {
    auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (response.status == 200 && body.is_object() && body.contains("access_token") &&
        body["access_token"].is_string()) {
      token = body["access_token"].get<std::string>();
      expires_in_s = body.value("expires_in", int64_t{3600});
    } else {
      error = "access token: token_uri answered HTTP " + std::to_string(response.status);
    }
  }
  std::deque<Waiting> ready;
  {
    std::lock_guard lock(mu_);
    fetching_ = false;
    if (!token.empty()) {
      access_token_ = token;
      expires_ms_ = clock_.NowMs() + expires_in_s * 1000;
    }
    ready.swap(waiting_);
  }
  for (auto& w : ready) {
    if (token.empty()) {
      w.done({Kind::kRetriable, response.status, error, std::nullopt});
    } else {
      SendWith(token, w.notification, w.deadline, std::move(w.done));
    }
  }
}

void FcmProvider::SendWith(const std::string& token, const PushNotification& n, Deadline deadline,
                           PushSendCallback done) {
  HttpRequest request;
  request.url = options_.endpoint + "/v1/projects/" + options_.project_id + "/messages:send";
  bool tls = request.url.rfind("https://", 0) == 0;
  request.version = tls ? HttpRequest::Version::kHttp2 : HttpRequest::Version::kHttp1;
  request.ca_file = options_.ca_file;
  request.deadline = deadline;
  request.headers = {"content-type: application/json", "authorization: Bearer " + token};
  request.body = FcmMessage(n);
  loop_->Submit(this, std::move(request),
                [this, token, done = std::move(done)](HttpResponse response) {
                  PushSendResult result = ClassifyFcmResponse(response);
                  if (response.status == 401) {  // revoked or expired early: fetch a new one
                    std::lock_guard lock(mu_);
                    if (access_token_ == token) access_token_.clear();
                  }
                  done(std::move(result));
                });
}

}  // namespace

std::string FcmMessage(const PushNotification& n) {
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [k, v] : n.data) data[k] = v;
  nlohmann::json android = nlohmann::json::object();
  if (!n.collapse_id.empty()) android["collapse_key"] = n.collapse_id;
  if (n.badge) android["notification"] = {{"notification_count", *n.badge}};
  nlohmann::json message = {{"token", n.token},
                            {"notification", {{"title", n.title}, {"body", n.body}}},
                            {"data", std::move(data)},
                            {"android", std::move(android)}};
  return nlohmann::json{{"message", std::move(message)}}.dump();
}

PushSendResult ClassifyFcmResponse(const HttpResponse& response) {
  PushSendResult r;
  if (!response.transport.ok()) {
    r.kind = Kind::kRetriable;
    r.reason = response.transport.message();
    return r;
  }
  int s = response.status;
  r.http_status = s;
  r.retry_after = RetryAfter(response);
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  nlohmann::json error = body.is_object() && body.contains("error") && body["error"].is_object()
                             ? body["error"]
                             : nlohmann::json::object();
  std::string code = error.value("status", "");
  for (const auto& detail : error.value("details", nlohmann::json::array())) {
    if (detail.is_object() && detail.contains("errorCode")) code = detail.value("errorCode", code);
  }
  r.reason = code.empty() ? "HTTP " + std::to_string(s) : code;
  if (s == 200) {
    r.kind = Kind::kDelivered;
  } else if (code == "UNREGISTERED" || (code == "INVALID_ARGUMENT" && MentionsToken(error))) {
    r.kind = Kind::kTokenInvalid;
  } else if (s == 401 || s == 429 || s >= 500) {
    r.kind = Kind::kRetriable;
  } else {
    r.kind = Kind::kRejected;
  }
  return r;
}

Result<FcmOptions> FcmOptionsFromSettings(const std::string& where,
                                          const PushProviderSettings& settings) {
  FcmOptions o;
  auto get = [&](const char* key) {
    auto it = settings.find(key);
    return it == settings.end() ? std::string() : it->second;
  };
  if (!get("endpoint").empty()) o.endpoint = get("endpoint");
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  o.ca_file = get("ca_file");
  std::string file = get("service_account_file");
  if (file.empty()) {
    return InvalidArgument("config key '" + where + ".service_account_file' is required");
  }
  auto text = ReadWholeFile(file);
  if (!text.ok()) {
    return InvalidArgument("config key '" + where +
                           ".service_account_file': " + text.status().message());
  }
  auto key = nlohmann::json::parse(text.value(), nullptr, false);
  for (const char* field : {"client_email", "private_key", "token_uri", "project_id"}) {
    if (!key.is_object() || !key.contains(field) || !key[field].is_string()) {
      return InvalidArgument("config key '" + where + ".service_account_file': '" + file +
                             "' has no string \"" + field + "\"");
    }
  }
  o.client_email = key["client_email"];
  o.private_key_pem = key["private_key"];
  o.token_uri = key["token_uri"];
  o.project_id = key["project_id"];
  return o;
}

Result<std::unique_ptr<PushProvider>> MakeFcmProvider(FcmOptions options,
                                                      std::shared_ptr<CurlLoop> loop,
                                                      const Clock& clock) {
  auto signer = JwtSigner::FromPem(options.private_key_pem, JwtSigner::Algorithm::kRS256);
  if (!signer.ok()) return InvalidArgument("FCM service account key: " + signer.status().message());
  return std::unique_ptr<PushProvider>(
      new FcmProvider(std::move(options), std::move(signer).value(), std::move(loop), clock));
}

}  // namespace flare
