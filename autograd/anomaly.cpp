// Anomaly-detection state: the flag, the creation-site stack, the finiteness scan.
#include "autograd/anomaly.h"

#include <cmath>
#include <vector>

namespace tg::autograd {
namespace {
thread_local bool t_anomaly = false;
thread_local std::vector<std::string> t_sites;
thread_local bool t_in_backward_node = false;
}  // namespace

DetectAnomalyGuard::DetectAnomalyGuard(bool enabled) : prev_(t_anomaly) { t_anomaly = enabled; }
DetectAnomalyGuard::~DetectAnomalyGuard() { t_anomaly = prev_; }
bool anomaly_detection_enabled() { return t_anomaly; }

CreationSiteGuard::CreationSiteGuard(const std::string& site) { t_sites.push_back(site); }
CreationSiteGuard::~CreationSiteGuard() { t_sites.pop_back(); }

std::string current_creation_site() {
  std::string s;
  for (const auto& part : t_sites) s += (s.empty() ? "" : "/") + part;
  return s;
}

BackwardNodeScope::BackwardNodeScope() : prev_(t_in_backward_node) { t_in_backward_node = true; }
BackwardNodeScope::~BackwardNodeScope() { t_in_backward_node = prev_; }
bool in_backward_node() { return t_in_backward_node; }

int64_t count_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return 0;
  int64_t n = 0;
  for (double v : t.to_vector<double>()) n += !std::isfinite(v);
  return n;
}

}  // namespace tg::autograd
