#include "common/logging.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace flare {
namespace {

thread_local const LogContext* current_context = nullptr;

// One JSON object per line. Every field is escaped by nlohmann (messages
// may hold quotes, newlines or bytes that are not UTF-8: those become
// U+FFFD), so a collector can always parse the line.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["ts"] = Timestamp(msg.time);
    line["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                spdlog::level::to_string_view(msg.level).size());
    line["thread"] = msg.thread_id;
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    if (const LogContext* context = LogContext::Current()) {
      if (!context->request_id().empty()) line["request_id"] = context->request_id();
      if (!context->trace_id().empty()) line["trace_id"] = context->trace_id();
    }
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  // RFC 3339 in UTC with milliseconds: 2026-11-29T19:50:39.123Z.
  static std::string Timestamp(spdlog::log_clock::time_point time) {
    int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(static_cast<time_t>(ms / 1000)),
                       ms % 1000);
  }
};

}  // namespace

LogContext::LogContext(std::string_view request_id, std::string_view trace_id)
    : request_id_(request_id), trace_id_(trace_id), previous_(current_context) {
  current_context = this;
}

LogContext::~LogContext() { current_context = previous_; }

const LogContext* LogContext::Current() { return current_context; }

Result<std::unique_ptr<spdlog::formatter>> NewLogFormatter(const std::string& format) {
  if (format == "json") return std::unique_ptr<spdlog::formatter>(new JsonFormatter());
  if (format == "text") {
    return std::unique_ptr<spdlog::formatter>(
        new spdlog::pattern_formatter("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v"));
  }
  return InvalidArgument("log.format must be text or json, not '" + format + "'");
}

Status SetupLogging(const std::string& level, const std::string& format) {
  auto formatter = NewLogFormatter(format);
  if (!formatter.ok()) return formatter.status();
  auto logger = spdlog::get("flare");
  if (!logger) logger = spdlog::stderr_color_mt("flare");
  logger->set_formatter(std::move(formatter).value());
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  return Status::Ok();
}

}  // namespace flare
