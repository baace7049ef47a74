#include "plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/xml_escape.h"

namespace flare::bench {
namespace {

constexpr double kWidth = 900, kHeight = 760;
constexpr double kLeft = 80, kRight = 860;  // plot area, both panels
constexpr int kBinsPerDecade = 10;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A value with at most 3 significant digits and no trailing zeros.
std::string Label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 1000 ? "%.0f" : "%.3g", v);
  return buf;
}

// 1, 2 or 5 times a power of ten, at least v / 4: a tick step for 0..v.
double NiceStep(double v) {
  double raw = std::max(v, 1e-9) / 4;
  double p = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

struct Panel {
  double top, bottom;     // pixel rows of the plot area
  double x0, x1, y0, y1;  // data ranges (x possibly as log10)
  double X(double x) const { return kLeft + (x - x0) / (x1 - x0) * (kRight - kLeft); }
  double Y(double y) const { return bottom - (y - y0) / (y1 - y0) * (bottom - top); }
};

void Axes(std::ostringstream& svg, const Panel& p, const std::string& title,
          const std::string& x_label, const std::string& y_label) {
  svg << "<text x=\"" << Num(kLeft) << "\" y=\"" << Num(p.top - 10) << "\" font-weight=\"bold\">"
      << XmlEscape(title) << "</text>\n";
  svg << "<rect x=\"" << Num(kLeft) << "\" y=\"" << Num(p.top) << "\" width=\""
      << Num(kRight - kLeft) << "\" height=\"" << Num(p.bottom - p.top)
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
  svg << "<text x=\"" << Num((kLeft + kRight) / 2) << "\" y=\"" << Num(p.bottom + 36)
      << "\" text-anchor=\"middle\">" << XmlEscape(x_label) << "</text>\n";
  svg << "<text transform=\"translate(20," << Num((p.top + p.bottom) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << XmlEscape(y_label) << "</text>\n";
}

void XTick(std::ostringstream& svg, const Panel& p, double x, const std::string& text) {
  svg << "<line x1=\"" << Num(p.X(x)) << "\" x2=\"" << Num(p.X(x)) << "\" y1=\"" << Num(p.top)
      << "\" y2=\"" << Num(p.bottom) << "\" stroke=\"#ddd\"/>\n";
  svg << "<text x=\"" << Num(p.X(x)) << "\" y=\"" << Num(p.bottom + 16)
      << "\" text-anchor=\"middle\">" << XmlEscape(text) << "</text>\n";
}

void YTicks(std::ostringstream& svg, const Panel& p, const std::string& unit) {
  double step = NiceStep(p.y1 - p.y0);
  for (double y = p.y0; y <= p.y1 + step * 1e-6; y += step) {
    svg << "<line x1=\"" << Num(kLeft) << "\" x2=\"" << Num(kRight) << "\" y1=\"" << Num(p.Y(y))
        << "\" y2=\"" << Num(p.Y(y)) << "\" stroke=\"#ddd\"/>\n";
    svg << "<text x=\"" << Num(kLeft - 6) << "\" y=\"" << Num(p.Y(y) + 4)
        << "\" text-anchor=\"end\">" << Label(y) << unit << "</text>\n";
  }
}

void Polyline(std::ostringstream& svg, const std::string& id, const std::string& colour,
              const std::vector<std::pair<double, double>>& points) {
  svg << "<polyline id=\"" << id << "\" fill=\"none\" stroke=\"" << colour
      << "\" stroke-width=\"2\" points=\"";
  for (size_t i = 0; i < points.size(); ++i)
    svg << (i ? " " : "") << Num(points[i].first) << "," << Num(points[i].second);
  svg << "\"/>\n";
}

void Legend(std::ostringstream& svg, const Panel& p, int row, const std::string& colour,
            const std::string& text) {
  double y = p.top + 18 + 18 * row;
  svg << "<line x1=\"" << Num(kRight - 190) << "\" x2=\"" << Num(kRight - 160) << "\" y1=\""
      << Num(y - 4) << "\" y2=\"" << Num(y - 4) << "\" stroke=\"" << colour
      << "\" stroke-width=\"2\"/>\n";
  svg << "<text x=\"" << Num(kRight - 152) << "\" y=\"" << Num(y) << "\">" << XmlEscape(text)
      << "</text>\n";
}

// Percent of the samples per log-scale bin; bin b covers 10^((lo+b)/kBinsPerDecade) ms.
std::vector<double> LogBins(const Histogram& h, int lo, int bins) {
  std::vector<double> share(static_cast<size_t>(bins), 0);
  if (h.count() == 0) return share;
  h.ForEach([&](uint64_t us, uint64_t n) {
    double ms = std::max(static_cast<double>(us), 1.0) / 1000.0;
    int b = static_cast<int>(std::floor(std::log10(ms) * kBinsPerDecade)) - lo;
    b = std::clamp(b, 0, bins - 1);
    share[static_cast<size_t>(b)] +=
        100.0 * static_cast<double>(n) / static_cast<double>(h.count());
  });
  return share;
}

void LatencyPanel(std::ostringstream& svg, const PlotData& d) {
  uint64_t max_us = std::max<uint64_t>({d.ack_latency.max(), d.delivery_latency.max(), 1000});
  int lo_decade = -2;  // 10 us
  int hi_decade = static_cast<int>(std::ceil(std::log10(static_cast<double>(max_us) / 1000.0)));
  hi_decade = std::max(hi_decade, lo_decade + 1);
  int lo = lo_decade * kBinsPerDecade, bins = (hi_decade - lo_decade) * kBinsPerDecade;
  auto ack = LogBins(d.ack_latency, lo, bins), del = LogBins(d.delivery_latency, lo, bins);
  double top = 1;
  for (double v : ack) top = std::max(top, v);
  for (double v : del) top = std::max(top, v);
  Panel p{110,
          390,
          static_cast<double>(lo_decade),
          static_cast<double>(hi_decade),
          0,
          NiceStep(top) * std::ceil(top / NiceStep(top))};
  Axes(svg, p, "Latency distribution (every sample; log-scale bins, 10 per decade)",
       "latency (ms, log scale)", "share of messages (%)");
  for (int dec = lo_decade; dec <= hi_decade; ++dec) XTick(svg, p, dec, Label(std::pow(10, dec)));
  YTicks(svg, p, "%");
  auto steps = [&](const std::vector<double>& share) {
    std::vector<std::pair<double, double>> pts;
    for (int b = 0; b < bins; ++b) {
      double x0 = static_cast<double>(lo + b) / kBinsPerDecade, x1 = x0 + 1.0 / kBinsPerDecade;
      double y = p.Y(share[static_cast<size_t>(b)]);
      pts.emplace_back(p.X(x0), y);
      pts.emplace_back(p.X(x1), y);
    }
    return pts;
  };
  Polyline(svg, "ack-latency", "#1f77b4", steps(ack));
  Polyline(svg, "delivery-latency", "#ff7f0e", steps(del));
  auto q = [](const Histogram& h) {
    return " (p50 " + Label(static_cast<double>(h.Quantile(0.5)) / 1000) + ", p99 " +
           Label(static_cast<double>(h.Quantile(0.99)) / 1000) + " ms)";
  };
  Legend(svg, p, 0, "#1f77b4", d.ack_label + q(d.ack_latency));
  Legend(svg, p, 1, "#ff7f0e", d.delivery_label + q(d.delivery_latency));
}

void ThroughputPanel(std::ostringstream& svg, const PlotData& d) {
  double per_s = 1000.0 / static_cast<double>(std::max<int64_t>(1, d.bucket_ms));
  size_t n = std::max(d.acked.size(), d.delivered.size());
  double seconds = std::max(1.0, static_cast<double>(n * static_cast<size_t>(d.bucket_ms)) / 1000);
  double top = 1;
  for (int64_t v : d.acked) top = std::max(top, static_cast<double>(v) * per_s);
  for (int64_t v : d.delivered) top = std::max(top, static_cast<double>(v) * per_s);
  Panel p{470, 700, 0, seconds, 0, NiceStep(top) * std::ceil(top / NiceStep(top))};
  Axes(svg, p, "Throughput over time (per " + std::to_string(d.bucket_ms) + " ms)",
       "time since the measured window started (s)", "messages/s");
  double xstep = NiceStep(seconds);
  for (double x = 0; x <= seconds + 1e-9; x += xstep) XTick(svg, p, x, Label(x));
  YTicks(svg, p, "");
  auto line = [&](const std::vector<int64_t>& counts) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < counts.size(); ++i) {
      double mid = (static_cast<double>(i) + 0.5) * static_cast<double>(d.bucket_ms) / 1000;
      pts.emplace_back(p.X(mid), p.Y(static_cast<double>(counts[i]) * per_s));
    }
    return pts;
  };
  Polyline(svg, "acked-per-s", "#1f77b4", line(d.acked));
  Polyline(svg, "delivered-per-s", "#ff7f0e", line(d.delivered));
  Legend(svg, p, 0, "#1f77b4", "acked/s");
  Legend(svg, p, 1, "#ff7f0e", "delivered/s");
}

