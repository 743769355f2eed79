// Readers and writers for the tool's files. Every reader error is an InputError that names the
// file, line and column (or JSON key), what it found and what it expected.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronoscale {

// A parsed CSV file: a header and rows of text cells. CRLF line ends, a UTF-8 BOM, quoted fields
// (with "" escapes and embedded commas or newlines) and blank lines are accepted.
class CsvTable {
 public:
  std::string path;                            // as given, for messages
  std::vector<std::string> header;             // trimmed column names
  std::vector<std::vector<std::string>> rows;  // every row has header.size() cells
  std::vector<int> line_of_row;                // 1-based line in the file where each row starts

  // Index of the column named `name` (exact, case-sensitive), or -1.
  int Column(std::string_view name) const;
  // Index of `name`; throws InputError naming the file and the columns it has.
  int RequireColumn(std::string_view name) const;

  const std::string& Text(std::size_t row, int col) const { return rows.at(row).at(col); }
  // A finite number; throws InputError "file:line:col (column 'x'): expected a number, found ..".
  double Number(std::size_t row, int col) const;
  // A finite number in [min_value, max_value].
  double NumberIn(std::size_t row, int col, double min_value, double max_value) const;
  // An integer in [min_value, max_value] (a value like 1024.0 is accepted, 1024.5 is not).
  int64_t Integer(std::size_t row, int col, int64_t min_value, int64_t max_value) const;
  // "path:line:col (column 'name')" for messages.
  std::string Where(std::size_t row, int col) const;
};

// Parses CSV text; `name` is used in messages. Throws InputError on an empty file, a missing
// header, duplicated or empty column names, rows with the wrong number of cells, binary data.
CsvTable ParseCsv(std::string_view text, const std::string& name);
// Reads and parses a CSV file; a missing or unreadable file is an InputError.
CsvTable ReadCsv(const std::string& path);

// Input limits. A file larger than MaxInputBytes() (512 MiB, or CHRONOSCALE_MAX_INPUT_MB) is an
// InputError naming the limit; so is JSON nested deeper than kMaxJsonDepth.
inline constexpr double kDefaultMaxInputBytes = 512.0 * 1024 * 1024;
inline constexpr int kMaxJsonDepth = 256;
double MaxInputBytes();
// CSV limits, each an InputError naming the file, the line and the limit: rows (10 million, or
// CHRONOSCALE_MAX_CSV_ROWS), columns (10,000, or CHRONOSCALE_MAX_CSV_COLUMNS) and the length of
// one cell (1 MiB, or CHRONOSCALE_MAX_CSV_CELL_KB). No run file needs more; a file that does is
// almost surely not one.
struct CsvLimits {
  int64_t rows = 10'000'000;
  int64_t columns = 10'000;
  int64_t cell_bytes = 1 << 20;
};
CsvLimits CurrentCsvLimits();
// A limit a user may move through the environment: the value of `key` (a whole number in
// (0, 2^40 / scale)) times `scale`, else `fallback` when the variable is unset or unusable.
int64_t LimitFromEnv(const char* key, int64_t fallback, int64_t scale = 1);

// Reads a whole file; a missing or unreadable file, binary data (a NUL byte in the first 4 KiB)
// and a file over the limit are InputErrors naming it; running out of memory is a RuntimeError.
std::string ReadTextFile(const std::string& path);
// Parses JSON; a syntax error is an InputError with the line and column.
nlohmann::json ParseJson(std::string_view text, const std::string& name);
nlohmann::json ReadJsonFile(const std::string& path);

// Output written as it is produced that replaces its target only when complete: a temporary in
// the same folder (the target's mode, or what the umask allows a new file), flushed and renamed
// over the target by Commit(), so an interrupted run leaves the previous file intact and no
// temporary behind (also on SIGINT/SIGTERM). FIFOs, terminals and devices are written through,
// never replaced; a symlink's target is replaced and the link kept; a write-protected file is
// refused even as root. An empty path is stdout. Every failure (a missing folder, ENOSPC) is a
// RuntimeError with the cause; destroyed without Commit(), the temporary is removed.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // Buffered (1 MiB): rows can be written one by one.
  void Write(std::string_view text);
  void Commit();
  // Bytes written so far.
  std::size_t written() const { return written_; }

 private:
  void Flush();
  void Drain(std::string_view text);
  void Abandon();
  [[noreturn]] void Fail(int err);

  std::string given_, path_, tmp_, buffer_;
  int fd_ = -1;
  int slot_ = -1;  // the temporary's slot in the signal handler's list; -1: written through
  unsigned mode_ = 0;
  bool committed_ = false;
  std::size_t written_ = 0;
};

// One OutputFile: `content` to `path`, atomically.
void WriteFileAtomic(const std::string& path, std::string_view content);

// `text` with control characters (terminal escapes included) written as \xNN, for echoing
// user-supplied text in messages and reports. `keep_lines` (a report or a JSON document) keeps
// newlines, tabs and DEL, so that a JSON document passes through unchanged.
std::string Printable(std::string_view text, bool keep_lines = false);

// Quotes a CSV cell when it needs it.
std::string CsvCell(std::string_view text);

// FNV-1a 64-bit hash of a file's bytes as 16 hex digits ("" if unreadable); for provenance.
std::string HashFile(const std::string& path);
// {"path": ..., "fnv1a64": ...} for a JSON document's "inputs" list.
nlohmann::json InputProvenance(const std::string& path);

// Shared JSON field readers for the tool's documents. `where` names the file (and object) in
// messages; a missing key, a wrong type or a non-finite or out-of-range value is an InputError.
// A [min, max] pair at `key`: finite, lowest <= min <= max; InputError naming the key otherwise.
std::pair<double, double> JsonRange(const nlohmann::json& object, const std::string& key,
                                    const std::string& where, double lowest);
double JsonNumber(const nlohmann::json& object, const std::string& key, const std::string& where,
                  double min_value, double max_value);
double JsonNumberOr(const nlohmann::json& object, const std::string& key, const std::string& where,
                    double min_value, double max_value, double fallback);
std::string JsonString(const nlohmann::json& object, const std::string& key,
                       const std::string& where);

}  // namespace chronoscale
