// Anomaly detection: NaN / Inf in a forward op or a backward node raise an error naming it.
#include "test_helpers.h"

using namespace tg;

TEST_CASE("without the guard NaN flows silently, as in PyTorch") {
  Tensor x = tensor<double>({-1.0, 4.0}).requires_grad_();
  Tensor y = sqrt(x).sum();
  y.backward();
  CHECK(std::isnan(x.grad().to_vector<double>()[0]));
}

TEST_CASE("a forward op producing NaN is named with its output shape") {
  autograd::DetectAnomalyGuard guard;
  Tensor x = tensor<double>({-1.0, 4.0}).requires_grad_();
  CHECK_THROWS_WITH_ALL(log(x), "anomaly detection", "forward op Log", "float64[2]");
}

TEST_CASE("a backward node producing Inf names its forward op and creation site") {
  Tensor x = tensor<double>({0.0, 4.0}).requires_grad_();
  autograd::DetectAnomalyGuard guard;
  Tensor y;
  {
    autograd::CreationSiteGuard site("critic");
    autograd::CreationSiteGuard inner("penalty");
    y = sqrt(x).sum();  // forward is finite: sqrt(0) = 0; backward 1 / (2 sqrt(0)) is inf
  }
  CHECK_THROWS_WITH_ALL(y.backward(), "backward node SqrtBackward", "Inf", "forward op Sqrt",
                        "critic/penalty", "float64[2]");
}

TEST_CASE("the guard restores the previous state") {
  CHECK_FALSE(autograd::anomaly_detection_enabled());
  {
    autograd::DetectAnomalyGuard on;
    CHECK(autograd::anomaly_detection_enabled());
    {
      autograd::DetectAnomalyGuard off(false);
      CHECK_FALSE(autograd::anomaly_detection_enabled());
    }
    CHECK(autograd::anomaly_detection_enabled());
  }
  CHECK_FALSE(autograd::anomaly_detection_enabled());
}
