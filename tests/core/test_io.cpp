#include <catch2/catch.hpp>
#include <string>
using namespace std::string_literals;
#include <cmath>
#include <filesystem>
#include <fstream>

#include <chronoscale/checked.h>
#include <chronoscale/error.h>
#include <chronoscale/io.h>

using namespace chronoscale;

TEST_CASE("CSV: BOM, CRLF, quoted fields and blank lines are read correctly") {
  const std::string text =
      "\xEF\xBB\xBF"
      "a,b,\"c d\"\r\n1,\"2,5\",x\r\n\r\n3,4,\"say \"\"hi\"\"\"\r\n";
  const CsvTable t = ParseCsv(text, "mem.csv");
  REQUIRE(t.header == std::vector<std::string>{"a", "b", "c d"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.Text(0, 1) == "2,5");
  CHECK(t.Text(1, 2) == "say \"hi\"");
  CHECK(t.line_of_row[1] == 4);
  CHECK(t.Number(1, 0) == 3.0);
}

TEST_CASE("CSV: errors name file, line and column") {
  CHECK_THROWS_WITH(ParseCsv("", "e.csv"), Catch::Contains("e.csv") && Catch::Contains("empty"));
  CHECK_THROWS_WITH(ParseCsv("a,a\n1,2\n", "d.csv"), Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(ParseCsv("a,b\n1,2,\n", "t.csv"),
                    Catch::Contains("t.csv:2") && Catch::Contains("trailing comma"));
  CHECK_THROWS_WITH(ParseCsv("a,b\n1\0,2\n"s, "bin.csv"), Catch::Contains("binary"));
  const CsvTable t = ParseCsv("x,y\n1,abc\n2,nan\n3,inf\n4,1e999\n", "n.csv");
  CHECK_THROWS_WITH(t.Number(0, 1), Catch::Contains("n.csv:2:2") && Catch::Contains("'abc'"));
  CHECK_THROWS_WITH(t.Number(1, 1), Catch::Contains("n.csv:3:2") && Catch::Contains("finite"));
  CHECK_THROWS_WITH(t.Number(2, 1), Catch::Contains("finite"));
  CHECK_THROWS_WITH(t.Number(3, 1), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(t.Integer(0, 0, 2, 10), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(t.RequireColumn("z"), Catch::Contains("missing column 'z'"));
  CHECK_THROWS_AS(ReadCsv("/nonexistent/file.csv"), InputError);
}

TEST_CASE("JSON parse errors carry line and column") {
  CHECK_THROWS_WITH(ParseJson("{\n  \"a\": 1,\n  \"b\": }\n", "x.json"),
                    Catch::Contains("x.json:3:"));
}

TEST_CASE("Atomic write replaces the file and fails clearly in a missing folder") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "chronoscale_test_io";
  fs::create_directories(dir);
  const std::string path = (dir / "out.txt").string();
  WriteFileAtomic(path, "first");
  WriteFileAtomic(path, "second");
  CHECK(ReadTextFile(path) == "second");
  int leftovers = 0;
  for (const auto& e : fs::directory_iterator(dir))
    leftovers += e.path().filename().string().starts_with(".");
  CHECK(leftovers == 0);
  CHECK_THROWS_WITH(WriteFileAtomic((dir / "missing" / "x.txt").string(), "x"),
                    Catch::Contains("does not exist"));
  fs::remove_all(dir);
}

TEST_CASE("OutputFile streams in pieces and replaces the target only on Commit") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "chronoscale_test_output_file";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "rows.csv").string();
  WriteFileAtomic(path, "previous\n");
  auto temporaries = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string()[0] == '.';
    return n;
  };
  // 3 MiB in 64 KiB rows: past the 1 MiB buffer several times, so pieces reach the temporary.
  const std::string row(65536 - 1, 'x');
  {
    OutputFile out(path);
    for (int i = 0; i < 48; ++i) out.Write(row + "\n");
    CHECK(out.written() == 48u * 65536u);
    CHECK(temporaries() == 1);
    CHECK(ReadTextFile(path) == "previous\n");  // still the old file until Commit
    // A second output open at the same time (a streamed sweep beside a plot).
    WriteFileAtomic((dir / "other.txt").string(), "x");
  }  // destroyed without Commit: abandoned
  CHECK(ReadTextFile(path) == "previous\n");
  CHECK(temporaries() == 0);
  {
    OutputFile out(path);
    for (int i = 0; i < 48; ++i) out.Write(row + "\n");
    out.Commit();
  }
  CHECK(fs::file_size(path) == 48u * 65536u);
  CHECK(temporaries() == 0);
  // A device is written through, never replaced; ENOSPC on /dev/full is reported.
  if (fs::exists("/dev/full")) {
    OutputFile full("/dev/full");
    full.Write("x");
    CHECK_THROWS_WITH(full.Commit(), Catch::Contains("/dev/full") && Catch::Contains("space"));
  }
  fs::remove_all(dir);
}

