// Timing the attention kernels on this machine: one kernel run repeatedly after a warm-up, and
// one kernel across sequence lengths beside its prediction (chronoscale attention and its --plot).
// Calibration (attention_calibrate.h) times its grid its own way, per cell and thread.
#pragma once

#include <cstdint>
#include <vector>

#include "chronoscale/attention.h"
#include "chronoscale/hardware.h"

namespace chronoscale {

// Seconds of `repeats` runs (at least one) after one untimed warm-up, sorted ascending.
std::vector<double> TimeAttention(const AttentionOptions& options, const HeadTensor<float>& q,
                                  const HeadTensor<float>& k, const HeadTensor<float>& v,
                                  const RandomFeatureMap* map, int repeats);

struct LengthTiming {
  AttentionKernel kernel = AttentionKernel::kFlash;
  int64_t seq = 0;
  double measured_s = 0;   // median of the repeats
  double predicted_s = 0;  // the cost model's roofline on `hardware`, fp32
};

// The options' kernel (and exact flash beside a random-feature one) at L/8, L/4, L/2 and L (at
// least 16) on synthetic fp32 inputs of the same batch, heads, width, tau and seed; `map` is the
// kernel's feature map (null for exact kernels).
std::vector<LengthTiming> TimeAcrossLengths(const AttentionOptions& options,
                                            const RandomFeatureMap* map,
                                            const SyntheticOptions& at_length_l, int repeats,
                                            const HardwareProfile& hardware);

}  // namespace chronoscale
