#include "rules.hpp"

#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/time_text.hpp"

#include <charconv>
#include <cmath>
#include <functional>

namespace conveyor::plugins::validate {

namespace {

constexpr std::pair<std::string_view, FieldType> kTypes[] = {
    {"string", FieldType::String},      {"int", FieldType::Int},       {"integer", FieldType::Int},
    {"float", FieldType::Float},        {"number", FieldType::Number}, {"bool", FieldType::Bool},
    {"boolean", FieldType::Bool},       {"object", FieldType::Object}, {"array", FieldType::Array},
    {"timestamp", FieldType::Timestamp}};

/// An integer of any size: "-" or nothing, then digits. An id of 20 digits is an integer,
/// though no int64 holds it.
bool reads_as_int(std::string_view s) {
    if (s.starts_with('-')) s.remove_prefix(1);
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool reads_as_number(std::string_view s) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

bool has_type(const Value& v, FieldType t) {
    const bool text = v.is_string();
    const std::string_view s = text ? v.as_string() : std::string_view{};
    switch (t) {
    case FieldType::String:
        return text;
    case FieldType::Int:
        if (v.kind() == Kind::Int) return true;
        if (v.kind() == Kind::Double) {
            if (v.has_number_text() && reads_as_int(v.number_text())) return true;
            const double d = v.as_double();
            return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18;
        }
        return text && reads_as_int(s);
    case FieldType::Float:
    case FieldType::Number:
        return v.is_number() || (text && reads_as_number(s));
    case FieldType::Bool:
        return v.kind() == Kind::Bool || s == "true" || s == "false";
    case FieldType::Object:
        return v.kind() == Kind::Object;
    case FieldType::Array:
        return v.kind() == Kind::Array;
    case FieldType::Timestamp:
        return v.is_number() || (text && timefmt::parse_iso(s).has_value());
    }
    return false;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::string_view kind_name(const Value& v) {
    return to_string(v.kind());
}

} // namespace

std::optional<FieldType> parse_field_type(std::string_view name) noexcept {
    for (const auto& [n, t] : kTypes)
        if (n == name) return t;
    return std::nullopt;
}

const std::vector<std::string>& field_type_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [n, t] : kTypes)
            out.emplace_back(n);
        return out;
    }();
    return names;
}

std::string_view to_string(FieldType type) noexcept {
    for (const auto& [n, t] : kTypes)
        if (t == type) return n;
    return "value";
}

std::string value_text(const Value& v) {
    if (v.is_string()) return std::string(v.as_string());
    std::string out;
    json::append_value(out, v);
    return out;
}

std::vector<Violation> Checker::check(const Schema& schema, std::span<const Value> row) {
    std::vector<Violation> out;
    auto field = [&](const std::string& name) -> Value {
        const auto at = schema.find(name);
        return at ? row[*at] : Value::absent();
    };
    for (const std::string& f : rules_.required)
        if (field(f).is_absent()) out.push_back({"required_fields", f, "'" + f + "' is missing"});
    for (const std::string& f : rules_.non_nullable) {
        const Value v = field(f);
        if (v.is_null() && !v.is_absent())
            out.push_back({"non_nullable", f, "'" + f + "' is null"});
        else if (v.is_absent())
            out.push_back({"non_nullable", f, "'" + f + "' is missing (it may not be null)"});
    }
    for (const auto& [f, t] : rules_.types) {
        const Value v = field(f);
        if (v.is_null()) continue; // required_fields / non_nullable say whether that is allowed
        if (!has_type(v, t))
            out.push_back({"field_types", f,
                           "'" + f + "' should be " + std::string(to_string(t)) + ", got " +
                               std::string(kind_name(v)) + " " + value_text(v)});
    }
    for (const auto& [f, re] : rules_.patterns) {
        const Value v = field(f);
        if (v.is_null()) continue;
        if (v.kind() == Kind::Object || v.kind() == Kind::Array) {
            out.push_back(
                {"patterns", f,
                 "'" + f + "' is " + std::string(kind_name(v)) + ", not text a pattern can match"});
            continue;
        }
        const std::string text = value_text(v);
        if (!RE2::PartialMatch(text, *re))
            out.push_back(
                {"patterns", f, "'" + f + "' does not match /" + re->pattern() + "/: " + text});
    }
    if (!out.empty() || rules_.unique.empty()) return out;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> digests;
    for (std::size_t i = 0; i < rules_.unique.size(); ++i) {
        const Value v = field(rules_.unique[i]);
        if (v.is_null()) {
            digests.emplace_back(0, 0);
            continue;
        }
        // The kind is part of the digest: the number 1 and the text "1" differ.
        const std::string text = std::string(kind_name(v)) + ':' + value_text(v);
        const std::pair<std::uint64_t, std::uint64_t> d{fnv1a(text, 0xcbf29ce484222325ULL),
                                                        std::hash<std::string>{}(text)};
        digests.push_back(d);
        if (seen_[i].contains(d))
            out.push_back(
                {"unique_fields", rules_.unique[i],
                 "'" + rules_.unique[i] + "' repeats an earlier record's value " + value_text(v)});
    }
    if (out.empty()) {
        for (std::size_t i = 0; i < digests.size(); ++i)
            if (digests[i] != std::pair<std::uint64_t, std::uint64_t>{0, 0})
                seen_[i].insert(digests[i]);
    }
    return out;
}

} // namespace conveyor::plugins::validate
