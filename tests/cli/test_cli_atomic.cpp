// An interrupted write leaves the previous file intact (issue 7): files are written to a hidden
// temporary in the same folder, flushed, then renamed over the target.
//  1. `chronoscale fit-loss --bootstrap ... --out law.json` over an existing law.json, killed
//     with SIGKILL mid-run at several moments: law.json keeps its old bytes.
//  2. WriteFileAtomic itself, killed while it writes a large file (the test sees the temporary
//     partly written before it kills): the target keeps the old content, never a prefix.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include <chronoscale/io.h>

#include "cli_run.h"

using chronoscale::test::Slurp;
using chronoscale::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string LossRuns() {
  std::string text = "params,tokens,loss\n";
  for (double n : {3e7, 1e8, 3e8, 1e9, 3e9}) {
    for (double ratio : {5.0, 20.0, 80.0}) {
      const double d = ratio * n;
      char line[128];
      std::snprintf(line, sizeof line, "%.6g,%.6g,%.6f\n", n, d,
                    1.8169 + 482.01 / std::pow(n, 0.3478) + 2085.43 / std::pow(d, 0.3658));
      text += line;
    }
  }
  return text;
}

// Files in `dir` other than `keep`, the names a reader would see under the final name.
std::vector<std::string> VisibleExtras(const fs::path& dir, const std::vector<std::string>& keep) {
  std::vector<std::string> extra;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (std::find(keep.begin(), keep.end(), name) != keep.end()) continue;
    if (!name.empty() && name[0] == '.') continue;  // a hidden temporary of an interrupted write
    extra.push_back(name);
  }
  return extra;
}

// Starts `argv` in `dir` with stdout and stderr to /dev/null; returns the child's pid.
pid_t Spawn(const fs::path& dir, const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    std::FILE* null = std::fopen("/dev/null", "w");
    if (null) {
      ::dup2(::fileno(null), 1);
      ::dup2(::fileno(null), 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE(
    "fit-loss killed mid-run (in its bootstrap, before it writes) leaves the previous law.json "
    "intact",
    "[cli][atomic]") {
  TempDir dir;
  dir.Write("runs.csv", LossRuns());
  const std::string old_law =
      R"({"law": {"form": "chinchilla", "E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}})"
      "\n";
  dir.Write("law.json", old_law);
  int killed = 0;
  for (int delay_ms : {50, 200, 600, 1500}) {
    const pid_t pid =
        Spawn(dir.path(), {CHRONOSCALE_CLI, "fit-loss", "--runs", "runs.csv", "--bootstrap",
                           "1000000", "--threads", "1", "--out", "law.json"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("killed after " << delay_ms << " ms");
    REQUIRE(WIFSIGNALED(status));  // a million resamples take far longer than the delays
    ++killed;
    CHECK(Slurp(dir.path() / "law.json") == old_law);
    CHECK(VisibleExtras(dir.path(), {"runs.csv", "law.json"}).empty());
  }
  CHECK(killed == 4);

  // Left alone, the same command replaces the file with a whole new document.
  const pid_t pid = Spawn(dir.path(), {CHRONOSCALE_CLI, "fit-loss", "--runs", "runs.csv",
                                       "--bootstrap", "50", "--out", "law.json"});
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto doc = nlohmann::json::parse(Slurp(dir.path() / "law.json"));
  CHECK(doc.contains("law"));
  CHECK(doc["law"]["alpha"].get<double>() > 0.3);
  CHECK(VisibleExtras(dir.path(), {"runs.csv", "law.json"}).empty());
}

TEST_CASE("WriteFileAtomic killed mid-write never leaves a partial file", "[io][atomic]") {
  // The child writes one large file once; the parent watches the hidden temporary grow and
  // kills the child while it is partly written (seen with 0 < size < full), i.e. during the
  // write itself. The target must still hold the old content, and the temporary must have
  // stayed partial (the kill landed before the write finished).
  TempDir dir;
  const fs::path target = dir.path() / "big.csv";
  const std::string old_text = "old,content\n1,2\n";
  dir.Write("big.csv", old_text);
  const std::size_t size = 192u << 20;
  int mid_write = 0;
  for (int attempt = 0; attempt < 30 && mid_write < 3; ++attempt) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        const std::string text(size, 'n');
        chronoscale::WriteFileAtomic(target.string(), text);
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    // Poll for the temporary with some but not all bytes; kill at once when seen.
    bool seen = false;
    fs::path tmp;
    for (;;) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) break;  // finished before we saw it
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir.path(), ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(".big.csv.tmp-", 0) != 0) continue;
        const auto n = fs::file_size(e.path(), ec);
        if (!ec && n > 0 && n < size) {
          ::kill(pid, SIGKILL);
          seen = true;
          tmp = e.path();
        }
      }
      if (seen) {
        int killed = 0;
        REQUIRE(::waitpid(pid, &killed, 0) == pid);
        seen = WIFSIGNALED(killed);
        break;
      }
    }
    if (!seen) {
      // Missed this one (the write finished first): put the old content back and try again.
      dir.Write("big.csv", old_text);
      continue;
    }
    std::error_code ec;
    const auto left = fs::file_size(tmp, ec);
    INFO("attempt " << attempt << ": temporary has " << left << " of " << size << " bytes");
    if (ec || left >= size) {
      // The write completed between the poll and the signal; not a mid-write kill.
      dir.Write("big.csv", old_text);
      continue;
    }
    ++mid_write;
    CHECK(Slurp(target) == old_text);
    CHECK(VisibleExtras(dir.path(), {"big.csv"}).empty());
  }
  CHECK(mid_write == 3);
  // Hidden temporaries of the killed writes remain; none is under the final name.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    CHECK((name == "big.csv" || name.rfind(".big.csv.tmp-", 0) == 0));
  }
}