TEST_CASE("Printable escapes control characters; keep_lines keeps a report's lines") {
  CHECK(Printable("a\x1b[31mb\n") == "a\\x1b[31mb\\x0a");
  CHECK(Printable("a\x1b[31mb\n\tc\x7f", true) == "a\\x1b[31mb\n\tc\x7f");
  CHECK(Printable("{\n  \"k\": \"\\u001b\"\n}", true) == "{\n  \"k\": \"\\u001b\"\n}");
}

TEST_CASE("CSV limits: rows, columns and cell length, each named with its variable") {
  const CsvLimits defaults = CurrentCsvLimits();
  CHECK(defaults.rows == 10'000'000);
  CHECK(defaults.columns == 10'000);
  CHECK(defaults.cell_bytes == 1 << 20);
  setenv("CHRONOSCALE_MAX_CSV_ROWS", "3", 1);
  setenv("CHRONOSCALE_MAX_CSV_COLUMNS", "2", 1);
  setenv("CHRONOSCALE_MAX_CSV_CELL_KB", "1", 1);
  CHECK(ParseCsv("a,b\n1,2\n3,4\n5,6\n", "ok.csv").rows.size() == 3);  // at the limits: fine
  CHECK_THROWS_WITH(ParseCsv("a,b\n1,2\n3,4\n5,6\n7,8\n", "rows.csv"),
                    Catch::Contains("rows.csv:5") && Catch::Contains("more than 3 data rows") &&
                        Catch::Contains("CHRONOSCALE_MAX_CSV_ROWS"));
  CHECK_THROWS_WITH(ParseCsv("a,b,c\n1,2,3\n", "cols.csv"),
                    Catch::Contains("cols.csv:1") && Catch::Contains("more than 2 columns") &&
                        Catch::Contains("CHRONOSCALE_MAX_CSV_COLUMNS"));
  CHECK_THROWS_WITH(ParseCsv("a,b\n" + std::string(2000, 'x') + ",2\n", "cell.csv"),
                    Catch::Contains("cell.csv:2") && Catch::Contains("longer than 1 KiB") &&
                        Catch::Contains("CHRONOSCALE_MAX_CSV_CELL_KB"));
  setenv("CHRONOSCALE_MAX_CSV_ROWS", "not a number", 1);  // ignored: the default holds
  CHECK(CurrentCsvLimits().rows == 10'000'000);
  unsetenv("CHRONOSCALE_MAX_CSV_ROWS");
  unsetenv("CHRONOSCALE_MAX_CSV_COLUMNS");
  unsetenv("CHRONOSCALE_MAX_CSV_CELL_KB");
}

TEST_CASE("checked products: exact below the limit, an error naming what above it") {
  CHECK(CheckedProduct({3, 4, 5}, "x") == 60);
  CHECK(CheckedProduct({0, std::numeric_limits<int64_t>::max()}, "x") == 0);
  CHECK(CheckedProduct({int64_t{1} << 31, int64_t{1} << 31}, "x") == int64_t{1} << 62);
  CHECK_THROWS_WITH(CheckedProduct({int64_t{1} << 32, int64_t{1} << 32}, "cells"),
                    Catch::Contains("cells = 4294967296 x 4294967296 is more than"));
  CHECK_THROWS_WITH(CheckedProduct({1000, 1000}, "widths x depths", 999'999),
                    Catch::Contains("is more than 999999"));
  CHECK_THROWS_WITH(CheckedProduct({2, -1}, "x"), Catch::Contains("negative"));
}