struct Series {
  std::string id, colour, label;
  std::vector<double> values;  // one per sample
};

// Values over time (x in minutes), from 0 up, in the rows top..bottom.
void SeriesPanel(std::ostringstream& svg, double top, double bottom, const std::string& title,
                 const std::string& y_label, const std::vector<double>& minutes,
                 const std::vector<Series>& series) {
  double span = minutes.empty() ? 1 : std::max(minutes.back(), 1e-3);
  double peak = 1e-9;
  for (const auto& s : series)
    for (double v : s.values) peak = std::max(peak, v);
  double step = NiceStep(peak);
  Panel p{top, bottom, 0, span, 0, step * std::ceil(peak * 1.05 / step)};
  Axes(svg, p, title, "minutes since the load started", y_label);
  double xstep = NiceStep(span);
  for (double x = 0; x <= span + 1e-9; x += xstep) XTick(svg, p, x, Label(x));
  YTicks(svg, p, "");
  for (size_t k = 0; k < series.size(); ++k) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < series[k].values.size() && i < minutes.size(); ++i)
      pts.emplace_back(p.X(minutes[i]), p.Y(series[k].values[i]));
    Polyline(svg, series[k].id, series[k].colour, pts);
    Legend(svg, p, static_cast<int>(k), series[k].colour, series[k].label);
  }
}

