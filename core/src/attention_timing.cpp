#include "chronoscale/attention_timing.h"

#include <algorithm>
#include <chrono>

#include "chronoscale/attention_calibrate.h"
#include "chronoscale/stats.h"

namespace chronoscale {

std::vector<double> TimeAttention(const AttentionOptions& options, const HeadTensor<float>& q,
                                  const HeadTensor<float>& k, const HeadTensor<float>& v,
                                  const RandomFeatureMap* map, int repeats) {
  HeadTensor<float> out;
  Attention(options, q, k, v, &out, map);  // warm-up
  std::vector<double> times;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    Attention(options, q, k, v, &out, map);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times;
}

std::vector<LengthTiming> TimeAcrossLengths(const AttentionOptions& options,
                                            const RandomFeatureMap* map,
                                            const SyntheticOptions& at_length_l, int repeats,
                                            const HardwareProfile& hardware) {
  std::vector<AttentionKernel> kernels{options.kernel};
  if (IsRandomFeature(options.kernel)) kernels.push_back(AttentionKernel::kFlash);
  std::vector<LengthTiming> out;
  for (AttentionKernel kernel : kernels) {
    for (int64_t div : {8, 4, 2, 1}) {
      SyntheticOptions so = at_length_l;
      so.seq = std::max<int64_t>(16, at_length_l.seq / div);
      so.decay_ratio = 1;
      HeadTensor<float> q, k, v;
      MakeSyntheticInputs(so, &q, &k, &v);
      AttentionOptions ko = options;
      ko.kernel = kernel;
      LengthTiming t;
      t.kernel = kernel;
      t.seq = so.seq;
      t.measured_s =
          Median(TimeAttention(ko, q, k, v, kernel == options.kernel ? map : nullptr, repeats));
      t.predicted_s =
          PredictAttentionSeconds(kernel, so.batch, so.heads, so.seq, so.dim, options.features,
                                  options.causal, Precision::kFp32, hardware);
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace chronoscale
