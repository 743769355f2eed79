// Fuzzes the desktop app's planning-session files (issue 16): ParseJson, SessionFromJson, then
// what the window does with a session it accepted: the plan options it hands the core (which
// validate or refuse with an InputError) and a save/load round trip that must give the same
// inputs. The window itself is Qt; this is the plain-C++ half it reads sessions through.
#include <cstdint>
#include <string>

#include <chronoscale/io.h>
#include <chronoscale/planner.h>

#include "fuzz_common.h"
#include "session.h"

using namespace chronoscale;
using chronoscale::fuzz::Try;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc;
  if (!Try([&] { doc = ParseJson(text, "session.json"); }, "session.json")) return 0;
  gui::SessionInputs in;
  if (!Try([&] { in = gui::SessionFromJson(doc, "session.json"); }, "session.json")) return 0;
  // What was accepted is written back and read again unchanged.
  const nlohmann::json saved = gui::SessionToJson(in);
  const gui::SessionInputs back = gui::SessionFromJson(saved, "round trip");
  CHECK(gui::SameInputs(in, back));
  static const TimeModel model = DefaultTimeModel(LoadHardware("h100-sxm"));
  Try([&] { ResolvePlan(gui::ToPlanRequest(in), model).options.Validate(); });
  return 0;
}