std::string Header(double height, const std::string& title, const std::string& subtitle) {
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << Num(kWidth) << "\" height=\""
      << Num(height) << "\" viewBox=\"0 0 " << Num(kWidth) << " " << Num(height)
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << Num(kWidth / 2) << "\" y=\"28\" text-anchor=\"middle\" font-size=\"15\" "
      << "font-weight=\"bold\">" << XmlEscape(title) << "</text>\n"
      << "<text x=\"" << Num(kWidth / 2) << "\" y=\"50\" text-anchor=\"middle\">"
      << XmlEscape(subtitle) << "</text>\n";
  return svg.str();
}

}  // namespace

std::string RenderPlot(const PlotData& d) {
  std::ostringstream svg;
  svg << Header(kHeight, d.title, d.subtitle);
  LatencyPanel(svg, d);
  ThroughputPanel(svg, d);
  svg << "</svg>\n";
  return svg.str();
}

std::string RenderSamples(const std::string& title, const std::vector<Sample>& samples) {
  std::vector<double> minutes;
  Series rss{"rss", "#1f77b4", "server RSS (MiB)", {}},
      fds{"fds", "#2ca02c", "open descriptors", {}}, wal{"wal", "#9467bd", "WAL (MiB)", {}};
  Series ack50{"ack-p50", "#1f77b4", "send→ack p50", {}},
      ack99{"ack-p99", "#aec7e8", "send→ack p99", {}},
      del50{"delivery-p50", "#ff7f0e", "send→delivery p50", {}},
      del99{"delivery-p99", "#ffbb78", "send→delivery p99", {}};
  Series cpu{"server-cpu", "#1f77b4", "server CPU", {}},
      cpu_pressure{"cpu-pressure", "#d62728", "CPU pressure", {}},
      io_pressure{"io-pressure", "#9467bd", "I/O pressure", {}},
      steal{"steal", "#7f7f7f", "CPU steal", {}},
      checkpoint{"checkpoint", "#2ca02c", "writer in checkpoints", {}};
  constexpr double kMiB = 1048576.0;
  for (const Sample& s : samples) {
    minutes.push_back(s.at_s / 60);
    rss.values.push_back(static_cast<double>(s.rss_bytes) / kMiB);
    fds.values.push_back(static_cast<double>(s.fds));
    wal.values.push_back(static_cast<double>(s.wal_bytes) / kMiB);
    ack50.values.push_back(static_cast<double>(s.ack_p50_us) / 1000);
    ack99.values.push_back(static_cast<double>(s.ack_p99_us) / 1000);
    del50.values.push_back(static_cast<double>(s.delivery_p50_us) / 1000);
    del99.values.push_back(static_cast<double>(s.delivery_p99_us) / 1000);
    cpu.values.push_back(s.server_cpu_pct);
    cpu_pressure.values.push_back(s.cpu_pressure_pct);
    io_pressure.values.push_back(s.io_pressure_pct);
    steal.values.push_back(s.steal_pct);
    checkpoint.values.push_back(s.checkpoint_pct);
  }
  std::string subtitle = std::to_string(samples.size()) + " samples";
  std::ostringstream svg;
  svg << Header(1530, title, subtitle);
  SeriesPanel(svg, 100, 330, "Server memory", "MiB", minutes, {rss});
  SeriesPanel(svg, 390, 620, "Open descriptors", "descriptors", minutes, {fds});
  SeriesPanel(svg, 680, 910, "SQLite WAL", "MiB", minutes, {wal});
  SeriesPanel(svg, 970, 1200, "Latency per interval", "ms", minutes, {ack50, ack99, del50, del99});
  SeriesPanel(svg, 1260, 1490, "Machine and checkpoints, % of each interval", "%", minutes,
              {cpu, cpu_pressure, io_pressure, steal, checkpoint});
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace flare::bench
