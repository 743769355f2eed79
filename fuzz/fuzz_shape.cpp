// Fuzzes shape validation: a ModelShape from arbitrary bytes -> Validate; a shape that passes
// must give finite, non-negative counts everywhere the estimators and the planner look.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include <chronoscale/hardware.h>
#include <chronoscale/shape.h>
#include <chronoscale/step_time.h>
#include <chronoscale/workload.h>

#include "fuzz_common.h"

using namespace chronoscale;
using chronoscale::fuzz::FiniteNonNegative;

namespace {

// Mostly plausible sizes (so that Validate passes often), sometimes anything at all.
int64_t Size(FuzzedDataProvider& p, int64_t hi) {
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return p.ConsumeIntegral<int64_t>();
    case 1:
      return p.ConsumeIntegralInRange<int64_t>(-4, 4);
    case 2:
      return int64_t{1} << p.ConsumeIntegralInRange<int>(0, 40);
    default:
      return p.ConsumeIntegralInRange<int64_t>(1, hi);
  }
}

template <typename E>
E Enum(FuzzedDataProvider& p, int n) {
  return static_cast<E>(p.ConsumeIntegralInRange<int>(0, n - 1));
}

const HardwareProfile& Hardware(int i) {
  static const auto names = HardwarePresetNames();
  static std::vector<HardwareProfile> profiles = [] {
    std::vector<HardwareProfile> v;
    for (const auto& n : names) v.push_back(LoadHardware(n));
    return v;
  }();
  return profiles[static_cast<std::size_t>(i) % profiles.size()];
}

void CheckTotals(const Totals& t) {
  CHECK(FiniteNonNegative(t.flops));
  CHECK(FiniteNonNegative(t.bytes_read));
  CHECK(FiniteNonNegative(t.bytes_written));
  CHECK(FiniteNonNegative(t.exps));
  CHECK(FiniteNonNegative(t.launches));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  ModelShape s;
  s.d_model = Size(p, 1 << 15);
  s.n_layers = Size(p, 200);
  s.n_heads = p.ConsumeBool() ? DefaultHeads(s.d_model) : Size(p, 128);
  s.n_kv_heads = p.ConsumeBool() ? 0 : Size(p, 64);
  s.d_ff = Size(p, 1 << 17);
  s.vocab = Size(p, 1 << 18);
  s.seq_len = Size(p, 1 << 15);
  s.batch = Size(p, 1 << 10);
  s.attention = Enum<AttentionKind>(p, 4);
  s.features = Size(p, 4096);
  s.causal = p.ConsumeBool();
  s.mlp = Enum<MlpKind>(p, 2);
  s.norm = Enum<NormKind>(p, 2);
  s.positions = Enum<PositionKind>(p, 2);
  s.tied_embeddings = p.ConsumeBool();
  s.bias = p.ConsumeBool();
  s.checkpointing = static_cast<chronoscale::Checkpointing>(p.ConsumeIntegralInRange<int>(0, 2));
  s.precision = Enum<Precision>(p, 5);
  s.optimizer = Enum<Optimizer>(p, 2);
  const int hw_index = p.ConsumeIntegral<uint8_t>();
  try {
    s.Validate();
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("shape") != std::string::npos);
    return 0;
  }
  CHECK(!Describe(s).empty());
  CHECK(FiniteNonNegative(s.Params()) && s.Params() > 0);
  CHECK(FiniteNonNegative(s.NonEmbeddingParams()));
  const Workload w = BuildWorkload(s);
  CHECK(!w.ops.empty());
  CheckTotals(w.total);
  CheckTotals(w.per_layer);
  for (const auto& t : w.by_kind) CheckTotals(t);
  for (const auto& t : w.by_phase) CheckTotals(t);
  for (const auto& op : w.ops) {
    CHECK(FiniteNonNegative(op.count) && FiniteNonNegative(op.flops) &&
          FiniteNonNegative(op.bytes_read) && FiniteNonNegative(op.bytes_written) &&
          FiniteNonNegative(op.exps) && FiniteNonNegative(op.launches));
  }
  const MemoryEstimate m = EstimateMemory(s);
  CHECK(FiniteNonNegative(m.weights) && FiniteNonNegative(m.grads) &&
        FiniteNonNegative(m.optimizer) && FiniteNonNegative(m.activations) &&
        FiniteNonNegative(m.logits) && FiniteNonNegative(m.workspace));
  CHECK(FiniteNonNegative(m.Total()));
  const HardwareProfile& hw = Hardware(hw_index);
  const StepCounts c = CountStep(s, hw);
  CHECK(FiniteNonNegative(c.model_flops));
  CHECK(FiniteNonNegative(c.roofline_s) && c.roofline_s > 0);
  CHECK(FiniteNonNegative(c.TotalFlops()) && FiniteNonNegative(c.TotalBytes()));
  const TimeModel model = DefaultTimeModel(hw);
  for (EstimatorKind e :
       {EstimatorKind::kFlops, EstimatorKind::kMemcopy, EstimatorKind::kRoofline}) {
    const double t = PredictStepSeconds(model, s, e);
    CHECK(FiniteNonNegative(t) && t > 0);
  }
  return 0;
}
