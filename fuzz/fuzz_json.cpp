// Fuzzes the JSON readers: ParseJson, then every document reader on the parsed value (hardware
// profile, time model, loss law, Hugging Face config), and what each result feeds.
#include <cstdint>
#include <string>

#include <chronoscale/hardware.h>
#include <chronoscale/hf_config.h>
#include <chronoscale/io.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/step_time.h>
#include <chronoscale/workload.h>

#include "fuzz_common.h"

using namespace chronoscale;
using chronoscale::fuzz::FiniteNonNegative;
using chronoscale::fuzz::Try;

namespace {

void CheckHardware(const HardwareProfile& h) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kFp64}) {
    Try([&] {
      const double m = h.MatmulRate(p);
      const double v = h.VectorRate(p);
      CHECK(std::isfinite(m) && m > 0);
      CHECK(std::isfinite(v) && v > 0);
    });
  }
  Try([&] { CHECK(std::isfinite(h.ExpRate()) && h.ExpRate() > 0); });
  // Round trip: what we write we can read back.
  Try([&] {
    const HardwareProfile back = HardwareFromJson(HardwareToJson(h), "round trip");
    CHECK(back.name == h.name);
  });
  Try([&] {
    const ModelShape s = ReferenceShape(1024, 8);
    const StepCounts c = CountStep(s, h);
    CHECK(FiniteNonNegative(c.roofline_s));
  });
}

void CheckTimeModel(const TimeModel& m) {
  const ModelShape s = ReferenceShape(1024, 8);
  for (std::size_t i = 0; i < kNumEstimators; ++i) {
    const auto e = static_cast<EstimatorKind>(i);
    if (!m.Has(e)) continue;
    Try([&] { CHECK(FiniteNonNegative(PredictStepSeconds(m, s, e))); });
  }
  Try([&] { TimeModelFromJson(TimeModelToJson(m), "round trip"); });
}

void CheckLaw(const LossLaw& law) {
  const double l = law.Loss(1e9, 2e10);
  CHECK(!std::isnan(l) && l >= 0);
  Try([&] { LossLawFromJson(LossLawToJson(law), "round trip"); });
}

void CheckShape(const ModelShape& s) {
  s.Validate();
  const Workload w = BuildWorkload(s);
  CHECK(FiniteNonNegative(w.total.flops) && FiniteNonNegative(w.total.Bytes()));
  CHECK(FiniteNonNegative(EstimateMemory(s).Total()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc;
  if (!Try([&] { doc = ParseJson(text, "fuzz.json"); }, "fuzz.json")) return 0;
  Try([&] { CheckHardware(HardwareFromJson(doc, "fuzz.json")); }, "fuzz.json");
  Try([&] { CheckTimeModel(TimeModelFromJson(doc, "fuzz.json")); }, "fuzz.json");
  Try([&] { CheckLaw(LossLawFromJson(doc, "fuzz.json")); }, "fuzz.json");
  Try([&] { CheckShape(ShapeFromHfConfig(doc, "fuzz.json")); }, "fuzz.json");
  return 0;
}
