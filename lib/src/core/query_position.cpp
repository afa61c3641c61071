#include "conveyor/core/query_position.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor {

namespace {

bool continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

} // namespace

std::size_t byte_of_character(std::string_view sql, std::size_t index) {
    std::size_t at = 0;
    for (; at < sql.size(); ++at) {
        if (continuation(sql[at])) continue;
        if (index == 0) break;
        --index;
    }
    return at;
}

std::string query_position_text(std::string_view sql, std::size_t at) {
    const std::size_t before = sql.substr(0, at).rfind('\n');
    const std::size_t line_start = before == std::string_view::npos ? 0 : before + 1;
    const auto line = 1 + std::count(sql.begin(), sql.begin() + static_cast<long>(at), '\n');
    std::size_t column = 1;
    for (std::size_t i = line_start; i < at; ++i)
        if (!continuation(sql[i])) ++column;
    std::size_t to = std::min({sql.find('\n', at), sql.size(), at + 30});
    while (to < sql.size() && continuation(sql[to]))
        ++to;
    return fmt::format(" at line {}, column {} of the query: \"{}{}\"", line, column,
                       sql.substr(at, to - at), to < sql.size() && sql[to] != '\n' ? "..." : "");
}

} // namespace conveyor
