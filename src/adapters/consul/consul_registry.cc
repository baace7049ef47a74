#include "adapters/consul/consul_registry.h"

#include <curl/curl.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "common/endpoints.h"

namespace flare {
namespace {

using nlohmann::json;

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// A path segment with every reserved byte percent-encoded.
std::string Escaped(const std::string& segment) {
  char* escaped = curl_escape(segment.data(), static_cast<int>(segment.size()));
  if (escaped == nullptr) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

// A Go duration, as Consul parses them.
std::string GoDurationMs(int64_t ms) { return std::to_string(ms) + "ms"; }

std::string TrimmedBody(const std::string& body) {
  constexpr size_t kMax = 200;
  std::string out = body.substr(0, kMax);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

ServiceInstance InstanceFromHealthEntry(const json& entry) {
  const json& service = entry.at("Service");
  ServiceInstance instance;
  instance.service = service.at("Service").get<std::string>();
  instance.id = service.at("ID").get<std::string>();
  instance.address = service.value("Address", "");
  if (instance.address.empty() && entry.contains("Node")) {
    instance.address = entry.at("Node").value("Address", "");  // Consul's fallback
  }
  instance.port = service.at("Port").get<uint16_t>();
  if (service.contains("Tags") && service.at("Tags").is_array()) {
    instance.tags = service.at("Tags").get<std::vector<std::string>>();
  }
  if (service.contains("Meta") && service.at("Meta").is_object()) {
    instance.meta = service.at("Meta").get<std::map<std::string, std::string>>();
  }
  return instance;
}

}  // namespace

Result<std::shared_ptr<ConsulRegistry>> ConsulRegistry::Open(const ConsulOptions& options) {
  Status url = CheckHttpBaseUrl(options.url);
  if (!url.ok()) return InvalidArgument("discovery.consul.url: " + url.message());
  if (options.request_timeout_ms <= 0 || options.check_interval_ms <= 0 ||
      options.check_timeout_ms <= 0 || options.deregister_critical_after_s <= 0) {
    return InvalidArgument("discovery.consul: timeouts and intervals must be positive");
  }
  static std::once_flag curl_initialised;
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  ConsulOptions trimmed = options;
  while (!trimmed.url.empty() && trimmed.url.back() == '/') trimmed.url.pop_back();
  return std::shared_ptr<ConsulRegistry>(new ConsulRegistry(std::move(trimmed)));
}

Result<ConsulRegistry::Response> ConsulRegistry::Call(const char* method,
                                                      const std::string& path_and_query,
                                                      const std::string& body) const {
  std::string url = options_.url + path_and_query;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Internal("consul: curl_easy_init failed");
  Response response;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!options_.token.empty()) {
    headers = curl_slist_append(headers, ("X-Consul-Token: " + options_.token).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (std::string(method) != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (threads)
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Unavailable("consul agent " + options_.url + " (discovery.consul.url): " + method + " " +
                       path_and_query + ": " + curl_easy_strerror(rc));
  }
  return response;
}

Status ConsulRegistry::StatusOf(const Response& response, const std::string& what) const {
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  std::string detail = "consul agent " + options_.url + ": " + what + ": HTTP " +
                       std::to_string(response.status) + " " + TrimmedBody(response.body);
  if (response.status == 403) {
    return PermissionDenied(detail + " (discovery.consul.token)");
  }
  if (response.status == 400) return InvalidArgument(detail);
  if (response.status >= 500) return Unavailable(detail);
  return Internal(detail);
}

std::string ConsulRegistry::RegistrationJson(const ServiceInstance& instance) const {
  json body = {{"Name", instance.service}, {"ID", instance.id},     {"Address", instance.address},
               {"Port", instance.port},    {"Tags", instance.tags}, {"Meta", instance.meta}};
  if (!instance.health_url.empty()) {
    body["Check"] = {
        {"HTTP", instance.health_url},
        {"Interval", GoDurationMs(options_.check_interval_ms)},
        {"Timeout", GoDurationMs(options_.check_timeout_ms)},
        {"DeregisterCriticalServiceAfter",
         std::to_string(options_.deregister_critical_after_s) + "s"},
    };
  }
  return body.dump();
}

Status ConsulRegistry::Register(const ServiceInstance& instance) {
  if (instance.service.empty() || instance.id.empty()) {
    return InvalidArgument("an instance needs a service name and an id");
  }
  auto response = Call("PUT", "/v1/agent/service/register", RegistrationJson(instance));
  if (!response.ok()) return response.status();
  return StatusOf(*response, "register " + instance.id);
}

Status ConsulRegistry::Deregister(const std::string& instance_id) {
  auto response = Call("PUT", "/v1/agent/service/deregister/" + Escaped(instance_id), "");
  if (!response.ok()) return response.status();
  if (response->status == 404) return Status::Ok();  // unknown id: nothing to remove
  return StatusOf(*response, "deregister " + instance_id);
}

Result<std::vector<ServiceInstance>> ConsulRegistry::Resolve(const std::string& service) {
  auto response = Call("GET", "/v1/health/service/" + Escaped(service) + "?passing=true", "");
  if (!response.ok()) return response.status();
  FLARE_RETURN_IF_ERROR(StatusOf(*response, "resolve " + service));
  json entries = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!entries.is_array()) {
    return Internal("consul agent " + options_.url + ": resolve " + service +
                    ": the answer is not a JSON array");
  }
  std::vector<ServiceInstance> out;
  try {  // nlohmann throws on a missing or mistyped field; keep it inside
    for (const json& entry : entries) out.push_back(InstanceFromHealthEntry(entry));
  } catch (const json::exception& e) {
    return Internal("consul agent " + options_.url + ": resolve " + service +
                    ": unexpected answer: " + e.what());
  }
  return out;
}

}  // namespace flare
