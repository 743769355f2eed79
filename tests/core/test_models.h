// Time models the tests share: a calibrated model on the h100-sxm datasheet with every term at
// work (both operands of each smooth max positive), for the estimators, the layout search and
// the breakdown.
#pragma once

#include <chronoscale/hardware.h>
#include <chronoscale/step_time.h>

namespace chronoscale::test {

inline TimeModel CalibratedTestModel(CalibratedForm form, double c0_s = 2e-3) {
  TimeModel m = DefaultTimeModel(LoadHardware("h100-sxm"));
  m.calibrated.c0_s = c0_s;
  m.calibrated.matmul_s_per_flop = 1.6e-15;
  m.calibrated.attention_s_per_flop = 3.1e-15;
  m.calibrated.s_per_byte = 4.2e-13;
  m.calibrated.s_per_launch = 9e-6;
  m.calibrated.s_per_tensor_update = 2e-6;
  m.calibrated.sharpness = 4;
  m.calibrated.form = form;
  m.fitted[static_cast<std::size_t>(EstimatorKind::kCalibrated)] = true;
  return m;
}

}  // namespace chronoscale::test
