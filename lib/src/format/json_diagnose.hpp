#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor::json::detail {

inline constexpr int kMaxDepth = 1024;

struct Problem {
    std::size_t offset = 0;
    std::string message;
};

/// A plain recursive-descent validator with the parser's rules, used only after the fast parser
/// has rejected a document: it finds the first problem and says what it is in words. Returns
/// nullopt when it finds nothing wrong.
std::optional<Problem> diagnose(std::string_view text);

/// 1-based line and byte column of `offset` in `text`.
void locate(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column);

} // namespace conveyor::json::detail
