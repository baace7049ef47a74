// Request and trace ids of the call being served (or made), carried from
// an incoming gRPC call to the calls it makes in turn. W3C Trace Context
// (https://www.w3.org/TR/trace-context/): a `traceparent` names the trace
// and the calling span. No gRPC here: any code may read the current ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ids.h"

namespace flare {

struct TraceParent {
  std::string trace_id;   // 32 lowercase hex digits, not all zero
  std::string parent_id;  // 16 lowercase hex digits, not all zero
  uint8_t flags = 0;      // bit 0: sampled

  // "00-<trace_id>-<parent_id>-<flags>".
  std::string ToString() const;
  // Version 00 exactly; a later version's first four fields (it may append
  // more). nullopt for anything malformed, as the spec says to restart the
  // trace then.
  static std::optional<TraceParent> Parse(std::string_view header);
};

// A new trace with a new span (flags: sampled).
TraceParent NewTrace(Random& random);
// The same trace, a new span id: the parent of an outgoing call.
TraceParent ChildSpan(const TraceParent& parent, Random& random);

struct TraceContext {
  std::string request_id;
  std::string traceparent;  // empty or a valid traceparent
};

// The context of the call this thread is serving; null outside one.
const TraceContext* CurrentTrace();

// Makes `context` the current one until destroyed (then the previous one
// is current again). Not movable: it lives on the serving thread's stack.
class ScopedTrace {
 public:
  explicit ScopedTrace(TraceContext context);
  ~ScopedTrace();
  ScopedTrace(const ScopedTrace&) = delete;
  ScopedTrace& operator=(const ScopedTrace&) = delete;

 private:
  TraceContext context_;
  const TraceContext* previous_;
};

}  // namespace flare
