#include "adapters/webhook/webhook_transport.h"

#include "adapters/http/curl_loop.h"
#include "adapters/webhook/webhook_json.h"
#include "adapters/webhook/webhook_signature.h"

namespace flare {
namespace {

HookCallResult Failed(Status status, bool timed_out = false) {
  HookCallResult r;
  r.status = std::move(status);
  r.timed_out = timed_out;
  return r;
}

HookCallResult ToHookResult(const std::string& name, const HttpResponse& response) {
  if (response.timed_out) return Failed(Unavailable("hook '" + name + "' timed out"), true);
  if (!response.transport.ok()) {
    return Failed(Unavailable("hook '" + name + "': " + response.transport.message()));
  }
  if (response.status < 200 || response.status > 299) {
    return Failed(
        Unavailable("hook '" + name + "' answered HTTP " + std::to_string(response.status)));
  }
  auto decoded = DecodeHookResponse(response.body);
  if (!decoded.ok()) return Failed(decoded.status());
  HookCallResult r;
  r.response = std::move(decoded).value();
  return r;
}

// Signs and POSTs each call on its own CurlLoop (adapters/http/), the loop
// the push providers run on too.
class WebhookTransport final : public HookTransport {
 public:
  explicit WebhookTransport(WebhookOptions options)
      : options_(options), loop_(MakeCurlLoop({options.max_in_flight})) {}
  ~WebhookTransport() override { Close(); }

  void Call(const HookTarget& target, HookRequest request, Deadline deadline,
            HookCallback done) override {
    HttpRequest http;
    http.url = target.url;
    http.deadline = deadline;
    http.max_response_bytes = options_.max_response_bytes;
    http.body = EncodeHookRequest(request);
    std::string timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    http.headers = {"Content-Type: application/json",
                    std::string(kWebhookTimestampHeader) + ": " + timestamp,
                    std::string(kWebhookSignatureHeader) + ": " +
                        WebhookSignature(target.secret, timestamp, http.body)};
    loop_->Submit(this, std::move(http),
                  [name = target.name, done = std::move(done)](HttpResponse response) {
                    done(ToHookResult(name, response));
                  });
  }

  void Close() override { loop_->Close(); }

 private:
  WebhookOptions options_;
  std::shared_ptr<CurlLoop> loop_;
};

}  // namespace

std::unique_ptr<HookTransport> MakeWebhookTransport(WebhookOptions options) {
  return std::make_unique<WebhookTransport>(options);
}

}  // namespace flare
