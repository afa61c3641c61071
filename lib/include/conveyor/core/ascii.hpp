#pragma once

// ASCII case helpers for names that are ASCII by definition (HTTP header names and methods,
// file extensions, option words): no locale involved.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace conveyor {

inline char ascii_lower(char c) noexcept {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
    return out;
}

/// Equal ignoring ASCII case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

/// `s` ends with `suffix`, ignoring ASCII case (".CSV" is a ".csv").
inline bool iends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

} // namespace conveyor
