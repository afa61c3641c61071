#pragma once

// A duration written as text: a number and a unit, as `--jitter 30s`, `--lease 2m` and the
// `[global]` options counted in seconds take it ("500ms", "30s", "5m", "1h").

#include <optional>
#include <string_view>

namespace conveyor {

/// The seconds `text` stands for: a non-negative finite number followed by `ms`, `s`, `m`,
/// `min`, `h` or `d`, or by nothing (seconds). nullopt for anything else.
[[nodiscard]] std::optional<double> parse_duration_seconds(std::string_view text) noexcept;

} // namespace conveyor
