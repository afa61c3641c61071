#include "conveyor/option/option_value.hpp"

#include <cstdio>

namespace conveyor {

const OptionValue* OptionValue::find(std::string_view key) const {
    if (!is_table()) return nullptr;
    for (const auto& [k, v] : as_table())
        if (k == key) return &v;
    return nullptr;
}

std::string OptionValue::to_string() const {
    switch (v_.index()) {
    case 0:
        return "null";
    case 1:
        return as_bool() ? "true" : "false";
    case 2:
        return std::to_string(as_int());
    case 3: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", std::get<3>(v_));
        return buf;
    }
    case 4: {
        std::string s = "\"";
        for (char c : as_string()) {
            if (c == '"' || c == '\\') s += '\\';
            s += c;
        }
        return s + "\"";
    }
    case 5: {
        std::string s = "[";
        for (std::size_t i = 0; i < as_list().size(); ++i) {
            if (i) s += ", ";
            s += as_list()[i].to_string();
        }
        return s + "]";
    }
    default: {
        std::string s = "{ ";
        bool first = true;
        for (const auto& [k, v] : as_table()) {
            if (!first) s += ", ";
            first = false;
            s += k + " = " + v.to_string();
        }
        return s + (first ? "}" : " }");
    }
    }
}

} // namespace conveyor
