#include "chronoscale/io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>

#include "chronoscale/error.h"

namespace chronoscale {
namespace {

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  if (s.size() > 40) out += "...";
  return "'" + out + "'";
}

}  // namespace

int CsvTable::Column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int CsvTable::RequireColumn(std::string_view name) const {
  const int c = Column(name);
  if (c < 0) {
    std::string have;
    for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
    throw InputError(
        fmt::format("{}:1: missing column '{}' (the header has: {})", path, name, have));
  }
  return c;
}

std::string CsvTable::Where(std::size_t row, int col) const {
  return fmt::format("{}:{}:{} (column '{}')", path, line_of_row.at(row), col + 1,
                     header.at(static_cast<std::size_t>(col)));
}

double CsvTable::Number(std::size_t row, int col) const {
  const std::string& cell = Text(row, col);
  if (cell.empty())
    throw InputError(fmt::format("{}: expected a number, found an empty cell", Where(row, col)));
  double value = 0;
  const char* first = cell.data();
  const char* last = cell.data() + cell.size();
  if (*first == '+' && cell.size() > 1 && cell[1] != '-')
    ++first;  // from_chars takes no '+'; "+-1" stays bad
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range) {
    throw InputError(fmt::format("{}: number {} is out of range", Where(row, col), Shown(cell)));
  }
  if (ec != std::errc() || ptr != last) {
    throw InputError(fmt::format("{}: expected a number, found {}", Where(row, col), Shown(cell)));
  }
  if (!std::isfinite(value)) {
    throw InputError(
        fmt::format("{}: expected a finite number, found {}", Where(row, col), Shown(cell)));
  }
  return value;
}

double CsvTable::NumberIn(std::size_t row, int col, double min_value, double max_value) const {
  const double v = Number(row, col);
  if (v < min_value || v > max_value) {
    throw InputError(fmt::format("{}: {} is out of range; expected a value in [{:g}, {:g}]",
                                 Where(row, col), Text(row, col), min_value, max_value));
  }
  return v;
}

int64_t CsvTable::Integer(std::size_t row, int col, int64_t min_value, int64_t max_value) const {
  const double v = Number(row, col);
  if (v != std::floor(v)) {
    throw InputError(fmt::format("{}: expected a whole number, found {}", Where(row, col),
                                 Shown(Text(row, col))));
  }
  // Compare in double, but keep the cast below defined: 2^63 rounds max() up, so reject it.
  if (v < static_cast<double>(min_value) || v > static_cast<double>(max_value) ||
      v >= 9223372036854775808.0) {
    throw InputError(fmt::format("{}: {} is out of range; expected a whole number in [{}, {}]",
                                 Where(row, col), Text(row, col), min_value, max_value));
  }
  return static_cast<int64_t>(v);
}

int64_t LimitFromEnv(const char* key, int64_t fallback, int64_t scale) {
  const char* v = std::getenv(key);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  const int64_t x = std::strtoll(v, &end, 10);
  return end != v && *end == '\0' && x > 0 && x < (int64_t{1} << 40) / scale ? x * scale : fallback;
}

CsvLimits CurrentCsvLimits() {
  CsvLimits l;
  l.rows = LimitFromEnv("CHRONOSCALE_MAX_CSV_ROWS", l.rows);
  l.columns = LimitFromEnv("CHRONOSCALE_MAX_CSV_COLUMNS", l.columns);
  l.cell_bytes = LimitFromEnv("CHRONOSCALE_MAX_CSV_CELL_KB", l.cell_bytes, 1024);
  return l;
}

namespace {

// The text without a UTF-8 byte order mark.
std::string_view WithoutBom(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  return text;
}

// Refuses binary garbage: NUL bytes or control characters other than tab, CR, LF.
void RejectBinary(std::string_view text, const std::string& name) {
  int line = 1;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') ++line;
    if (u == 0 || (u < 0x20 && c != '\t' && c != '\r' && c != '\n') || u == 0x7f) {
      throw InputError(fmt::format("{}:{}: binary data (byte 0x{:02x}); expected a text CSV file",
                                   name, line, u));
    }
  }
}

// Splits CSV text into records, honouring quotes, within the row, column and cell limits.
class RecordSplitter {
 public:
  RecordSplitter(const CsvLimits& limits, const std::string& name) : limits_(limits), name_(name) {}

