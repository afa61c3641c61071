#pragma once

#include <string>

namespace conveyor::test {

/// The repository root (for pipelines/ and tests/fixtures/).
inline std::string source_dir() {
    return CONVEYOR_SOURCE_DIR;
}
inline std::string fixture(const std::string& rel) {
    return source_dir() + "/tests/fixtures/" + rel;
}
/// The built `conveyor` binary.
inline std::string conveyor_binary() {
    return CONVEYOR_BINARY;
}
/// ../shared (corpora, bench); tests that need it skip when it is absent.
inline std::string shared_dir() {
    return CONVEYOR_SHARED_DIR;
}

} // namespace conveyor::test
