#pragma once

namespace chronoscale {

// The tool's version, "MAJOR.MINOR.PATCH", set by CMake.
const char* Version();
// Version of the JSON documents the tool writes.
inline constexpr int kSchemaVersion = 1;

}  // namespace chronoscale
