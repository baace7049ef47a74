// One libcurl multi event loop on one thread, shared by the HTTP push
// providers (APNs over HTTP/2, FCM, the push webhook): requests from every
// provider run side by side, connections are kept alive (and HTTP/2 ones
// multiplexed) per host. Callbacks run on the loop's thread: they must be
// short and may Submit more requests, but must not call Close.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct HttpRequest {
  enum class Version {
    kHttp1,  // HTTP/1.1
    kHttp2,  // https: HTTP/2 over TLS (ALPN); http: HTTP/2 with prior knowledge (h2c)
  };
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POSTed
  Version version = Version::kHttp1;
  std::string ca_file;  // trust this CA bundle instead of the system's (tests)
  std::chrono::steady_clock::time_point deadline;
  size_t max_response_bytes = 64 * 1024;
};

struct HttpResponse {
  // OK when an HTTP answer arrived (whatever its status); kUnavailable for a
  // network error, a timeout (timed_out) or a closed loop.
  Status transport;
  bool timed_out = false;
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

using HttpCallback = std::function<void(HttpResponse)>;

struct CurlLoopOptions {
  size_t max_in_flight = 8192;  // requests queued or running; more fail at once
};

class CurlLoop {
 public:
  virtual ~CurlLoop() = default;
  // `owner` tags the request for Cancel (a provider passes its own address).
  // `done` runs exactly once, on the loop's thread (or on this one when
  // the loop is closed or full).
  virtual void Submit(const void* owner, HttpRequest request, HttpCallback done) = 0;
  // Fails every queued or running request of `owner` (their `done` runs).
  virtual void Cancel(const void* owner) = 0;
  // Fails everything in flight and refuses later requests. Idempotent.
  virtual void Close() = 0;
};

std::shared_ptr<CurlLoop> MakeCurlLoop(CurlLoopOptions options = {});

// The delay an HTTP Retry-After header asks for (delta-seconds only), if any.
std::optional<std::chrono::milliseconds> RetryAfter(const HttpResponse& response);

}  // namespace flare
