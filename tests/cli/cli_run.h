// Runs the chronoscale binary for black-box tests: exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace chronoscale::test {

struct CliResult {
  int code = -1;
  std::string out, err;
};

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "chronoscale-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to `name` (which may hold folders, created as needed); returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `s` in single quotes for the shell, any single quote in it escaped.
inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

namespace detail {

// Runs `chronoscale <args>` through the shell, in `cwd` unless it is empty; stderr goes to
// `dir`/.stderr.
inline CliResult Run(const std::string& args, const TempDir& dir, const std::string& cwd) {
  const std::string err_path = dir.File(".stderr");
  std::string cmd = Quote(CHRONOSCALE_CLI) + " " + args + " 2>" + Quote(err_path);
  if (!cwd.empty()) cmd = "cd " + Quote(cwd) + " && " + cmd;
  CliResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = Slurp(err_path);
  return r;
}

}  // namespace detail

// `args` is appended to the binary's path as is (quote paths with spaces yourself, e.g. with
// Quote). stderr is captured in `dir`/.stderr.
inline CliResult RunCli(const std::string& args, const TempDir& dir) {
  return detail::Run(args, dir, "");
}

// As RunCli, with `dir` as the working folder: relative paths in `args` (and so in messages)
// name files in `dir`.
inline CliResult RunCliIn(const std::string& args, const TempDir& dir) {
  return detail::Run(args, dir, dir.path().string());
}

// As RunCli, for tests without a folder of their own: stderr goes to a temporary folder that is
// removed afterwards.
inline CliResult RunCli(const std::string& args) {
  const TempDir scratch;
  return RunCli(args, scratch);
}

}  // namespace chronoscale::test
