#include "join_shape.hpp"

#include <algorithm>

namespace conveyor::plugins::join {

void JoinShape::fill(std::span<const Value> l, std::span<const Value> r,
                     std::span<Value> out) const {
    if (l.empty())
        std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(left_width),
                  Value::null());
    else
        std::copy(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(left_width), out.begin());
    if (r.empty()) {
        std::fill(out.begin() + static_cast<std::ptrdiff_t>(left_width), out.end(), Value::null());
        return;
    }
    for (std::size_t c = left_width; c < out.size(); ++c)
        out[c] = r[right[c]];
    for (std::size_t c : coalesced)
        if (out[c].is_null()) out[c] = r[right[c]];
}

JoinShape make_shape(const Schema& left, const Schema& right,
                     std::span<const std::string> shared_keys, const std::string& left_suffix,
                     const std::string& right_suffix) {
    auto is_key = [&](std::string_view name) {
        return std::find(shared_keys.begin(), shared_keys.end(), name) != shared_keys.end();
    };
    JoinShape s;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < left.size(); ++i) {
        const std::string& n = left.name(i);
        const bool key = is_key(n);
        const bool clash = !key && right.find(n).has_value();
        names.push_back(clash ? n + left_suffix : n);
        s.left.push_back(i);
        const auto r = right.find(n);
        s.right.push_back(key && r ? *r : JoinShape::npos);
    }
    for (std::size_t j = 0; j < right.size(); ++j) {
        const std::string& n = right.name(j);
        if (is_key(n)) {
            if (left.find(n)) continue; // written once, in the left's place
            names.push_back(n);
        } else {
            std::string name = left.find(n) ? n + right_suffix : n;
            while (std::find(names.begin(), names.end(), name) != names.end())
                name += right_suffix.empty() ? "_right" : right_suffix;
            names.push_back(std::move(name));
        }
        s.left.push_back(JoinShape::npos);
        s.right.push_back(j);
    }
    s.left_width = left.size();
    for (std::size_t c = 0; c < s.left_width; ++c)
        if (s.right[c] != JoinShape::npos) s.coalesced.push_back(c);
    s.schema = make_schema(std::move(names));
    return s;
}

} // namespace conveyor::plugins::join
