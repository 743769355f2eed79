// Fuzzes the CSV reader: ParseCsv, every typed cell accessor, and the readers built on it (shapes
// per row, step-time runs, loss runs).
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>

#include <chronoscale/io.h>
#include <chronoscale/loss_law.h>
#include <chronoscale/time_fit.h>
#include <chronoscale/workload.h>

#include "fuzz_common.h"

using namespace chronoscale;
using chronoscale::fuzz::Try;

namespace {

const std::string& TempPath() {
  static const std::string path = "/tmp/chronoscale-fuzz-" + std::to_string(::getpid()) + ".csv";
  return path;
}

void CheckCells(const CsvTable& t) {
  const std::size_t max_rows = std::min<std::size_t>(t.rows.size(), 64);
  const int max_cols = static_cast<int>(std::min<std::size_t>(t.header.size(), 32));
  for (std::size_t r = 0; r < max_rows; ++r) {
    for (int c = 0; c < max_cols; ++c) {
      CHECK(t.Where(r, c).find(t.path) == 0);
      Try([&] { CHECK(std::isfinite(t.Number(r, c))); }, t.path);
      Try(
          [&] {
            const double v = t.NumberIn(r, c, -1.0, 1e6);
            CHECK(v >= -1.0 && v <= 1e6);
          },
          t.path);
      Try(
          [&] {
            const int64_t v = t.Integer(r, c, 1, int64_t{1} << 20);
            CHECK(v >= 1 && v <= (int64_t{1} << 20));
          },
          t.path);
      Try(
          [&] {
            t.Integer(r, c, std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max());
          },
          t.path);
    }
  }
}

void CheckShapes(const CsvTable& t) {
  Try(
      [&] {
        const auto shapes = ReadShapes(t);
        CHECK(shapes.size() == t.rows.size());
        for (const auto& s : shapes) {
          s.Validate();  // a shape the reader returned is valid: no throw expected
          const MemoryEstimate m = EstimateMemory(s);
          CHECK(fuzz::FiniteNonNegative(m.Total()));
          CHECK(fuzz::FiniteNonNegative(s.Params()));
        }
      },
      t.path);
}

void CheckFileReaders(std::string_view text) {
  const std::string& path = TempPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  Try(
      [&] {
        const RunsFile f = ReadStepRuns(path);
        CHECK(!f.runs.empty());
        for (const auto& run : f.runs) CHECK(std::isfinite(run.step_s) && run.step_s > 0);
      },
      path);
  for (int variant = 0; variant < 2; ++variant) {
    LossRunsOptions options;
    if (variant == 1) {
      options.flops_column = "flops";
      options.drop_highest = 1;
    }
    Try(
        [&] {
          const LossRunsTable t = LoadLossRuns(path, options);
          for (const auto& run : t.runs) {
            CHECK(std::isfinite(run.params) && run.params > 0);
            CHECK(std::isfinite(run.tokens) && run.tokens > 0);
            CHECK(std::isfinite(run.loss) && run.loss > 0);
          }
        },
        path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CsvTable table;
  if (!Try([&] { table = ParseCsv(text, "fuzz.csv"); }, "fuzz.csv")) return 0;
  CHECK(!table.header.empty());
  CHECK(!table.rows.empty());
  CHECK(table.rows.size() == table.line_of_row.size());
  int last_line = 0;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    CHECK(table.rows[r].size() == table.header.size());
    CHECK(table.line_of_row[r] > last_line);
    last_line = table.line_of_row[r];
  }
  for (const auto& h : table.header) CHECK(!h.empty());
  Try([&] { CHECK(table.RequireColumn(table.header[0]) == 0); });
  Try([&] { table.RequireColumn("d_model"); }, "fuzz.csv");
  CheckCells(table);
  CheckShapes(table);
  CheckFileReaders(text);
  return 0;
}
