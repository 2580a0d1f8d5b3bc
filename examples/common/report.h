// What a training run leaves behind: metrics.csv (one row per epoch), losses.svg (the curves)
// and report.html (settings, curves, the sample grids in order) that open in a browser.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace examples {

// Rows of named values; columns are fixed by the first row.
class MetricsLog {
 public:
  // resumed_step > 0 (a run continued with --resume): keeps the rows an earlier run left in
  // `path` up to that step, so the CSV and the curves cover the whole run; otherwise the first
  // append starts the file afresh.
  explicit MetricsLog(std::string path, int64_t resumed_step = 0);
  void append(const std::vector<std::pair<std::string, double>>& row);  // appends to the CSV
  // Every value of a column, in row order.
  std::vector<double> column(const std::string& name) const;
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

// A line chart of several series against a shared x (epoch or step): axes, ticks, legend.
void write_line_chart_svg(const std::string& path, const std::string& title, const std::string& x_label,
                          const std::vector<double>& x,
                          const std::vector<std::pair<std::string, std::vector<double>>>& series);

struct Report {
  std::string title;
  std::vector<std::pair<std::string, std::string>> settings;  // flag, value
  std::vector<std::string> charts;                            // SVG files (relative to the report)
  std::vector<std::pair<std::string, std::string>> images;    // caption, PNG file
  std::vector<std::string> notes;                             // paragraphs of text
};
void write_report_html(const std::string& path, const Report& report);

}  // namespace examples
