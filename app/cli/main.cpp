// chronoscale: parse, dispatch, map errors to exit codes (0 ok, 1 runtime failure, 2 bad input).
#include <CLI/CLI.hpp>
#include <iostream>

#include <chronoscale/error.h>
#include <chronoscale/version.h>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace chronoscale;
  CLI::App app{"chronoscale: which transformer to train for a wall-clock budget on given hardware"};
  app.set_version_flag("--version", std::string("chronoscale ") + Version());
  app.require_subcommand(1);
  cli::SetupHardware(app);
  cli::SetupAttention(app);
  cli::SetupCalibrate(app);
  cli::SetupBench(app);
  cli::SetupEstimate(app);
  cli::SetupFitTime(app);
  cli::SetupPlan(app);
  cli::SetupFitLoss(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const Cancelled&) {
    std::cerr << "error: cancelled\n";
    return 1;
  } catch (const RuntimeError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