  // Splits the whole text into records and the line each starts on.
  void Split(std::string_view text);

  std::vector<std::vector<std::string>> records;
  std::vector<int> record_line;

 private:
  // Ends the field being read: quoted fields keep their spaces, others are trimmed.
  void EndField();
  // Ends the record being read; a blank line is no record.
  void EndRecord();
  // Reads the character at i inside quotes; returns the index of the last one it used.
  std::size_t QuotedChar(std::string_view text, std::size_t i);
  // Reads a character outside quotes.
  void PlainChar(char c);

  const CsvLimits& limits_;
  const std::string& name_;
  std::vector<std::string> fields_;
  std::string field_;
  bool in_quotes_ = false, field_quoted_ = false, any_ = false;
  int line_ = 1, start_line_ = 1;
};

void RecordSplitter::EndField() {
  if (static_cast<int64_t>(fields_.size()) >= limits_.columns) {
    throw InputError(fmt::format(
        "{}:{}: more than {} columns (the CSV column limit; set CHRONOSCALE_MAX_CSV_COLUMNS to "
        "raise it)",
        name_, start_line_, limits_.columns));
  }
  fields_.push_back(field_quoted_ ? field_ : Trim(field_));
  field_.clear();
  field_quoted_ = false;
}

void RecordSplitter::EndRecord() {
  EndField();
  const bool blank = fields_.size() == 1 && fields_[0].empty() && !any_;
  if (!blank) {
    if (static_cast<int64_t>(records.size()) > limits_.rows) {
      throw InputError(fmt::format(
          "{}:{}: more than {} data rows (the CSV row limit; set CHRONOSCALE_MAX_CSV_ROWS to "
          "raise it)",
          name_, start_line_, limits_.rows));
    }
    records.push_back(std::move(fields_));
    record_line.push_back(start_line_);
  }
  fields_.clear();
  any_ = false;
}

std::size_t RecordSplitter::QuotedChar(std::string_view text, std::size_t i) {
  const char c = text[i];
  if (c == '"') {
    if (i + 1 < text.size() && text[i + 1] == '"') {
      field_ += '"';
      ++i;
    } else {
      in_quotes_ = false;
    }
  } else {
    if (c == '\n') ++line_;
    if (c != '\r') field_ += c;
  }
  return i;
}

void RecordSplitter::PlainChar(char c) {
  if (c == '"' && Trim(field_).empty()) {
    in_quotes_ = true;
    field_quoted_ = true;
    field_.clear();
    any_ = true;
  } else if (c == ',') {
    EndField();
    any_ = true;
  } else if (c == '\n') {
    EndRecord();
    ++line_;
    start_line_ = line_;
  } else if (c == '\r') {
    // CRLF: the LF ends the record.
  } else {
    if (field_quoted_ && c != ' ' && c != '\t') {
      throw InputError(fmt::format("{}:{}: text after a closing quote; expected ',' or a line end",
                                   name_, line_));
    }
    field_ += c;
    any_ = true;
  }
}

void RecordSplitter::Split(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (static_cast<int64_t>(field_.size()) >= limits_.cell_bytes) {
      throw InputError(fmt::format(
          "{}:{}: a cell longer than {} KiB (the CSV cell limit; set CHRONOSCALE_MAX_CSV_CELL_KB "
          "to raise it)",
          name_, line_, limits_.cell_bytes / 1024));
    }
    if (in_quotes_) {
      i = QuotedChar(text, i);
      continue;
    }
    PlainChar(text[i]);
  }
  if (in_quotes_)
    throw InputError(fmt::format("{}:{}: a quoted field is never closed", name_, start_line_));
  if (any_ || !field_.empty() || !fields_.empty()) EndRecord();
}

// Refuses empty and repeated column names in the header (on line `line`).
void CheckHeader(const std::vector<std::string>& header, const std::string& name, int line) {
  std::map<std::string_view, std::size_t> seen;  // duplicate names in O(n log n), not O(n^2)
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (header[c].empty()) {
      throw InputError(fmt::format("{}:{}:{}: empty column name in the header{}", name, line, c + 1,
                                   c + 1 == header.size() ? " (a trailing comma?)" : ""));
    }
    const auto [it, fresh] = seen.emplace(header[c], c);
    if (!fresh) {
      throw InputError(fmt::format("{}:{}:{}: column '{}' appears twice (columns {} and {})", name,
                                   line, c + 1, header[c], it->second + 1, c + 1));
    }
  }
}

