// The step totals the FLOP, memcopy and calibrated estimators read, as closed-form sums: for a
// family of shapes that differ only in d_model, n_layers, n_heads and d_ff (a plan's grid), every
// total is a polynomial in the shape's dimensions, linear in the layer count. StepPolynomial finds
// its coefficients from the op list itself (the op walk of CountStep on sample shapes of the
// family, solved exactly by least squares) and keeps them only when they reproduce the op walk to
// 1e-9 on other shapes of the family; otherwise it says so and callers walk the op list. So the
// op list stays the one definition, and a shape costs one small matrix-vector product instead of
// a walk of its ops. The roofline estimator takes a maximum per op, which is no polynomial: it
// always walks. The explanation (--explain) always walks.
#pragma once

#include <Eigen/Core>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chronoscale/hardware.h"
#include "chronoscale/shape.h"
#include "chronoscale/step_time.h"

namespace chronoscale {

class StepPolynomial {
 public:
  // Fits the totals of single-device steps (SingleDevice layouts) on `hw` from `samples`, and
  // checks them on `checks`. Every shape must equal `samples[0]` except in d_model, n_layers,
  // n_heads and d_ff (InputError otherwise) and be valid. usable() tells whether the check passed.
  static StepPolynomial Fit(const std::vector<ModelShape>& samples,
                            const std::vector<ModelShape>& checks, const HardwareProfile& hw);

  // The family of `base` (every shape equal to it but in d_model, n_layers, n_heads and d_ff):
  // fitted on 160 members drawn to vary every dimension independently (head sizes 32, 64 and 128,
  // any d_ff, 1 to 128 layers; a fixed seed), checked on 64 more and on `checks` (the shapes the
  // caller will price, or a sample of them).
  static StepPolynomial ForFamily(const ModelShape& base, const HardwareProfile& hw,
                                  const std::vector<ModelShape>& checks);

  bool usable() const { return usable_; }
  // Largest relative difference from the op walk over the check shapes (over each total's scale).
  double check_error() const { return check_error_; }
  // Why it is not usable ("" when it is).
  const std::string& why_not() const { return why_not_; }
  // Monomials kept (the rest had zero coefficients in every total).
  int terms() const { return static_cast<int>(monomials_.size()); }

  // The counts the FLOP, memcopy and calibrated estimators read (segments, optimizer bytes and
  // tensors, model FLOPs, one device, one micro-step); `total_bytes` gets the step's bytes.
  // Only for shapes of the fitted family and only when usable().
  StepCounts Counts(const ModelShape& shape, double* total_bytes) const;
  // PredictFromCounts on those counts (not the roofline estimator: InputError).
  double Predict(const TimeModel& model, const ModelShape& shape, EstimatorKind e) const;
  // Predict for many shapes of the family at once: out[i] for shapes[i] (the sizes must match),
  // equal to Predict to about 1e-15 relative. The estimator's coefficients are folded into the
  // polynomial (one row per smooth max operand), and the smooth maxima run through Eigen's
  // vectorised exp and log at the CPU's widest SIMD level, or at `isa` ("sse2", "avx2", "avx512")
  // where the CPU has it.
  void PredictMany(const TimeModel& model, EstimatorKind e, std::span<const ModelShape> shapes,
                   std::span<double> out, std::string_view isa = "") const;

 private:
  static constexpr int kVars = 7;  // d, q, kv, f, h, dh, L
  // The totals: 4 segments x (matmul FLOPs, attention FLOPs, bytes, launches), optimizer bytes
  // and tensors, model FLOPs, total bytes.
  static constexpr int kQuantities = 4 * static_cast<int>(kNumSegments) + 4;
  struct Monomial {
    signed char a = -1, b = -1;  // indices of up to two of d..dh (-1: none)
    bool times_layers = false;
  };
  static void RawVariables(const ModelShape& s, double* x);  // d..L as they are
  void Variables(const ModelShape& s, double* x) const;      // over their scales

  std::vector<Monomial> monomials_;
  Eigen::Matrix<double, kQuantities, Eigen::Dynamic> coef_;  // totals x monomials
  double scale_[kVars] = {};
  bool usable_ = false;
  double check_error_ = 0;
  std::string why_not_;
};

}  // namespace chronoscale
