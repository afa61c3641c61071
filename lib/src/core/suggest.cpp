#include "conveyor/core/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace conveyor {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
            // Transposition ("pahts" for "paths") counts as one edit.
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], prev[j - 1]);
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

} // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const std::string& c : candidates) {
        const std::size_t d = edit_distance(word, c);
        const std::size_t longer = std::max(word.size(), c.size());
        const std::size_t limit = std::max<std::size_t>(1, longer / 3);
        // Every character changed ('c' for 'a') is no hint.
        if (d <= limit && d < longer && (!best || d < best_distance)) {
            best = c;
            best_distance = d;
        }
    }
    // A prefix or suffix typed in full ("csv" for "csv.read") is a good hint too.
    if (!best && word.size() >= 3) {
        for (const std::string& c : candidates)
            if (c.starts_with(word) || c.ends_with(word)) return c;
    }
    return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
    auto m = closest_match(word, candidates);
    if (!m) return {};
    return " (did you mean '" + *m + "'?)";
}

} // namespace conveyor
