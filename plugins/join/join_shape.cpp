#include "join_shape.hpp"

#include <algorithm>

namespace conveyor::plugins::join {

void JoinShape::fill(std::span<const Value> l, std::span<const Value> r,
                     std::span<Value> out) const {
    for (std::size_t c = 0; c < out.size(); ++c) {
        Value v = Value::null();
        if (left[c] != npos && !l.empty()) v = l[left[c]];
        if (v.is_null() && right[c] != npos && !r.empty()) v = r[right[c]];
        out[c] = v.is_absent() ? Value::null() : v;
    }
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
    s.schema = make_schema(std::move(names));
    return s;
}

} // namespace conveyor::plugins::join
