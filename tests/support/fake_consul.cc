#include "support/fake_consul.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace flare::testing {
namespace {

constexpr std::chrono::seconds kStartDeadline{10};

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

FakeConsulAgent::FakeConsulAgent(const std::string& acl_token) : token_(acl_token) {
  std::vector<std::string> argv = {
      "python3", std::string(FLARE_SOURCE_DIR) + "/tests/support/fake_consul_agent.py"};
  if (!acl_token.empty()) argv.insert(argv.end(), {"--acl-token", acl_token});
  if (!process_.Start(argv)) return;
  auto line = process_.ReadLine(kStartDeadline);
  if (line && line->rfind("fake-consul-agent listening", 0) == 0) port_ = AnnouncedPort(*line);
}

int FakeConsulAgent::Get(const std::string& path, std::string* body) const {
  CURL* curl = curl_easy_init();
  std::string url = this->url() + path;
  curl_slist* headers = nullptr;
  if (!token_.empty()) headers = curl_slist_append(headers, ("X-Consul-Token: " + token_).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  return static_cast<int>(status);
}

HealthEndpoint::HealthEndpoint() {
  char tmpl[] = "/tmp/flare-health-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return;
  dir_ = tmpl;
  SetHealthy(true);
  // -u: unbuffered, so its "Serving HTTP on ... port N" line arrives at once.
  if (!process_.Start(
          {"python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir_},
          /*discard_stderr=*/true)) {  // it logs every request there
    return;
  }
  auto line = process_.ReadLine(kStartDeadline);
  if (line) port_ = AnnouncedPort(*line);
}

HealthEndpoint::~HealthEndpoint() {
  process_.Signal(SIGTERM);
  (void)process_.Wait(std::chrono::seconds(5));
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void HealthEndpoint::SetHealthy(bool healthy) {
  std::string file = dir_ + "/healthz";
  if (healthy) {
    std::ofstream(file) << "ok\n";
  } else {
    std::filesystem::remove(file);
  }
}

}  // namespace flare::testing
