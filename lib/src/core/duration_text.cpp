#include "conveyor/core/duration_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace conveyor {

std::optional<double> parse_duration_seconds(std::string_view text) noexcept {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end == text.data() || !std::isfinite(v) || v < 0) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    static constexpr std::array<std::pair<std::string_view, double>, 7> kUnits{{
        {"", 1.0},
        {"ms", 0.001},
        {"s", 1.0},
        {"m", 60.0},
        {"min", 60.0},
        {"h", 3600.0},
        {"d", 86400.0},
    }};
    for (const auto& [name, factor] : kUnits)
        if (unit == name) {
            const double seconds = v * factor;
            if (!std::isfinite(seconds)) return std::nullopt;
            return seconds;
        }
    return std::nullopt;
}

} // namespace conveyor