TEST_CASE("Outputs: devices and FIFOs are written through, links followed, modes kept",
          "[io][outputs]") {
  TempDir dir;
  using chronoscale::WriteFileAtomic;
  SECTION("/dev/null stays a device; /dev/full reports that the disk is full") {
    struct stat before {};
    REQUIRE(::stat("/dev/null", &before) == 0);
    WriteFileAtomic("/dev/null", "x,y\n1,2\n");
    struct stat after {};
    REQUIRE(::stat("/dev/null", &after) == 0);
    CHECK(S_ISCHR(after.st_mode));
    CHECK(after.st_rdev == before.st_rdev);
    if (fs::exists("/dev/full")) {
      CHECK_THROWS_WITH(WriteFileAtomic("/dev/full", std::string(1 << 16, 'x')),
                        Catch::Contains("No space left"));
    }
  }
  SECTION("a FIFO is written through, not replaced by a file") {
    const std::string fifo = dir.File("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    std::string got;
    std::thread reader([&] { got = Slurp(fifo); });
    WriteFileAtomic(fifo, "through the pipe\n");
    reader.join();
    CHECK(got == "through the pipe\n");
    struct stat st {};
    REQUIRE(::lstat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
  }
  SECTION("a symlink keeps pointing at its target, which gets the new content") {
    dir.Write("real.json", "{}\n");
    const std::string link = dir.File("link.json");
    REQUIRE(::symlink("real.json", link.c_str()) == 0);
    WriteFileAtomic(link, "{\"new\": 1}\n");
    CHECK(fs::is_symlink(link));
    CHECK(Slurp(dir.File("real.json")) == "{\"new\": 1}\n");
  }
  SECTION("a write-protected file is refused and kept, even as root; modes follow the target") {
    dir.Write("keep.json", "old\n");
    const std::string keep = dir.File("keep.json");
    REQUIRE(::chmod(keep.c_str(), 0444) == 0);
    CHECK_THROWS_WITH(WriteFileAtomic(keep, "new\n"), Catch::Contains("write-protected"));
    CHECK(Slurp(keep) == "old\n");
    dir.Write("mode.json", "old\n");
    const std::string mode = dir.File("mode.json");
    REQUIRE(::chmod(mode.c_str(), 0600) == 0);
    WriteFileAtomic(mode, "new\n");
    struct stat st {};
    REQUIRE(::stat(mode.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const mode_t old_mask = ::umask(027);
    WriteFileAtomic(dir.File("fresh.json"), "new\n");
    ::umask(old_mask);
    REQUIRE(::stat(dir.File("fresh.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
  }
}

TEST_CASE("WriteFileAtomic interrupted by SIGTERM removes its temporary", "[io][atomic]") {
  TempDir dir;
  const fs::path target = dir.path() / "big.csv";
  dir.Write("big.csv", "old\n");
  const std::size_t size = 192u << 20;
  int interrupted = 0;
  for (int attempt = 0; attempt < 30 && interrupted < 2; ++attempt) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The test runner's own handlers are not the program's: start from the defaults.
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      const std::string text(size, 'n');
      try {
        chronoscale::WriteFileAtomic(target.string(), text);
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    bool sent = false;
    for (;;) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) break;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir.path(), ec)) {
        const auto n = fs::file_size(e.path(), ec);
        if (e.path().filename().string().rfind(".big.csv.tmp-", 0) == 0 && !ec && n > 0 &&
            n < size) {
          ::kill(pid, SIGTERM);
          sent = true;
        }
      }
      if (sent) {
        int status2 = 0;
        REQUIRE(::waitpid(pid, &status2, 0) == pid);
        sent = WIFSIGNALED(status2) && WTERMSIG(status2) == SIGTERM;
        break;
      }
    }
    if (!sent) {
      dir.Write("big.csv", "old\n");
      continue;
    }
    ++interrupted;
    CHECK(Slurp(target) == "old\n");
    for (const auto& e : fs::directory_iterator(dir.path())) {
      CHECK(e.path().filename().string() == "big.csv");  // no temporary left behind
    }
  }
  CHECK(interrupted == 2);
}
