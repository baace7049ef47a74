// flare-bench --plot: one SVG with the run's latency distributions (log
// scale) and its throughput over time. Hand-written SVG, no dependency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "histogram.h"
#include "sampler.h"

namespace flare::bench {

struct PlotData {
  std::string title;                        // the run's parameters
  std::string subtitle;                     // its headline figures
  Histogram ack_latency, delivery_latency;  // us
  std::string ack_label = "send→ack", delivery_label = "send→delivery";
  int64_t bucket_ms = 100;
  std::vector<int64_t> acked, delivered;  // per bucket
};

// The SVG document. Series are <polyline> elements with the ids
// ack-latency, delivery-latency, acked-per-s and delivered-per-s.
std::string RenderPlot(const PlotData& d);

// flare-bench --samples: one SVG of the server's RSS, open descriptors, WAL
// bytes and the latency percentiles over time, a panel each. Series ids:
// rss, fds, wal, ack-p50, ack-p99, delivery-p50, delivery-p99.
std::string RenderSamples(const std::string& title, const std::vector<Sample>& samples);

}  // namespace flare::bench
