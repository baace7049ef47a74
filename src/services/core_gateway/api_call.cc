#include "services/core_gateway/api_call.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace flare {

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (i + 2 >= text.size()) return std::nullopt;  // '%' needs two hex digits
      unsigned value = 0;
      auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
      out.push_back(static_cast<char>(value));
      i += 2;
    }
  }
  return out;
}

const std::string& ApiCall::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = path_params_.find(name);
  return it == path_params_.end() ? kEmpty : it->second;
}

std::optional<std::string> ApiCall::Query(std::string_view name) const {
  std::string_view query = http_.query;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    if (key && *key == name) {
      if (eq == std::string_view::npos) return std::string();
      return PercentDecode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Result<int64_t> ApiCall::QueryInt(std::string_view name, int64_t fallback, int64_t min,
                                  int64_t max) const {
  auto text = Query(name);
  if (!text) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return InvalidArgument("query parameter '" + std::string(name) + "' must be an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

Result<nlohmann::json> ApiCall::JsonBody() const {
  if (http_.body.empty()) return InvalidArgument("a JSON object body is required");
  auto doc = nlohmann::json::parse(http_.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("the body is not valid JSON");
  if (!doc.is_object()) return InvalidArgument("the body must be a JSON object");
  return doc;
}

ApiCall::~ApiCall() {
  if (!answered()) Fail(500, "internal", "the request was dropped without an answer");
}

void ApiCall::ReplyRaw(HttpServerResponse response) {
  if (answered_.exchange(true)) return;
  if (on_answer_) on_answer_(response.status);
  response.headers.emplace_back("X-Request-Id", request_id_);
  // Moved out: the connection is not kept by a call answered already
  // (a waiter may hold the call until its outcome comes).
  HttpRespond respond = std::move(respond_);
  respond(std::move(response));
}

void ApiCall::Reply(int status, const nlohmann::json& body,
                    std::vector<std::pair<std::string, std::string>> headers) {
  ReplyRaw({status, "application/json",
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
            std::move(headers)});
}

void ApiCall::Fail(int http_status, std::string_view code, std::string_view message,
                   std::vector<std::pair<std::string, std::string>> headers) {
  ReplyRaw(
      {http_status, "application/json", ErrorBody(code, message, request_id_), std::move(headers)});
}

void ApiCall::Fail(const Status& status) {
  auto [http_status, code] = HttpStatusOf(status.code());
  // A service may name the HTTP status itself (media: 413, 415, 416).
  if (status.detail() >= 400 && status.detail() <= 599) http_status = status.detail();
  Fail(http_status, code, status.message());
}

std::pair<int, std::string_view> HttpStatusOf(Code code) {
  switch (code) {
    case Code::kOk:
      return {200, "ok"};
    case Code::kInvalidArgument:
      return {400, "invalid_argument"};
    case Code::kNotFound:
      return {404, "not_found"};
    case Code::kAlreadyExists:
      return {409, "already_exists"};
    case Code::kPermissionDenied:
      return {403, "permission_denied"};
    case Code::kUnauthenticated:
      return {401, "unauthenticated"};
    case Code::kResourceExhausted:
      return {429, "resource_exhausted"};
    case Code::kUnavailable:
      return {503, "unavailable"};
    case Code::kAborted:
      return {409, "aborted"};
    default:
      return {500, "internal"};
  }
}

std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id) {
  nlohmann::json body = {
      {"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace flare
