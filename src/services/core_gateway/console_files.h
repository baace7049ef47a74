// The web console's files (web/ in the source tree), served at / by the
// core-gateway: GET only, no listing, nothing outside the folder.
#pragma once

#include <string>

#include "services/signaling/gateway/transport.h"

namespace flare {

class ConsoleFiles {
 public:
  explicit ConsoleFiles(std::string root) : root_(std::move(root)) {}
  bool enabled() const { return !root_.empty(); }
  // "/" is index.html; 404 for what is not a file under the root.
  HttpServerResponse Serve(const HttpServerRequest& request) const;

 private:
  std::string root_;
};

// console.root, or the source tree's web/ folder when that is empty and it
// exists; empty when there is no console to serve.
std::string ResolveConsoleRoot(const std::string& configured);

}  // namespace flare
