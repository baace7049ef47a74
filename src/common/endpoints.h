// Network endpoints in configuration: "host:port" pairs, lists of them per
// service (discovery.static.services) and http(s) base URLs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace flare {

struct HostPort {
  std::string host;  // without the brackets of "[::1]:80"
  uint16_t port = 0;
};

// "host:port", "[v6]:port"; the port 1..65535.
Result<HostPort> ParseHostPort(std::string_view text);

// "host:port[,host:port...]" (a Kafka bootstrap list).
Status CheckHostPortList(const std::string& list);

// A service name -> instance endpoints map, every endpoint host:port.
using ServiceEndpoints = std::map<std::string, std::vector<std::string>>;

// Checks every name (non-empty) and endpoint of `services`.
Status CheckServiceEndpoints(const ServiceEndpoints& services);

// The one-line form used by environment variables and flags:
// "name=host:port,host:port;name2=host:port" (empty: no services).
Result<ServiceEndpoints> ParseServiceEndpoints(std::string_view text);

// "http://host[:port][/path]" or "https://..." with a non-empty host and no
// query, fragment, whitespace or comma (one URL, not a list).
Status CheckHttpBaseUrl(const std::string& url);

}  // namespace flare
