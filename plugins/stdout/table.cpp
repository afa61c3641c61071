#include "table.hpp"

#include "conveyor/format/json_writer.hpp"

#include <algorithm>

namespace conveyor::plugins::stdout_sink {

namespace {

/// Columns a code point takes on a terminal: 0 for combining marks and zero-width characters,
/// 2 for East Asian wide and fullwidth ones (CJK, kana, Hangul, fullwidth forms, emoji), else 1.
std::size_t columns_of(char32_t cp) {
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F))
        return 0;
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
                      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
                      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
    return wide ? 2 : 1;
}

/// The code point starting at s[i] (i at a lead byte); `i` moves past it. A malformed sequence
/// counts as one code point per byte.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 1;
    if (n == 1 || i + n > s.size()) {
        ++i;
        return c;
    }
    char32_t cp = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            ++i;
            return c;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    i += n;
    return cp;
}

/// Display width on a terminal (see columns_of).
std::size_t width_of(std::string_view s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size();)
        w += columns_of(next_code_point(s, i));
    return w;
}

/// Cuts `s` to at most `max` columns, ending with "..." when cut.
std::string clip(std::string s, std::size_t max) {
    if (width_of(s) <= max) return s;
    std::size_t w = 0, i = 0;
    while (i < s.size()) {
        std::size_t next = i;
        const std::size_t cw = columns_of(next_code_point(s, next));
        if (w + cw > max - 3) break;
        w += cw;
        i = next;
    }
    s.resize(i);
    s.append("...");
    return s;
}

std::string cell_text(const Value& v) {
    switch (v.kind()) {
    case Kind::Absent:
        return "";
    case Kind::Null:
        return "null";
    case Kind::String: {
        std::string s(v.as_string());
        // Keep one record per line.
        for (char& c : s)
            if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        return s;
    }
    default:
        return json::to_string(v);
    }
}

} // namespace

std::string render_table(const std::vector<Batch>& batches, std::size_t total_rows,
                         std::size_t max_cell) {
    // Columns: union of the batches' fields, in first-seen order.
    std::vector<std::string> columns;
    for (const Batch& b : batches)
        for (const std::string& n : b.schema().names())
            if (std::find(columns.begin(), columns.end(), n) == columns.end()) columns.push_back(n);

    std::vector<std::vector<std::string>> cells;
    std::vector<std::vector<bool>> numeric;
    std::vector<std::size_t> width(columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c)
        width[c] = width_of(clip(columns[c], max_cell));
    for (const Batch& b : batches) {
        std::vector<std::size_t> at(columns.size());
        for (std::size_t c = 0; c < columns.size(); ++c)
            at[c] = b.schema().find(columns[c]).value_or(Batch::npos);
        for (std::size_t r = 0; r < b.rows(); ++r) {
            auto& row = cells.emplace_back(columns.size());
            auto& num = numeric.emplace_back(columns.size(), false);
            for (std::size_t c = 0; c < columns.size(); ++c) {
                if (at[c] == Batch::npos) continue;
                const Value& v = b.at(r, at[c]);
                row[c] = clip(cell_text(v), max_cell);
                num[c] = v.is_number();
                width[c] = std::max(width[c], width_of(row[c]));
            }
        }
    }

    std::string out;
    // No fields at all (no records): no empty header and rule, only the count.
    if (columns.empty())
        return "(" + std::to_string(total_rows) + (total_rows == 1 ? " record)\n" : " records)\n");
    auto pad = [&](const std::string& s, std::size_t w, bool right) {
        const std::size_t n = w - std::min(w, width_of(s));
        if (right) out.append(n, ' ');
        out += s;
        if (!right) out.append(n, ' ');
    };
    auto line = [&](const std::vector<std::string>& row, const std::vector<bool>* num) {
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (c) out += "  ";
            const bool last = c + 1 == columns.size();
            const bool right = num && (*num)[c];
            if (last && !right)
                out += row[c];
            else
                pad(row[c], width[c], right);
        }
        out += '\n';
    };
    std::vector<std::string> header;
    for (const std::string& c : columns)
        header.push_back(clip(c, max_cell));
    line(header, nullptr);
    std::vector<std::string> rule;
    for (std::size_t w : width)
        rule.emplace_back(w, '-');
    line(rule, nullptr);
    for (std::size_t r = 0; r < cells.size(); ++r)
        line(cells[r], &numeric[r]);
    if (total_rows > cells.size()) {
        out.append("(showing ").append(std::to_string(cells.size()));
        out.append(" of ").append(std::to_string(total_rows)).append(" records)\n");
    } else {
        out.append("(").append(std::to_string(total_rows));
        out.append(total_rows == 1 ? " record)\n" : " records)\n");
    }
    return out;
}

} // namespace conveyor::plugins::stdout_sink
