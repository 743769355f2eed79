#include <fmt/format.h>

#include <chronoscale/error.h>
#include <chronoscale/hardware.h>

#include "cli_common.h"
#include "commands.h"

namespace chronoscale::cli {

void SetupHardware(CLI::App& app) {
  auto* sub = app.add_subcommand("hardware", "list hardware presets or show one profile");
  sub->require_subcommand(1);
  auto* list = sub->add_subcommand("list", "list the compiled-in presets");
  auto* show = sub->add_subcommand("show", "print a preset or profile file as JSON");
  static std::string name;
  show->add_option("NAME", name, "preset name or profile JSON file")->required();
  list->callback([] {
    std::string text = fmt::format("{:<16} {:>10} {:>12} {:>12} {:>10}  {}\n", "name", "memory",
                                   "bandwidth", "bf16 matmul", "launch", "source");
    for (const auto& n : HardwarePresetNames()) {
      const HardwareProfile h = LoadHardware(n);
      text +=
          fmt::format("{:<16} {:>8.0f}GB {:>8.2f}TB/s {:>7.0f}TFLOP/s {:>8.1f}us  {:.60}\n", n,
                      h.memory_bytes / 1e9, h.mem_bandwidth_bytes_per_s / 1e12,
                      h.MatmulRate(Precision::kBf16) / 1e12, h.launch_overhead_s * 1e6, h.source);
    }
    Emit(text, "");
  });
  show->callback([] { Emit(HardwareToJson(LoadHardware(name)).dump(2), ""); });
}

}  // namespace chronoscale::cli