// Moves the records after the header into the table's rows, refusing a wrong cell count.
void MoveRows(RecordSplitter& split, const std::string& name, CsvTable* table) {
  auto& records = split.records;
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table->header.size()) {
      const bool trailing =
          records[r].size() == table->header.size() + 1 && records[r].back().empty();
      throw InputError(fmt::format("{}:{}: {} cells, but the header has {} columns{}", name,
                                   split.record_line[r], records[r].size(), table->header.size(),
                                   trailing ? " (a trailing comma?)" : ""));
    }
    table->rows.push_back(std::move(records[r]));
    table->line_of_row.push_back(split.record_line[r]);
  }
}

}  // namespace

CsvTable ParseCsv(std::string_view text, const std::string& name) {
  const CsvLimits limits = CurrentCsvLimits();
  CsvTable table;
  table.path = name;
  text = WithoutBom(text);
  RejectBinary(text, name);
  RecordSplitter split(limits, name);
  split.Split(text);
  if (split.records.empty())
    throw InputError(fmt::format("{}: the file is empty; expected a header line and rows", name));
  table.header = split.records[0];
  CheckHeader(table.header, name, split.record_line[0]);
  MoveRows(split, name, &table);
  if (table.rows.empty()) throw InputError(fmt::format("{}: a header but no data rows", name));
  return table;
}

namespace {

// FNV-1a 64 of what ReadTextFile read, by path: provenance hashes what was read, without opening
// the file again (a FIFO or a process substitution would hang or read nothing the second time).
std::mutex g_read_hashes_mutex;
std::map<std::string, std::string> g_read_hashes;

uint64_t Fnv1a(std::string_view bytes, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

double MaxInputBytes() {
  // CHRONOSCALE_MAX_INPUT_MB raises (or lowers) the limit; anything unparsable is ignored.
  if (const char* env = std::getenv("CHRONOSCALE_MAX_INPUT_MB")) {
    char* end = nullptr;
    const double mb = std::strtod(env, &end);
    if (end != env && *end == '\0' && mb > 0 && std::isfinite(mb)) return mb * 1024 * 1024;
  }
  return kDefaultMaxInputBytes;
}

std::string ReadTextFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(fmt::format("{}: is a folder; expected a file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("{}: cannot open for reading ({})", path, std::strerror(errno)));
  }
  const double limit = MaxInputBytes();
  std::string text;
  try {
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      const auto got = static_cast<std::size_t>(in.gcount());
      // Binary data is refused from its first bytes, not after reading all of it.
      if (text.size() < 4096 &&
          std::memchr(buf, '\0', std::min<std::size_t>(got, 4096)) != nullptr) {
        throw InputError(
            fmt::format("{}: binary data (a NUL byte near the start); expected a text file", path));
      }
      if (static_cast<double>(text.size() + got) > limit) {
        throw InputError(fmt::format(
            "{}: larger than the input limit of {:.0f} MiB (set CHRONOSCALE_MAX_INPUT_MB to "
            "raise it)",
            path, limit / (1024 * 1024)));
      }
      text.append(buf, got);
    }
  } catch (const std::bad_alloc&) {
    throw RuntimeError(fmt::format("{}: out of memory after reading {} bytes", path, text.size()));
  }
  if (in.bad()) throw InputError(fmt::format("{}: read failed", path));
  {
    const std::lock_guard<std::mutex> lock(g_read_hashes_mutex);
    g_read_hashes[path] = fmt::format("{:016x}", Fnv1a(text));
  }
  return text;
}

CsvTable ReadCsv(const std::string& path) { return ParseCsv(ReadTextFile(path), path); }

nlohmann::json ParseJson(std::string_view text, const std::string& name) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  // Turns a byte offset into "line:col".
  auto where = [&](std::size_t at) {
    at = std::min(at, text.size());
    int line = 1, col = 1;
    for (std::size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return fmt::format("{}:{}", line, col);
  };
  // Nesting is bounded before parsing: the parser, the destructor and dump() all recurse.
  {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        if (++depth > kMaxJsonDepth) {
          throw InputError(fmt::format("{}:{}: JSON nested deeper than {} levels", name, where(i),
                                       kMaxJsonDepth));
        }
      } else if (c == ']' || c == '}') {
        --depth;
      }
    }
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    const auto p = what.find("parse error");
    if (p != std::string::npos) what = what.substr(p);
    throw InputError(
        fmt::format("{}:{}: invalid JSON: {}", name, where(e.byte == 0 ? 0 : e.byte - 1), what));
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (out_of_range.406 "number overflow parsing '1e999'") has
    // no byte offset: find the token it quotes.
    std::string what = e.what();
    const auto close = what.rfind('\'');
    const auto open =
        close == std::string::npos || close == 0 ? std::string::npos : what.rfind('\'', close - 1);
    std::size_t at = 0;
    if (open != std::string::npos) {
      const auto found = text.find(what.substr(open + 1, close - open - 1));
      if (found != std::string_view::npos) at = found;
    }
    const auto p = what.find("] ");
    if (p != std::string::npos) what = what.substr(p + 2);
    throw InputError(
        fmt::format("{}:{}: invalid JSON: {}; expected a finite number", name, where(at), what));
  }
}

