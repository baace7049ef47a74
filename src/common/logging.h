// Logging setup over spdlog: text, or one JSON object per line (for
// Loki-style collectors) carrying the ids of the request being handled.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace flare {

// log.format: "text" | "json". Logs go to stderr.
Status SetupLogging(const std::string& level, const std::string& format);

// The formatter SetupLogging installs for `format`; InvalidArgument for an
// unknown one. A JSON line is {"ts","level","thread","msg"} plus
// "request_id" and "trace_id" when a LogContext on the logging thread set
// them.
Result<std::unique_ptr<spdlog::formatter>> NewLogFormatter(const std::string& format);

// The ids of the request this thread handles, for as long as the object
// lives (log lines written on the thread meanwhile carry them). Nests: the
// previous ids come back when it ends. The views must outlive it.
class LogContext {
 public:
  explicit LogContext(std::string_view request_id, std::string_view trace_id = {});
  ~LogContext();
  LogContext(const LogContext&) = delete;
  LogContext& operator=(const LogContext&) = delete;

  static const LogContext* Current();
  std::string_view request_id() const { return request_id_; }
  std::string_view trace_id() const { return trace_id_; }

 private:
  std::string_view request_id_, trace_id_;
  const LogContext* previous_;
};

}  // namespace flare
