#include "common/endpoints.h"

#include <algorithm>
#include <charconv>

namespace flare {

Result<HostPort> ParseHostPort(std::string_view text) {
  auto bad = [&] { return InvalidArgument("'" + std::string(text) + "' is not host:port"); };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // a bare IPv6 address needs brackets
  }
  int port = 0;
  std::string_view digits = text.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || port < 1 || port > 65535) {
    return bad();
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

Status CheckHostPortList(const std::string& list) {
  if (list.empty()) return InvalidArgument("empty host:port list");
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = std::min(list.find(',', start), list.size());
    FLARE_RETURN_IF_ERROR(
        ParseHostPort(std::string_view(list).substr(start, end - start)).status());
    start = end + 1;
  }
  return Status::Ok();
}

Status CheckServiceEndpoints(const ServiceEndpoints& services) {
  for (const auto& [name, endpoints] : services) {
    if (name.empty()) return InvalidArgument("a service needs a name");
    for (const auto& endpoint : endpoints) {
      auto parsed = ParseHostPort(endpoint);
      if (!parsed.ok())
        return InvalidArgument("service '" + name + "': " + parsed.status().message());
    }
  }
  return Status::Ok();
}

namespace {

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = std::min(text.find(separator, start), text.size());
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

Result<ServiceEndpoints> ParseServiceEndpoints(std::string_view text) {
  ServiceEndpoints services;
  if (text.empty()) return services;
  for (std::string_view entry : Split(text, ';')) {
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument("'" + std::string(entry) + "' is not name=host:port[,host:port...]");
    }
    auto& endpoints = services[std::string(entry.substr(0, eq))];
    for (std::string_view endpoint : Split(entry.substr(eq + 1), ',')) {
      endpoints.emplace_back(endpoint);
    }
  }
  FLARE_RETURN_IF_ERROR(CheckServiceEndpoints(services));
  return services;
}

Status CheckHttpBaseUrl(const std::string& url) {
  size_t host_start = 0;
  if (url.rfind("http://", 0) == 0) {
    host_start = 7;
  } else if (url.rfind("https://", 0) == 0) {
    host_start = 8;
  } else {
    return InvalidArgument("'" + url + "' is not an http:// or https:// URL");
  }
  if (url.find_first_of(" \t\r\n,?#") != std::string::npos) {
    return InvalidArgument("'" + url + "' is not one URL without query or fragment");
  }
  size_t host_end = std::min(url.find('/', host_start), url.size());
  if (host_end == host_start) return InvalidArgument("'" + url + "' has no host");
  return Status::Ok();
}

}  // namespace flare
