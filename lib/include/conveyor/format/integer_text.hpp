#pragma once

// Integers written as text beyond what a double tells apart (20-digit ids read from JSON):
// compared by their digits where doubles would call them equal.

#include <optional>
#include <string_view>

namespace conveyor {

/// The order of two integers written as text ("12345678901234567890" < "12345678901234567891"):
/// an optional '-', digits, and an optional fraction of zeros ("...890.0" is "...890"); nothing
/// when either text is not such an integer (an exponent, a fraction that is not zero).
std::optional<int> compare_integer_texts(std::string_view a, std::string_view b);

} // namespace conveyor
