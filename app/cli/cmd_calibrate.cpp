// chronoscale calibrate: time the attention kernels here over a grid, compare with the cost
// model, fit its coefficients and write the calibrated profile and the cross-validated table.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include <chronoscale/attention_calibrate.h>
#include <chronoscale/error.h>
#include <chronoscale/hardware.h>
#include <chronoscale/io.h>

#include "cli_common.h"
#include "commands.h"
#include "plot_hooks.h"

namespace chronoscale::cli {

namespace {

struct CalibrateArgs {
  std::string hardware = "local";
  std::string kernels;
  std::string out;
  std::string out_profile;
  std::string plot;
  bool quick = false;
  bool causal = false;
  int repeats = 0;
  int threads = 0;
  uint64_t seed = 0;
  Format format = Format::kTable;
};

std::vector<AttentionKernel> ParseKernels(const std::string& list) {
  std::vector<AttentionKernel> kernels;
  if (list.empty()) return kernels;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    AttentionKernel k;
    if (!Parse(item, &k)) {
      throw InputError(
          fmt::format("--kernels: unknown kernel '{}'; expected a comma-separated list "
                      "of softmax, flash, favor, favor-orth, favor-hyp, optimal, dark",
                      item));
    }
    if (std::find(kernels.begin(), kernels.end(), k) == kernels.end()) kernels.push_back(k);
  }
  if (kernels.empty()) throw InputError("--kernels: expected at least one kernel name");
  return kernels;
}

void RunCalibrate(const CalibrateArgs& a) {
  CalibrateOptions options;
  options.kernels = ParseKernels(a.kernels);
  if (a.quick) options.MakeQuick();
  if (a.repeats > 0) options.repeats = a.repeats;
  options.threads = a.threads;
  options.causal = a.causal;
  options.seed = a.seed;
  std::vector<std::string> inputs;
  if (!IsHardwarePreset(a.hardware) && a.hardware != "local") inputs.push_back(a.hardware);
  if (!a.out.empty()) CheckNotInput(a.out, inputs, "--out");
  if (!a.out_profile.empty()) CheckNotInput(a.out_profile, inputs, "--out-profile");
  if (!a.plot.empty()) {
    CheckPlotPath(a.plot);
    CheckNotInput(a.plot, inputs, "--plot");
  }
  if (!a.out.empty() && !a.out_profile.empty() && a.out == a.out_profile) {
    throw InputError("--out and --out-profile name the same file");
  }
  const HardwareProfile hardware = ResolveHardware(a.hardware);
  const CalibrateSummary summary =
      CalibrateAttention(options, hardware, TerminalProgress("calibrate"));

  if (!a.out.empty()) {
    std::string csv = "kernel,seq_len,d_head,features,measured_s,predicted_s,roofline_s\n";
    for (const auto& p : summary.points) {
      csv += fmt::format("{},{},{},{},{:.6e},{:.6e},{:.6e}\n", ToString(p.kernel), p.seq_len,
                         p.d_head, p.features, p.measured_s, p.predicted_s, p.model_s);
    }
    WriteFileAtomic(a.out, csv);
    Diag("wrote " + a.out);
  }
  if (!a.out_profile.empty()) {
    nlohmann::json doc = HardwareToJson(summary.calibrated);
    const nlohmann::json provenance = Provenance(inputs);
    for (const auto& [key, value] : provenance.items()) doc[key] = value;
    WriteFileAtomic(a.out_profile, doc.dump(2) + "\n");
    Diag("wrote " + a.out_profile);
  }
  if (!a.plot.empty()) RenderCalibratePlot(summary, a.plot);
  if (a.format == Format::kJson) {
    nlohmann::json doc = Provenance(inputs);
    doc["hardware"] = hardware.name;
    doc["median_rel_error_before"] = summary.median_error_before;
    doc["median_rel_error"] = summary.median_error_after;
    doc["median_rel_error_global"] = summary.median_error_global;
    doc["max_rel_error"] = summary.max_error_after;
    doc["seconds"] = summary.total_s;
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : summary.points) {
      points.push_back({{"kernel", ToString(p.kernel)},
                        {"seq_len", p.seq_len},
                        {"d_head", p.d_head},
                        {"features", p.features},
                        {"measured_s", p.measured_s},
                        {"predicted_s", p.predicted_s},
                        {"roofline_s", p.model_s}});
    }
    doc["points"] = points;
    doc["profile"] = HardwareToJson(summary.calibrated);
    Emit(doc.dump(2), "");
  } else {
    Emit(summary.FullReport(), "");
  }
}

}  // namespace

void SetupCalibrate(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "calibrate", "time the attention kernels here and fit the cost model's coefficients");
  auto a = std::make_shared<CalibrateArgs>();
  sub->add_option("--hardware", a->hardware,
                  "profile to calibrate: local (default), a preset or a JSON file");
  sub->add_option("--kernels", a->kernels, "comma-separated kernels (default: all seven)");
  sub->add_option("--out", a->out,
                  "CSV: kernel, seq_len, d_head, features, measured_s, predicted_s (k-fold)");
  sub->add_option("--out-profile", a->out_profile, "JSON: the calibrated hardware profile");
  sub->add_flag("--quick", a->quick, "a smaller grid (seq 256..2048, d 64, 3 repeats)");
  sub->add_flag("--causal", a->causal, "time the causal kernels");
  sub->add_option("--repeats", a->repeats, "timed runs per point (default 5, quick 3)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--threads", a->threads, "worker threads (default: every CPU)")
      ->check(CLI::Range(0, 4096));
  sub->add_option("--seed", a->seed, "seed of the inputs and features");
  AddFormatOption(sub, &a->format, false);
  sub->add_option("--plot", a->plot,
                  "measured and predicted kernel time vs sequence length (PNG or SVG)");
  sub->callback([a] { RunCalibrate(*a); });
}

}  // namespace chronoscale::cli
