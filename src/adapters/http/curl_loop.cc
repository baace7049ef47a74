#include "adapters/http/curl_loop.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

namespace flare {
namespace {

struct Transfer {
  const void* owner = nullptr;
  HttpRequest request;
  HttpCallback done;
  HttpResponse response;
  curl_slist* headers = nullptr;
};

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->response.body.size() + size * n > t->request.max_response_bytes) return 0;  // aborts
  t->response.body.append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;  // status line or the blank one
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  value.erase(value.find_last_not_of(" \t\r\n") + 1);
  t->response.headers[name] = value;
  return size * n;
}

HttpResponse Failed(std::string why, bool timed_out = false) {
  HttpResponse r;
  r.transport = Unavailable(std::move(why));
  r.timed_out = timed_out;
  return r;
}

class MultiLoop final : public CurlLoop {
 public:
  explicit MultiLoop(CurlLoopOptions options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    thread_ = std::thread([this] { Run(); });
  }
  ~MultiLoop() override {
    Close();
    curl_multi_cleanup(multi_);
  }

  void Submit(const void* owner, HttpRequest request, HttpCallback done) override {
    auto t = std::make_unique<Transfer>();
    t->owner = owner;
    t->request = std::move(request);
    t->done = std::move(done);
    {
      std::lock_guard lock(mu_);
      if (!closed_ && in_flight_ < options_.max_in_flight) {
        ++in_flight_;
        incoming_.push_back(std::move(t));
        curl_multi_wakeup(multi_);
        return;
      }
    }
    t->done(Failed("HTTP loop is closed or has too many requests in flight"));
  }

  void Cancel(const void* owner) override {
    if (std::this_thread::get_id() == thread_.get_id()) return CancelOnLoop(owner);
    std::unique_lock lock(mu_);
    if (closed_) return;
    uint64_t ticket = ++cancel_requested_;
    cancels_.push_back(owner);
    curl_multi_wakeup(multi_);
    cancel_cv_.wait(lock, [&] { return cancel_done_ >= ticket || closed_; });
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
      curl_multi_wakeup(multi_);
      cancel_cv_.notify_all();
    }
    if (std::this_thread::get_id() != thread_.get_id()) thread_.join();
  }

 private:
  void Run();
  void Start(std::unique_ptr<Transfer> t);
  void Finish(CURL* easy, CURLcode result);
  void Remove(CURL* easy, HttpResponse response);
  void CancelOnLoop(const void* owner);
  void FailAll();

  CurlLoopOptions options_;
  CURLM* multi_ = nullptr;
  std::mutex mu_;
  std::condition_variable cancel_cv_;
  std::deque<std::unique_ptr<Transfer>> incoming_;
  std::vector<const void*> cancels_;
  uint64_t cancel_requested_ = 0;
  uint64_t cancel_done_ = 0;
  size_t in_flight_ = 0;
  bool closed_ = false;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running_;  // loop thread only
  std::thread thread_;
};

void MultiLoop::Start(std::unique_ptr<Transfer> t) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  t->request.deadline - std::chrono::steady_clock::now())
                  .count();
  if (left <= 0) {
    t->done(Failed("timed out before it was sent", true));
    std::lock_guard lock(mu_);
    --in_flight_;
    return;
  }
  for (const auto& h : t->request.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
  const HttpRequest& r = t->request;
  CURL* easy = curl_easy_init();
  curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  if (r.version == HttpRequest::Version::kHttp2) {
    bool tls = r.url.rfind("https://", 0) == 0;
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                     tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    if (tls) {
      curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);  // share one connection, not open more
    } else {
      // libcurl 7.88.x (Debian 12) fails a request that reuses an h2c
      // prior-knowledge connection ("Error in the HTTP2 framing layer",
      // curl issue 10634, fixed in 8.0): one connection per request. Only
      // test endpoints are h2c.
      curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    }
  }
  if (!r.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, r.ca_file.c_str());
  curl_multi_add_handle(multi_, easy);
  running_.emplace(easy, std::move(t));
}

void MultiLoop::Remove(CURL* easy, HttpResponse response) {
  auto it = running_.find(easy);
  std::unique_ptr<Transfer> t = std::move(it->second);
  running_.erase(it);
  curl_multi_remove_handle(multi_, easy);
  curl_easy_cleanup(easy);
  curl_slist_free_all(t->headers);
  t->done(std::move(response));
  std::lock_guard lock(mu_);
  --in_flight_;
}

void MultiLoop::Finish(CURL* easy, CURLcode result) {
  Transfer& t = *running_.at(easy);
  if (result == CURLE_OPERATION_TIMEDOUT) return Remove(easy, Failed("timed out", true));
  if (result != CURLE_OK) return Remove(easy, Failed(curl_easy_strerror(result)));
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  HttpResponse r = std::move(t.response);
  r.transport = Status::Ok();
  r.status = static_cast<int>(status);
  Remove(easy, std::move(r));
}

void MultiLoop::CancelOnLoop(const void* owner) {
  std::vector<CURL*> mine;
  for (auto& [easy, t] : running_) {
    if (t->owner == owner) mine.push_back(easy);
  }
  for (CURL* easy : mine) Remove(easy, Failed("cancelled: the provider is closed"));
  std::deque<std::unique_ptr<Transfer>> queued;
  {
    std::lock_guard lock(mu_);
    for (auto it = incoming_.begin(); it != incoming_.end();) {
      if ((*it)->owner == owner) {
        queued.push_back(std::move(*it));
        it = incoming_.erase(it);
        --in_flight_;
      } else {
        ++it;
      }
    }
  }
  for (auto& t : queued) t->done(Failed("cancelled: the provider is closed"));
}

void MultiLoop::FailAll() {
  std::vector<CURL*> easies;
  for (auto& [easy, t] : running_) easies.push_back(easy);
  for (CURL* easy : easies) Remove(easy, Failed("HTTP loop closed"));
  std::deque<std::unique_ptr<Transfer>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(incoming_);
    in_flight_ = 0;
  }
  for (auto& t : left) t->done(Failed("HTTP loop closed"));
}

void MultiLoop::Run() {
  while (true) {
    std::deque<std::unique_ptr<Transfer>> starting;
    std::vector<const void*> cancels;
    uint64_t cancel_ticket = 0;
    {
      std::lock_guard lock(mu_);
      if (closed_) break;
      starting.swap(incoming_);
      cancels.swap(cancels_);
      cancel_ticket = cancel_requested_;
    }
    for (auto& t : starting) Start(std::move(t));
    if (!cancels.empty()) {
      for (const void* owner : cancels) CancelOnLoop(owner);
      std::lock_guard lock(mu_);
      cancel_done_ = cancel_ticket;
      cancel_cv_.notify_all();
    }
    int still_running = 0;
    curl_multi_perform(multi_, &still_running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
    }
    // Woken early by curl_multi_wakeup when a request arrives, on Cancel and Close.
    curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
  }
  FailAll();
}

}  // namespace

std::shared_ptr<CurlLoop> MakeCurlLoop(CurlLoopOptions options) {
  return std::make_shared<MultiLoop>(options);
}

std::optional<std::chrono::milliseconds> RetryAfter(const HttpResponse& response) {
  auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) return std::nullopt;
  int64_t seconds = 0;
  const std::string& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(std::min<int64_t>(seconds, 86'400) * 1000);
}

}  // namespace flare
