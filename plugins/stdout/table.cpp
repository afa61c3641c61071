#include "table.hpp"

#include "conveyor/format/json_writer.hpp"

#include <algorithm>

namespace conveyor::plugins::stdout_sink {

namespace {

/// Display width: UTF-8 code points (continuation bytes do not count).
std::size_t width_of(std::string_view s) {
    std::size_t w = 0;
    for (unsigned char c : s)
        w += (c & 0xC0) != 0x80;
    return w;
}

/// Cuts `s` to at most `max` code points, ending with "..." when cut.
std::string clip(std::string s, std::size_t max) {
    if (width_of(s) <= max) return s;
    std::size_t w = 0, i = 0;
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (w == max - 3) break;
            ++w;
        }
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
