// Errors in three tiers (STYLE.md): programmer errors assert; bad user input throws InputError
// (the CLI exits 2, the GUI shows a dialog); runtime failures throw RuntimeError (exit 1).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace chronoscale {

// Bad user input: a malformed file, a missing file, a field out of range. The message names the
// file, line, column, key or flag, what was found and what was expected.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
  // An error in one named input. `field` identifies it as the command line spells the option,
  // without the dashes ("hours", "gpus-per-node", "layout"); each front end maps it to its own
  // words (the CLI's flag, a widget's label in the GUI). `detail` is the rest of the message,
  // from its separator on (" -1: expected a positive number of hours"). what() is the CLI's
  // wording: "--" + field + detail.
  InputError(std::string field, std::string detail)
      : std::runtime_error("--" + field + detail),
        m_field(std::move(field)),
        m_detail(std::move(detail)) {}
  const std::string& field() const { return m_field; }    // empty: no single input
  const std::string& detail() const { return m_detail; }  // empty without a field

 private:
  std::string m_field, m_detail;
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
