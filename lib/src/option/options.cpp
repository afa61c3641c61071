#include "conveyor/option/options.hpp"

#include <cassert>

namespace conveyor {

std::string_view to_string(OptionType type) noexcept {
    switch (type) {
    case OptionType::Bool:
        return "boolean";
    case OptionType::Int:
        return "integer";
    case OptionType::Float:
        return "number";
    case OptionType::String:
        return "string";
    case OptionType::StringList:
        return "array of strings";
    case OptionType::StringMap:
        return "table of strings";
    case OptionType::Any:
        return "value";
    case OptionType::Table:
        return "table";
    }
    return "value";
}

void Options::set(std::string name, OptionValue value, SourceLocation where, bool given) {
    meta_[name] = Entry{std::move(where), given};
    values_[std::move(name)] = std::move(value);
}

const OptionValue* Options::find(std::string_view name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
}

bool Options::given(std::string_view name) const {
    auto it = meta_.find(name);
    return it != meta_.end() && it->second.given;
}

SourceLocation Options::location(std::string_view name) const {
    auto it = meta_.find(name);
    if (it != meta_.end() && it->second.given) return it->second.where;
    return default_where_;
}

bool Options::get_bool(std::string_view name) const {
    const OptionValue* v = find(name);
    assert(v && v->is_bool());
    return v->as_bool();
}

std::int64_t Options::get_int(std::string_view name) const {
    const OptionValue* v = find(name);
    assert(v && v->is_int());
    return v->as_int();
}

double Options::get_double(std::string_view name) const {
    const OptionValue* v = find(name);
    assert(v && v->is_number());
    return v->as_double();
}

const std::string& Options::get_string(std::string_view name) const {
    const OptionValue* v = find(name);
    assert(v && v->is_string());
    return v->as_string();
}

std::vector<std::string> Options::get_string_list(std::string_view name) const {
    std::vector<std::string> out;
    const OptionValue* v = find(name);
    if (!v) return out;
    if (v->is_string()) {
        out.push_back(v->as_string());
        return out;
    }
    assert(v->is_list());
    for (const OptionValue& item : v->as_list())
        out.push_back(item.as_string());
    return out;
}

std::vector<std::pair<std::string, std::string>>
Options::get_string_map(std::string_view name) const {
    std::vector<std::pair<std::string, std::string>> out;
    const OptionValue* v = find(name);
    if (!v) return out;
    assert(v->is_table());
    for (const auto& [k, item] : v->as_table())
        out.emplace_back(k, item.as_string());
    return out;
}

} // namespace conveyor
