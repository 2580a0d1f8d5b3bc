// metrics.csv, SVG line charts and the HTML report. Plain text formats written by hand: no
// dependency beyond the standard library.
#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace examples {
namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f.good()) throw std::runtime_error("cannot write " + path);
}

// One CSV line; 10 significant digits keep steps and times exact enough to resume from.
template <typename T>
void write_row(std::ostream& f, const std::vector<T>& row) {
  f << std::setprecision(10);
  for (size_t i = 0; i < row.size(); ++i) f << (i ? "," : "") << row[i];
  f << "\n";
}

// The fields of one CSV line (metrics.csv has no quoting: names and numbers only).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream s(line);
  for (std::string field; std::getline(s, field, ',');) fields.push_back(field);
  return fields;
}

// "Nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `range`.
double tick_step(double range, int n) {
  const double raw = range / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10.0 * mag;
}

}  // namespace

MetricsLog::MetricsLog(std::string path, int64_t resumed_step) : path_(std::move(path)) {
  std::ifstream in(path_);
  std::string line;
  if (resumed_step <= 0 || !std::getline(in, line)) return;
  columns_ = split_csv(line);
  const auto step = std::find(columns_.begin(), columns_.end(), "step");
  while (std::getline(in, line)) {
    std::vector<double> values;
    for (const std::string& v : split_csv(line)) values.push_back(std::strtod(v.c_str(), nullptr));
    if (step != columns_.end() && values.size() == columns_.size() && values[step - columns_.begin()] <= resumed_step)
      rows_.push_back(values);
  }
  in.close();
  std::ofstream f(path_, std::ios::trunc);
  write_row(f, columns_);
  for (const auto& r : rows_) write_row(f, r);
  if (!f.good()) throw std::runtime_error("cannot write " + path_);
}

void MetricsLog::append(const std::vector<std::pair<std::string, double>>& row) {
  const bool first = columns_.empty();
  if (first)
    for (const auto& [name, v] : row) columns_.push_back(name);
  std::vector<double> values(columns_.size(), NAN);
  for (const auto& [name, v] : row) {
    auto it = std::find(columns_.begin(), columns_.end(), name);
    if (it == columns_.end()) throw std::runtime_error("metrics: unknown column " + name);
    values[it - columns_.begin()] = v;
  }
  rows_.push_back(values);
  std::ofstream f(path_, first ? std::ios::trunc : std::ios::app);
  if (first) write_row(f, columns_);
  write_row(f, values);
  if (!f.good()) throw std::runtime_error("cannot write " + path_);
}

std::vector<double> MetricsLog::column(const std::string& name) const {
  auto it = std::find(columns_.begin(), columns_.end(), name);
  if (it == columns_.end()) return {};
  std::vector<double> out;
  for (const auto& r : rows_) out.push_back(r[it - columns_.begin()]);
  return out;
}

void write_line_chart_svg(const std::string& path, const std::string& title, const std::string& x_label,
                          const std::vector<double>& x,
                          const std::vector<std::pair<std::string, std::vector<double>>>& series) {
  const double W = 720, H = 400, left = 60, right = 160, top = 36, bottom = 44;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (double v : x) x0 = std::min(x0, v), x1 = std::max(x1, v);
  for (const auto& [name, ys] : series)
    for (double v : ys)
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  if (!(x1 > x0)) x0 -= 1, x1 += 1;
  if (!(y1 > y0)) y0 -= 1, y1 += 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto px = [&](double v) { return left + (v - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double v) { return H - bottom - (v - y0) / (y1 - y0) * (H - top - bottom); };
  const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << W / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << html_escape(title) << "</text>\n";
  const double ys = tick_step(y1 - y0, 6), xs = tick_step(x1 - x0, 8);
  for (double v = std::ceil(y0 / ys) * ys; v <= y1; v += ys)
    s << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << py(v) << "\" y2=\"" << py(v)
      << "\" stroke=\"#e6e6e6\"/><text x=\"" << left - 6 << "\" y=\"" << py(v) + 4
      << "\" text-anchor=\"end\">" << v << "</text>\n";
  for (double v = std::ceil(x0 / xs) * xs; v <= x1; v += xs)
    s << "<text x=\"" << px(v) << "\" y=\"" << H - bottom + 16 << "\" text-anchor=\"middle\">" << v << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << W - left - right << "\" height=\""
    << H - top - bottom << "\" fill=\"none\" stroke=\"#444\"/>\n"
    << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">"
    << html_escape(x_label) << "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& [name, yv] = series[k];
    const char* c = colours[k % 8];
    s << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"1.5\" points=\"";
    for (size_t i = 0; i < std::min(x.size(), yv.size()); ++i)
      if (std::isfinite(yv[i])) s << px(x[i]) << "," << py(yv[i]) << " ";
    s << "\"/>\n<line x1=\"" << W - right + 12 << "\" x2=\"" << W - right + 32 << "\" y1=\""
      << top + 12 + 18 * k << "\" y2=\"" << top + 12 + 18 * k << "\" stroke=\"" << c
      << "\" stroke-width=\"2\"/><text x=\"" << W - right + 38 << "\" y=\"" << top + 16 + 18 * k
      << "\">" << html_escape(name) << "</text>\n";
  }
  s << "</svg>\n";
  write_text(path, s.str());
}

void write_report_html(const std::string& path, const Report& r) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(r.title)
    << "</title>\n<style>body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;}"
       "table{border-collapse:collapse}td{padding:2px 12px;border-bottom:1px solid #ddd}"
       "figure{display:inline-block;margin:6px}img{image-rendering:pixelated;border:1px solid #ccc}</style>"
       "</head><body>\n<h1>" << html_escape(r.title) << "</h1>\n";
  for (const auto& n : r.notes) s << "<p>" << html_escape(n) << "</p>\n";
  s << "<h2>Settings</h2>\n<table>\n";
  for (const auto& [k, v] : r.settings) s << "<tr><td>" << html_escape(k) << "</td><td>" << html_escape(v) << "</td></tr>\n";
  s << "</table>\n<h2>Curves</h2>\n";
  for (const auto& c : r.charts) s << "<p><img src=\"" << html_escape(c) << "\" alt=\"" << html_escape(c) << "\"></p>\n";
  s << "<h2>Samples</h2>\n";
  for (const auto& [caption, file] : r.images)
    s << "<figure><img src=\"" << html_escape(file) << "\" width=\"256\"><figcaption>" << html_escape(caption)
      << "</figcaption></figure>\n";
  s << "</body></html>\n";
  write_text(path, s.str());
}

}  // namespace examples