nlohmann::json ReadJsonFile(const std::string& path) { return ParseJson(ReadTextFile(path), path); }

std::string Printable(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool control = keep_lines ? u < 0x20 && c != '\n' && c != '\t' : u < 0x20 || u == 0x7f;
    if (control) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

std::string CsvCell(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string HashFile(const std::string& path) {
  {
    const std::lock_guard<std::mutex> lock(g_read_hashes_mutex);
    const auto it = g_read_hashes.find(path);
    if (it != g_read_hashes.end()) return it->second;
  }
  // Only regular files are opened again: a FIFO would block and a device never end.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return "";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  uint64_t h = 1469598103934665603ULL;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    h = Fnv1a(std::string_view(buf, static_cast<std::size_t>(in.gcount())), h);
  }
  return fmt::format("{:016x}", h);
}

nlohmann::json InputProvenance(const std::string& path) {
  return {{"path", path}, {"fnv1a64", HashFile(path)}};
}

std::pair<double, double> JsonRange(const nlohmann::json& object, const std::string& key,
                                    const std::string& where, double lowest) {
  const auto it = object.find(key);
  const bool ok = it != object.end() && it->is_array() && it->size() == 2 && (*it)[0].is_number() &&
                  (*it)[1].is_number() && std::isfinite((*it)[1].get<double>()) &&
                  (*it)[0].get<double>() >= lowest &&
                  (*it)[0].get<double>() <= (*it)[1].get<double>();
  if (!ok) {
    throw InputError(
        fmt::format("{}: key '{}' must be [min, max] with {:g} <= min <= max", where, key, lowest));
  }
  return {(*it)[0].get<double>(), (*it)[1].get<double>()};
}

double JsonNumber(const nlohmann::json& object, const std::string& key, const std::string& where,
                  double min_value, double max_value) {
  if (!object.is_object()) throw InputError(fmt::format("{}: expected a JSON object", where));
  const auto it = object.find(key);
  if (it == object.end()) throw InputError(fmt::format("{}: missing key '{}'", where, key));
  if (!it->is_number()) {
    throw InputError(
        fmt::format("{}: key '{}' must be a number, found {}", where, key, it->dump()));
  }
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < min_value || v > max_value) {
    throw InputError(fmt::format("{}: key '{}' is {}; expected a value in [{:g}, {:g}]", where, key,
                                 it->dump(), min_value, max_value));
  }
  return v;
}

double JsonNumberOr(const nlohmann::json& object, const std::string& key, const std::string& where,
                    double min_value, double max_value, double fallback) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
  return JsonNumber(object, key, where, min_value, max_value);
}

std::string JsonString(const nlohmann::json& object, const std::string& key,
                       const std::string& where) {
  if (!object.is_object()) throw InputError(fmt::format("{}: expected a JSON object", where));
  const auto it = object.find(key);
  if (it == object.end()) throw InputError(fmt::format("{}: missing key '{}'", where, key));
  if (!it->is_string()) {
    throw InputError(
        fmt::format("{}: key '{}' must be a string, found {}", where, key, it->dump()));
  }
  return it->get<std::string>();
}

}  // namespace chronoscale
