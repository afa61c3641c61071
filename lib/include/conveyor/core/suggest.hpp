#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace conveyor {

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates);

/// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

} // namespace conveyor
