#pragma once

#include "conveyor/core/diagnostic.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor::config {

/// Checks the limits on pipeline text (conveyor::kMaxPipelineFileBytes and
/// conveyor::kMaxPipelineNesting) before the TOML parser sees it: the parser recurses once per
/// level of nesting, so deep nesting would overflow the stack instead of being reported.
/// Returns where and why the text is refused, or nullopt when it is within the limits.
///
/// The scan is lexical (strings and comments skipped, brackets, braces and dots counted) and
/// never under-counts what the parser will nest: a dotted key `a.b.c`, a table header
/// `[a.b.c]`, an inline table and an array each count one level per part; a dot in a value
/// (`1.5`) may count as one more, which the generous limit absorbs.
struct LimitProblem {
    std::uint32_t line = 0; ///< 1-based; 0 when the problem is the whole text (its size)
    std::uint32_t column = 0;
    std::string message;
};
std::optional<LimitProblem> check_toml_limits(std::string_view text);

} // namespace conveyor::config
