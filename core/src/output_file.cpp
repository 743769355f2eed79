// OutputFile and WriteFileAtomic: output that replaces its target only when complete.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "chronoscale/error.h"
#include "chronoscale/io.h"

namespace chronoscale {
namespace {

// The temporaries being written, removed by SIGINT/SIGTERM (async-signal-safe: fixed buffers and
// unlink), so an interrupted run leaves no ".NAME.tmp-*" behind. A few may be open at once (a
// streamed sweep beside a plot, say).
constexpr int kSlots = 8;
char g_tmp_path[kSlots][4096];
volatile std::sig_atomic_t g_tmp_active[kSlots] = {};
struct sigaction g_previous[2];
std::mutex g_slot_mutex;

void RemoveTmpAndReraise(int sig) {
  for (int k = 0; k < kSlots; ++k) {
    if (g_tmp_active[k]) ::unlink(g_tmp_path[k]);
  }
  ::sigaction(sig, &g_previous[sig == SIGINT ? 0 : 1], nullptr);
  ::raise(sig);
}

// Installs the handler unless it is in place (another library may have replaced it since),
// keeping the handler it replaces to pass the signal on to.
void InstallCleanup() {
  const int signals[2] = {SIGINT, SIGTERM};
  for (int k = 0; k < 2; ++k) {
    struct sigaction current {};
    ::sigaction(signals[k], nullptr, &current);
    if (current.sa_handler == RemoveTmpAndReraise) continue;
    struct sigaction sa {};
    sa.sa_handler = RemoveTmpAndReraise;
    sigemptyset(&sa.sa_mask);
    ::sigaction(signals[k], &sa, &g_previous[k]);
  }
}

// Registers `tmp` for removal on a signal; returns its slot (RuntimeError when all are taken).
int ClaimSlot(const std::string& tmp, const std::string& given) {
  if (tmp.size() >= sizeof g_tmp_path[0]) {
    throw RuntimeError(fmt::format("cannot write {}: the path is too long", given));
  }
  InstallCleanup();
  const std::lock_guard<std::mutex> lock(g_slot_mutex);
  for (int k = 0; k < kSlots; ++k) {
    if (g_tmp_active[k]) continue;
    std::memcpy(g_tmp_path[k], tmp.c_str(), tmp.size() + 1);
    g_tmp_active[k] = 1;
    return k;
  }
  throw RuntimeError(fmt::format("cannot write {}: {} outputs are open already", given, kSlots));
}

void ReleaseSlot(int slot) {
  const std::lock_guard<std::mutex> lock(g_slot_mutex);
  g_tmp_active[slot] = 0;
}

// Writes all of `content` to fd; false with errno set on failure.
bool WriteAll(int fd, std::string_view content) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

}  // namespace

OutputFile::OutputFile(const std::string& given) : given_(given) {
  buffer_.reserve(kBufferBytes);
  if (given.empty()) return;  // stdout
  namespace fs = std::filesystem;
  std::error_code ec;
  // A symlink is followed: its target is replaced, the link stays.
  std::string path = given;
  if (fs::is_symlink(given, ec)) {
    const fs::path resolved = fs::weakly_canonical(given, ec);
    if (!ec) path = resolved.string();
  }
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    throw RuntimeError(fmt::format("cannot write {}: it is a folder", given));
  }
  if (exists && !S_ISREG(st.st_mode)) {
    // A FIFO, a terminal or a device (/dev/null, /dev/stdout): written through, never replaced.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) Fail(errno);
    return;
  }
  if (exists && (st.st_mode & 0222) == 0) {
    // Even as root: a file without write permission is one the user protected.
    throw RuntimeError(fmt::format("cannot write {}: it is write-protected (mode {:04o})", given,
                                   st.st_mode & 07777));
  }
  if (exists && ::access(path.c_str(), W_OK) != 0) Fail(errno);
  const fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) {
    throw RuntimeError(fmt::format("cannot write {}: {} '{}' {}", given,
                                   fs::exists(dir, ec) ? "path" : "folder", dir.string(),
                                   fs::exists(dir, ec) ? "is not a folder" : "does not exist"));
  }
  // The new file gets the old one's mode, or what the umask allows a new file.
  if (exists) {
    mode_ = st.st_mode & 07777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode_ = 0666 & ~mask;
  }
  path_ = path;
  tmp_ = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  slot_ = ClaimSlot(tmp_, given);
  // mkstemp fills in the name; the slot's copy is updated before the file exists.
  fd_ = ::mkstemp(tmp_.data());
  if (fd_ < 0) {
    const int err = errno;
    ReleaseSlot(slot_);
    slot_ = -1;
    Fail(err);
  }
  std::memcpy(g_tmp_path[slot_], tmp_.c_str(), tmp_.size() + 1);
}

OutputFile::~OutputFile() { Abandon(); }

void OutputFile::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (slot_ >= 0) {
    ::unlink(tmp_.c_str());
    ReleaseSlot(slot_);
    slot_ = -1;
  }
}

[[noreturn]] void OutputFile::Fail(int err) {
  Abandon();
  throw RuntimeError(fmt::format("cannot write {}: {}", given_.empty() ? "to stdout" : given_,
                                 std::strerror(err)));
}

void OutputFile::Write(std::string_view text) {
  if (committed_) throw std::logic_error("OutputFile::Write after Commit");
  written_ += text.size();
  if (buffer_.size() + text.size() > kBufferBytes) Flush();
  if (text.size() >= kBufferBytes) {
    Drain(text);
  } else {
    buffer_.append(text);
  }
}

void OutputFile::Flush() {
  Drain(buffer_);
  buffer_.clear();
}

void OutputFile::Drain(std::string_view text) {
  if (text.empty()) return;
  if (given_.empty()) {
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!std::cout.good()) Fail(errno != 0 ? errno : EIO);
    return;
  }
  if (!WriteAll(fd_, text)) Fail(errno);
}

void OutputFile::Commit() {
  if (committed_) return;
  Flush();
  committed_ = true;
  if (given_.empty()) {
    std::cout.flush();
    if (!std::cout.good()) Fail(errno != 0 ? errno : EIO);
    return;
  }
  if (slot_ < 0) {  // written through
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) Fail(errno);
    return;
  }
  if (::fchmod(fd_, mode_) != 0 || ::fsync(fd_) != 0) Fail(errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) Fail(errno);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) Fail(errno);
  ReleaseSlot(slot_);
  slot_ = -1;
}

void WriteFileAtomic(const std::string& path, std::string_view content) {
  OutputFile out(path);
  out.Write(content);
  out.Commit();
}

}  // namespace chronoscale
