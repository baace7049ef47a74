// The OpenAPI 3 document of the core-gateway, built from the route table.
#include <nlohmann/json.hpp>

#include "services/core_gateway/http_api.h"

namespace flare {
namespace {

using nlohmann::json;

json Example(const std::string& text) {
  auto parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

json Security(const ApiRoute& route) {
  json security = json::array();
  if (route.access & kAccessPublic) return security;
  if (route.access & kAccessApiKey) security.push_back({{"apiKey", json::array()}});
  if (route.access & kAccessAdmin) security.push_back({{"adminToken", json::array()}});
  if (route.access & kAccessUser) security.push_back({{"clientToken", json::array()}});
  if (route.access & kAccessPresigned) security.push_back(json::object());  // a presigned URL
  return security;
}

json Parameters(const ApiRoute& route) {
  json params = json::array();
  std::string_view path = route.path;
  for (size_t open = path.find('{'); open != std::string_view::npos; open = path.find('{', open)) {
    size_t close = path.find('}', open);
    params.push_back({{"name", std::string(path.substr(open + 1, close - open - 1))},
                      {"in", "path"},
                      {"required", true},
                      {"schema", {{"type", "string"}}}});
    open = close;
  }
  for (const auto& q : route.query) {
    params.push_back({{"name", q.name},
                      {"in", "query"},
                      {"required", q.required},
                      {"description", q.description},
                      {"schema", {{"type", q.type}}}});
  }
  return params;
}

json Operation(const ApiRoute& route) {
  json op = {{"summary", route.summary},
             {"tags", {route.tag}},
             {"parameters", Parameters(route)},
             {"security", Security(route)}};
  if (!route.scope.empty()) op["x-flare-scope"] = route.scope;
  if (!route.request_example.empty()) {
    op["requestBody"] = {
        {"required", true},
        {"content",
         {{"application/json",
           {{"schema", {{"type", "object"}}}, {"example", Example(route.request_example)}}}}}};
  }
  json ok = {{"description", "success"}};
  if (!route.response_example.empty()) {
    ok["content"] = {
        {"application/json",
         {{"schema", {{"type", "object"}}}, {"example", Example(route.response_example)}}}};
  }
  op["responses"] = {
      {std::to_string(route.success_status), ok},
      {"default",
       {{"description", "an error"},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
  return op;
}

json Components() {
  json error_schema = {{"type", "object"},
                       {"properties",
                        {{"error",
                          {{"type", "object"},
                           {"properties",
                            {{"code", {{"type", "string"}}},
                             {"message", {{"type", "string"}}},
                             {"request_id", {{"type", "string"}}}}}}}}}};
  return {{"securitySchemes",
           {{"apiKey",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"description", "a tenant's API key (flk_...), made with `flare apikey create`"}}},
            {"adminToken",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"bearerFormat", "JWT"},
              {"description", "an admin token (`flare token --admin`)"}}},
            {"clientToken",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"bearerFormat", "JWT"},
              {"description", "a user's client token; ?access_token= also works for GET"}}}}},
          {"schemas", {{"Error", error_schema}}}};
}

}  // namespace

std::string HttpApi::OpenApiJson() const {
  json paths = json::object();
  for (const auto& route : routes_) {
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[route.path][method] = Operation(route);
  }
  json doc = {{"openapi", "3.0.3"},
              {"info",
               {{"title", "Flare core-gateway API"},
                {"version", "1"},
                {"description",
                 "REST/JSON API of Flare for business servers and admins. Every error is "
                 "{\"error\": {\"code\", \"message\", \"request_id\"}}; 429 answers carry "
                 "Retry-After."}}},
              {"paths", paths},
              {"components", Components()}};
  return doc.dump(2) + "\n";
}

}  // namespace flare
