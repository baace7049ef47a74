#include "rpc/common/trace_context.h"

#include <algorithm>

namespace flare {
namespace {

thread_local const TraceContext* current_trace = nullptr;

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// `digits` random lowercase hex digits, never all zero.
std::string RandomHex(Random& random, size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  while (out.empty() || AllZero(out)) {
    out.clear();
    uint64_t bits = 0;
    for (size_t i = 0; i < digits; ++i) {
      if (i % 16 == 0) bits = random.Next();
      out += kHex[bits & 0xf];
      bits >>= 4;
    }
  }
  return out;
}

}  // namespace

std::string TraceParent::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "00-" + trace_id + "-" + parent_id + "-";
  out += kHex[flags >> 4];
  out += kHex[flags & 0xf];
  return out;
}

std::optional<TraceParent> TraceParent::Parse(std::string_view h) {
  // version(2) - trace id(32) - parent id(16) - flags(2) = 55 characters.
  constexpr size_t kLength = 55;
  if (h.size() < kLength || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view version = h.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? h.size() != kLength : h.size() > kLength && h[kLength] != '-') {
    return std::nullopt;
  }
  TraceParent tp;
  tp.trace_id = std::string(h.substr(3, 32));
  tp.parent_id = std::string(h.substr(36, 16));
  std::string_view flags = h.substr(53, 2);
  if (!IsLowerHex(tp.trace_id) || AllZero(tp.trace_id) || !IsLowerHex(tp.parent_id) ||
      AllZero(tp.parent_id) || !IsLowerHex(flags)) {
    return std::nullopt;
  }
  tp.flags = static_cast<uint8_t>(HexValue(flags[0]) * 16 + HexValue(flags[1]));
  return tp;
}

TraceParent NewTrace(Random& random) {
  return TraceParent{RandomHex(random, 32), RandomHex(random, 16), 0x01};
}

TraceParent ChildSpan(const TraceParent& parent, Random& random) {
  return TraceParent{parent.trace_id, RandomHex(random, 16), parent.flags};
}

const TraceContext* CurrentTrace() { return current_trace; }

ScopedTrace::ScopedTrace(TraceContext context)
    : context_(std::move(context)), previous_(current_trace) {
  current_trace = &context_;
}

ScopedTrace::~ScopedTrace() { current_trace = previous_; }

}  // namespace flare
