// Errors in three tiers (STYLE.md): programmer errors assert; bad user input throws InputError
// (the CLI exits 2, the GUI shows a dialog); runtime failures throw RuntimeError (exit 1).
#pragma once

#include <stdexcept>
#include <string>

namespace chronoscale {

// Bad user input: a malformed file, a missing file, a field out of range. The message names the
// file, line, column, key or flag, what was found and what was expected.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// A failure at run time with well-formed input: a fit that does not converge, a failed write,
// no usable device. The message gives the cause.
class RuntimeError : public std::runtime_error {
 public:
  explicit RuntimeError(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when a progress callback asked to stop.
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace chronoscale
