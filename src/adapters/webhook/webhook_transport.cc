#include "adapters/webhook/webhook_transport.h"

#include <curl/curl.h>

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "adapters/webhook/webhook_json.h"
#include "adapters/webhook/webhook_signature.h"

namespace flare {
namespace {

struct Call {
  HookTarget target;
  HookRequest request;
  HookTransport::Deadline deadline;
  HookCallback done;
  std::string body;
  std::string response;
  size_t max_response = 0;
  curl_slist* headers = nullptr;
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* call = static_cast<Call*>(user);
  if (call->response.size() + size * n > call->max_response) return 0;  // aborts the transfer
  call->response.append(data, size * n);
  return size * n;
}

HookCallResult Failed(Status status, bool timed_out = false) {
  HookCallResult r;
  r.status = std::move(status);
  r.timed_out = timed_out;
  return r;
}

class WebhookTransport final : public HookTransport {
 public:
  explicit WebhookTransport(WebhookOptions options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    thread_ = std::thread([this] { Run(); });
  }
  ~WebhookTransport() override {
    Close();
    curl_multi_cleanup(multi_);
  }

  void Call(const HookTarget& target, HookRequest request, Deadline deadline,
            HookCallback done) override {
    auto call = std::make_unique<struct Call>();
    call->target = target;
    call->request = std::move(request);
    call->deadline = deadline;
    call->done = std::move(done);
    {
      std::lock_guard lock(mu_);
      if (!closed_ && in_flight_ < options_.max_in_flight) {
        ++in_flight_;
        incoming_.push_back(std::move(call));
        curl_multi_wakeup(multi_);
        return;
      }
    }
    call->done(Failed(Unavailable("webhook transport is closed or has too many calls in flight")));
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
      curl_multi_wakeup(multi_);
    }
    thread_.join();
  }

 private:
  void Run();
  void Start(std::unique_ptr<struct Call> call);
  void Finish(CURL* easy, CURLcode result);
  void FailAll();

  WebhookOptions options_;
  CURLM* multi_ = nullptr;
  std::mutex mu_;
  std::deque<std::unique_ptr<struct Call>> incoming_;
  size_t in_flight_ = 0;
  bool closed_ = false;
  std::unordered_map<CURL*, std::unique_ptr<struct Call>> running_;  // transport thread only
  std::thread thread_;
};

void WebhookTransport::Start(std::unique_ptr<struct Call> call) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  call->deadline - std::chrono::steady_clock::now())
                  .count();
  if (left <= 0) {
    call->done(Failed(Unavailable("hook '" + call->target.name + "' timed out"), true));
    std::lock_guard lock(mu_);
    --in_flight_;
    return;
  }
  call->body = EncodeHookRequest(call->request);
  std::string timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  std::string signature = WebhookSignature(call->target.secret, timestamp, call->body);
  call->headers = curl_slist_append(call->headers, "Content-Type: application/json");
  call->headers = curl_slist_append(
      call->headers, (std::string(kWebhookTimestampHeader) + ": " + timestamp).c_str());
  call->headers = curl_slist_append(
      call->headers, (std::string(kWebhookSignatureHeader) + ": " + signature).c_str());
  call->headers = curl_slist_append(call->headers, "Expect:");  // no 100-continue round trip
  call->max_response = options_.max_response_bytes;
  CURL* easy = curl_easy_init();
  curl_easy_setopt(easy, CURLOPT_URL, call->target.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(call->body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, call.get());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, call.get());
  curl_multi_add_handle(multi_, easy);
  running_.emplace(easy, std::move(call));
}

void WebhookTransport::Finish(CURL* easy, CURLcode result) {
  auto it = running_.find(easy);
  std::unique_ptr<struct Call> call = std::move(it->second);
  running_.erase(it);
  long http_status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
  curl_multi_remove_handle(multi_, easy);
  curl_easy_cleanup(easy);
  curl_slist_free_all(call->headers);
  HookCallResult r;
  const std::string& name = call->target.name;
  if (result == CURLE_OPERATION_TIMEDOUT) {
    r = Failed(Unavailable("hook '" + name + "' timed out"), true);
  } else if (result != CURLE_OK) {
    r = Failed(Unavailable("hook '" + name + "': " + curl_easy_strerror(result)));
  } else if (http_status < 200 || http_status > 299) {
    r = Failed(Unavailable("hook '" + name + "' answered HTTP " + std::to_string(http_status)));
  } else if (auto decoded = DecodeHookResponse(call->response); !decoded.ok()) {
    r = Failed(decoded.status());
  } else {
    r.response = std::move(decoded).value();
  }
  call->done(std::move(r));
  std::lock_guard lock(mu_);
  --in_flight_;
}

void WebhookTransport::FailAll() {
  std::vector<CURL*> easies;
  for (auto& [easy, call] : running_) easies.push_back(easy);
  for (CURL* easy : easies) {
    running_[easy]->done(Failed(Unavailable("webhook transport closed")));
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(running_[easy]->headers);
  }
  running_.clear();
  std::deque<std::unique_ptr<struct Call>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(incoming_);
    in_flight_ = 0;
  }
  for (auto& call : left) call->done(Failed(Unavailable("webhook transport closed")));
}

void WebhookTransport::Run() {
  while (true) {
    std::deque<std::unique_ptr<struct Call>> starting;
    {
      std::lock_guard lock(mu_);
      if (closed_) break;
      starting.swap(incoming_);
    }
    for (auto& call : starting) Start(std::move(call));
    int still_running = 0;
    curl_multi_perform(multi_, &still_running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
    }
    // Woken early by curl_multi_wakeup when a call arrives or on Close.
    curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
  }
  FailAll();
}

}  // namespace

std::unique_ptr<HookTransport> MakeWebhookTransport(WebhookOptions options) {
  return std::make_unique<WebhookTransport>(options);
}

}  // namespace flare
