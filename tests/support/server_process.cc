#include "support/server_process.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>

#include "app/spawn.h"
#include "services/signaling/online/token.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"

namespace flare::testing {
namespace {
// How a reaped child ended, for a failure message.
std::string ExitDescription(int status) {
  return WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                           : "signal " + std::to_string(WTERMSIG(status));
}
}  // namespace

ServerProcess::ServerProcess(std::map<std::string, std::string> env) : env_(std::move(env)) {
  char tmpl[] = "/tmp/flare-test-XXXXXX";
  data_dir_ = mkdtemp(tmpl);
  env_.emplace("FLARE_AUTH_JWT_SECRET", kTestSecret);
  env_.emplace("FLARE_LOG_LEVEL", "warn");
  env_.emplace("FLARE_SERVER_BIND_ADDRESS", "127.0.0.1");
  AddBackendsFromEnvironment();
  Start(0, 0);
}

void ServerProcess::AddBackendsFromEnvironment() {
  const char* wanted = std::getenv("E2E_BACKENDS");
  if (wanted == nullptr || *wanted == '\0' || env_.count("FLARE_STORAGE_BACKEND") > 0) return;
  ASSERT_EQ(std::string(wanted), "postgres+redis") << "E2E_BACKENDS";
  static int servers = 0;
  std::string error;
  PostgresServer* pg = SharedPostgres(&error);
  ASSERT_NE(pg, nullptr) << error;
  auto dsn = pg->CreateDatabase("e2e_server_" + std::to_string(++servers));
  ASSERT_TRUE(dsn.ok()) << dsn.status().ToString();
  auto redis = std::make_shared<RedisServer>();
  ASSERT_TRUE(redis->running());
  env_["FLARE_STORAGE_BACKEND"] = "postgres";
  env_["FLARE_STORAGE_POSTGRES_DSN"] = *dsn;
  env_["FLARE_PRESENCE_BACKEND"] = "redis";
  env_["FLARE_PRESENCE_REDIS_URL"] = redis->url();
  redis_ = std::move(redis);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill(SIGKILL);
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

void ServerProcess::Start(uint16_t ws_port, uint16_t http_port) {
  // E2E_FLARE_BINARY: another build of the server (a long run keeps its
  // own copy while the tree is rebuilt).
  const char* binary = std::getenv("E2E_FLARE_BINARY");
  auto p = SpawnServe(binary != nullptr && *binary != '\0' ? binary : FLARE_BINARY, data_dir_,
                      ws_port, http_port, env_);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pid_ = p->pid;
  ws_port_ = p->ws_port;
  quic_port_ = p->quic_port;
  http_port_ = p->http_port;
  rpc_port_ = p->rpc_port;
  hook_admin_port_ = p->hook_admin_port;
}

bool ServerProcess::ExitedUnexpectedly() {
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  // A server that stops on its own has crashed or, under a sanitizer with
  // halt_on_error, reported an error: the test fails.
  ADD_FAILURE() << "flare serve (pid " << pid_
                << ") exited on its own: " << ExitDescription(status);
  pid_ = -1;
  return true;
}

void ServerProcess::Kill(int signal) {
  if (pid_ <= 0) return;
  if (ExitedUnexpectedly()) return;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  if (ExitedUnexpectedly()) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

void ServerProcess::Restart() {
  if (pid_ > 0) Kill(SIGKILL);
  // The same QUIC port too (the development certificate stays in data_dir).
  if (quic_port_ != 0) env_["FLARE_SERVER_QUIC_PORT"] = std::to_string(quic_port_);
  if (rpc_port_ > 0) env_["FLARE_RPC_PORT"] = std::to_string(rpc_port_);
  Start(ws_port_, http_port_);
}

void ServerProcess::Pause() {
  ASSERT_GT(pid_, 0);
  ASSERT_EQ(kill(pid_, SIGSTOP), 0);
  // The signal is delivered asynchronously: wait until every thread stopped.
  int status = 0;
  ASSERT_EQ(waitpid(pid_, &status, WUNTRACED), pid_);
  ASSERT_TRUE(WIFSTOPPED(status)) << "flare serve (pid " << pid_ << ") exited instead of stopping";
}

bool ServerProcess::FailStopped() {
  int status = 0;
  if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 74) return true;
  ADD_FAILURE() << "flare serve exited on its own: " << ExitDescription(status);
  return false;
}

void ServerProcess::Continue() {
  ASSERT_GT(pid_, 0);
  ASSERT_EQ(kill(pid_, SIGCONT), 0);
}

std::string ServerProcess::Token(const std::string& user, const std::string& device, int64_t ttl_s,
                                 const std::string& tenant) const {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto token = TokenSigner(kTestSecret).Issue({tenant, user, device, "test", 0}, now, ttl_s);
  EXPECT_TRUE(token.ok());
  return token.ok() ? *token : "";
}

ClientOptions ServerProcess::Options(const std::string& user, const std::string& device,
                                     const std::string& tenant) const {
  ClientOptions o;
  o.port = ws_port_;
  o.token = Token(user, device, 3600, tenant);
  o.request_timeout_ms = 10'000;
  return o;
}

ClientOptions ServerProcess::QuicOptions(const std::string& user, const std::string& device,
                                         const std::string& tenant) const {
  ClientOptions o = Options(user, device, tenant);
  o.transport = ClientOptions::Transport::kQuic;
  o.port = quic_port_;
  o.quic_pinned_cert_file = data_dir_ + "/quic-dev-cert.pem";
  return o;
}

namespace {
size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}
}  // namespace

namespace {
size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(data, size * n);
  return size * n;
}

// One HTTP request with libcurl; the answer's body.
std::string CurlRequest(const std::string& url, const std::string& method, const std::string& body,
                        const std::vector<std::string>& request_headers, long* status,
                        std::vector<std::string>* response_headers) {
  std::string answer;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  struct curl_slist* headers = nullptr;
  for (const auto& h : request_headers) headers = curl_slist_append(headers, h.c_str());
  if (!body.empty()) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  if (response_headers) {
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, response_headers);
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  CURLcode rc = curl_easy_perform(curl);
  EXPECT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
  if (status) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  return answer;
}

std::vector<std::string> BearerHeader(const std::string& bearer) {
  if (bearer.empty()) return {};
  return {"Authorization: Bearer " + bearer};
}
}  // namespace

