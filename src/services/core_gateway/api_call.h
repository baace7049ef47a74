// One request to the core-gateway's REST API as a route handler sees it:
// who calls (already authenticated and scoped to a tenant), the path
// parameters, decoded query parameters, the JSON body, and the ways to
// answer. Every error has the one shape
// {"error": {"code", "message", "request_id"}}.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

struct Caller {
  enum class Kind { kAnonymous, kUser, kApiKey, kAdmin };
  Kind kind = Kind::kAnonymous;
  // The tenant every read and write of the request is scoped to. An admin
  // of every tenant names it with ?tenant= (or "default").
  std::string tenant;
  std::string user_id, device;  // kUser
  std::string key_id;           // kApiKey
  std::vector<std::string> scopes;
  bool all_tenants = false;  // an admin token for every tenant
};

// "percent%20encoded+text" -> "percent encoded text"; nullopt if malformed.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

class ApiCall {
 public:
  ApiCall(HttpServerRequest http, HttpRespond respond, std::string request_id)
      : http_(std::move(http)), respond_(std::move(respond)), request_id_(std::move(request_id)) {}
  // A call dropped without an answer still answers (500), so its client is
  // never left waiting on a connection nobody will write to.
  ~ApiCall();
  ApiCall(const ApiCall&) = delete;
  ApiCall& operator=(const ApiCall&) = delete;

  const HttpServerRequest& http() const { return http_; }
  const std::string& request_id() const { return request_id_; }
  Caller& caller() { return caller_; }
  const Caller& caller() const { return caller_; }
  std::map<std::string, std::string>& path_params() { return path_params_; }
  const std::string& Param(const std::string& name) const;

  // A query parameter, decoded; nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
  // An integer query parameter within [min, max]; `fallback` when absent.
  Result<int64_t> QueryInt(std::string_view name, int64_t fallback, int64_t min, int64_t max) const;
  // The body as a JSON object (InvalidArgument if it is not one).
  Result<nlohmann::json> JsonBody() const;

  // Answers (the first answer wins; later ones are ignored).
  void Reply(int status, const nlohmann::json& body,
             std::vector<std::pair<std::string, std::string>> headers = {});
  void ReplyRaw(HttpServerResponse response);
  void Fail(const Status& status);
  void Fail(int http_status, std::string_view code, std::string_view message,
            std::vector<std::pair<std::string, std::string>> headers = {});
  bool answered() const { return answered_.load(); }
  // Told the status of the answer, before it is sent (circuit breakers).
  void set_on_answer(std::function<void(int status)> f) { on_answer_ = std::move(f); }

 private:
  HttpServerRequest http_;
  HttpRespond respond_;
  std::string request_id_;
  Caller caller_;
  std::map<std::string, std::string> path_params_;
  std::atomic<bool> answered_{false};
  std::function<void(int)> on_answer_;
};

// The HTTP status and error code of a Status.
std::pair<int, std::string_view> HttpStatusOf(Code code);
std::string ErrorBody(std::string_view code, std::string_view message, std::string_view request_id);

}  // namespace flare
