// Test support for the Consul registry adapter. No Consul server is
// installable here, so FakeConsulAgent runs tests/support/fake_consul_agent.py
// (a fake of the documented agent endpoints the adapter uses, health
// checks included) as a child process on a free loopback port.
// HealthEndpoint is a real HTTP server (python3 -m http.server over a
// temporary directory) whose health URL answers 200 while healthy and 404
// once SetHealthy(false) removed its file: what the agent's check calls.
#pragma once

#include <cstdint>
#include <string>

#include "support/child_process.h"

namespace flare::testing {

class FakeConsulAgent {
 public:
  // Starts the agent; with a token it refuses requests without it (403).
  explicit FakeConsulAgent(const std::string& acl_token = "");
  bool ok() const { return port_ != 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // GET on the agent (with the token if it has one): status code and body.
  int Get(const std::string& path, std::string* body) const;

 private:
  ChildProcess process_;
  std::string token_;
  uint16_t port_ = 0;
};

class HealthEndpoint {
 public:
  HealthEndpoint();  // healthy
  ~HealthEndpoint();
  bool ok() const { return port_ != 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/healthz"; }
  void SetHealthy(bool healthy);

 private:
  ChildProcess process_;
  std::string dir_;
  uint16_t port_ = 0;
};

}  // namespace flare::testing