std::string ServerProcess::HttpGet(const std::string& path, long* status, const std::string& bearer,
                                   const std::string& host) const {
  return CurlRequest("http://" + host + ":" + std::to_string(http_port_) + path, "GET", "",
                     BearerHeader(bearer), status, nullptr);
}

std::string ServerProcess::Http(const std::string& method, const std::string& path,
                                const std::string& body, long* status, const std::string& bearer,
                                std::vector<std::string>* response_headers) const {
  return CurlRequest("http://127.0.0.1:" + std::to_string(http_port_) + path, method, body,
                     BearerHeader(bearer), status, response_headers);
}

std::string ServerProcess::HttpRange(const std::string& path, const std::string& range,
                                     long* status, const std::string& bearer) const {
  auto headers = BearerHeader(bearer);
  headers.push_back("Range: " + range);
  return CurlRequest("http://127.0.0.1:" + std::to_string(http_port_) + path, "GET", "", headers,
                     status, nullptr);
}

RawConnection::RawConnection(uint16_t port, const std::string& target) {
  transport_ = MakeBeastClientTransport(
      ClientTransportCallbacks{[this](std::string_view data, bool binary) {
                                 std::lock_guard lock(mu_);
                                 events_.push_back({false, 0, binary, std::string(data)});
                                 cv_.notify_all();
                               },
                               [this](uint16_t code, const std::string&) {
                                 std::lock_guard lock(mu_);
                                 events_.push_back({true, code, false, ""});
                                 cv_.notify_all();
                               }});
  std::promise<Status> done;
  transport_->Post([&] {
    transport_->Connect("127.0.0.1", port, target, [&](Status st) { done.set_value(st); });
  });
  connected_ = done.get_future().get().ok();
}

RawConnection::~RawConnection() { transport_->Shutdown(); }

void RawConnection::Send(const std::string& bytes, bool binary) {
  auto shared = std::make_shared<const std::string>(bytes);
  transport_->Post([this, shared, binary] { transport_->Send(shared, binary); });
}

std::optional<RawConnection::Event> RawConnection::Next(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return !events_.empty(); })) {
    return std::nullopt;
  }
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace flare::testing
