#include "toml_util.hpp"

#include "conveyor/config/limits.hpp"
#include "conveyor/config/section_options.hpp"
#include "conveyor/core/duration_text.hpp"
#include "conveyor/core/suggest.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace conveyor::config {

bool LoadContext::contains_poison(const toml::node& node) const {
    if (poisoned.empty()) return false;
    if (is_poisoned(node)) return true;
    if (const toml::table* t = node.as_table()) {
        for (const auto& [k, v] : *t)
            if (contains_poison(v)) return true;
    } else if (const toml::array* a = node.as_array()) {
        for (const toml::node& v : *a)
            if (contains_poison(v)) return true;
    }
    return false;
}

namespace {

const std::string* substituted_text(const LoadContext& ctx, const toml::node& node) {
    if (!node.is_string() || ctx.substituted.count(&node) == 0) return nullptr;
    return &node.as_string()->get();
}

/// The whole of `s` as a T (an optional leading '+' allowed), or nullopt.
template <class T>
std::optional<T> whole_number(const std::string* s) {
    if (!s || s->empty()) return std::nullopt;
    T v{};
    const char* begin = s->data() + (s->front() == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, s->data() + s->size(), v);
    if (ec != std::errc() || ptr != s->data() + s->size()) return std::nullopt;
    return v;
}

} // namespace

std::optional<std::int64_t> LoadContext::int_of(const toml::node& node) const {
    if (node.is_integer()) return node.as_integer()->get();
    return whole_number<std::int64_t>(substituted_text(*this, node));
}

std::optional<double> LoadContext::number_of(const toml::node& node) const {
    if (node.is_integer()) return static_cast<double>(node.as_integer()->get());
    if (node.is_floating_point()) return node.as_floating_point()->get();
    return whole_number<double>(substituted_text(*this, node));
}

std::optional<bool> LoadContext::bool_of(const toml::node& node) const {
    if (node.is_boolean()) return node.as_boolean()->get();
    const std::string* s = substituted_text(*this, node);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    return std::nullopt;
}

const std::string* LoadContext::string_of(const toml::node& node) const {
    if (const toml::value<std::string>* s = node.as_string()) return &s->get();
    const auto it = command_line_text.find(&node);
    return it == command_line_text.end() ? nullptr : &it->second;
}

std::string LoadContext::substitution_note(const toml::node& node) const {
    const auto it = substituted.find(&node);
    return it == substituted.end() ? std::string() : " (the value of " + it->second + ")";
}

std::vector<Entry> entries_in_file_order(const toml::table& table) {
    std::vector<Entry> out;
    out.reserve(table.size());
    for (const auto& [k, v] : table)
        out.push_back(Entry{&k, &v});
    std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
        const auto& x = a.key->source().begin;
        const auto& y = b.key->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    return out;
}

std::string quote(std::string_view text) {
    constexpr std::size_t kMax = 60;
    std::string s = "\"";
    s.append(text.substr(0, kMax));
    if (text.size() > kMax) s += "...";
    return s + "\"";
}

std::string quote_list(const std::vector<std::string>& items) {
    std::string s;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) s += ", ";
        s += quote(items[i]);
    }
    return s;
}

std::string number_text(double value) {
    if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 1e15)
        return std::to_string(static_cast<long long>(value));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", value);
    return buf;
}

std::string describe(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string:
        return "string " + quote(node.as_string()->get());
    case toml::node_type::integer:
        return "integer " + std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point:
        return "float " + number_text(node.as_floating_point()->get());
    case toml::node_type::boolean:
        return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::table:
        return "a table";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

Converted to_option_value(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string:
        return {OptionValue(node.as_string()->get()), nullptr};
    case toml::node_type::integer:
        return {OptionValue(node.as_integer()->get()), nullptr};
    case toml::node_type::floating_point:
        return {OptionValue(node.as_floating_point()->get()), nullptr};
    case toml::node_type::boolean:
        return {OptionValue(node.as_boolean()->get()), nullptr};
    case toml::node_type::array: {
        OptionValue::List list;
        for (const toml::node& item : *node.as_array()) {
            Converted c = to_option_value(item);
            if (c.unsupported) return c;
            list.push_back(std::move(c.value));
        }
        return {OptionValue(std::move(list)), nullptr};
    }
    case toml::node_type::table: {
        OptionValue::Table table;
        for (const Entry& e : entries_in_file_order(*node.as_table())) {
            Converted c = to_option_value(*e.value);
            if (c.unsupported) return c;
            table.emplace_back(std::string(e.key->str()), std::move(c.value));
        }
        return {OptionValue(std::move(table)), nullptr};
    }
    default:
        return {OptionValue(), &node};
    }
}

} // namespace conveyor::config

namespace conveyor::config {

namespace {

bool quoted_number(const toml::node& node) {
    if (!node.is_string()) return false;
    const std::string& s = node.as_string()->get();
    if (s.empty()) return false;
    double d = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    return ec == std::errc() && ptr == s.data() + s.size();
}

void type_error(LoadContext& ctx, const toml::node& node, std::string_view what,
                std::string_view expected, std::string_view stage = {}) {
    std::string msg =
        std::string(what) + " must be " + std::string(expected) + ", not " + describe(node);
    if (ctx.substituted.count(&node))
        msg += ctx.substitution_note(node);
    else if (quoted_number(node) && expected != "a string")
        msg += " (remove the quotes)";
    ctx.error(ctx.at(node), stage, std::move(msg));
}

} // namespace

const std::string* read_string(LoadContext& ctx, const toml::node& node, std::string_view what,
                               std::string_view stage) {
    const std::string* s = ctx.string_of(node);
    if (!s) {
        type_error(ctx, node, what, "a string", stage);
        return nullptr;
    }
    if (ctx.is_poisoned(node)) return nullptr;
    return s;
}

std::optional<std::string> read_choice(LoadContext& ctx, const toml::node& node,
                                       std::string_view what,
                                       const std::vector<std::string>& choices,
                                       std::string_view stage) {
    const std::string* s = read_string(ctx, node, what, stage);
    if (!s) return std::nullopt;
    for (const std::string& c : choices)
        if (c == *s) return *s;
    ctx.error(ctx.at(node), stage,
              std::string(what) + " must be one of " + quote_list(choices) + ", not " + quote(*s) +
                  did_you_mean(*s, choices));
    return std::nullopt;
}

std::optional<bool> read_bool(LoadContext& ctx, const toml::node& node, std::string_view what,
                              std::string_view stage) {
    const std::optional<bool> b = ctx.bool_of(node);
    if (!b) type_error(ctx, node, what, "a boolean (true or false)", stage);
    return b;
}

std::optional<std::int64_t> read_int(LoadContext& ctx, const toml::node& node,
                                     std::string_view what, std::int64_t min, std::int64_t max,
                                     std::string_view stage) {
    const std::optional<std::int64_t> n = ctx.int_of(node);
    if (!n) {
        type_error(ctx, node, what, min > 0 ? "a positive integer" : "an integer", stage);
        return std::nullopt;
    }
    const std::int64_t v = *n;
    if (v < min || v > max) {
        ctx.error(ctx.at(node), stage,
                  std::string(what) + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " + std::to_string(v));
        return std::nullopt;
    }
    return v;
}

std::optional<double> read_seconds(LoadContext& ctx, const toml::node& node, std::string_view what,
                                   bool allow_zero, std::string_view stage) {
    std::optional<double> n = ctx.number_of(node);
    // Or a duration with its unit, as --jitter takes it: "30s", "5m", "1h", "500ms".
    if (!n && node.is_string()) n = parse_duration_seconds(node.as_string()->get());
    if (!n) {
        type_error(ctx, node, what,
                   "a number of seconds or a duration such as \"30s\", \"5m\" or \"1h\"", stage);
        return std::nullopt;
    }
    const double v = *n;
    if (!std::isfinite(v) || v < 0 || (v == 0 && !allow_zero) || v > kMaxSeconds) {
        ctx.error(ctx.at(node), stage,
                  std::string(what) + " must be a number of seconds " +
                      (allow_zero ? "from 0" : "greater than 0") + " up to " +
                      number_text(kMaxSeconds) + ", got " + number_text(v));
        return std::nullopt;
    }
    return v;
}

std::string_view home_section(const std::string& key) {
    const auto in = [&key](const std::vector<std::string>& keys) {
        return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    if (in(error_handling_keys())) return "error_handling";
    if (in(global_keys())) return "global";
    if (in(pipeline_keys())) return "pipeline";
    return {};
}

std::string belongs_elsewhere(const std::string& key, std::string_view section) {
    const std::string_view home = home_section(key);
    if (home.empty() || section.find(home) != std::string_view::npos) return {};
    const bool stage_level = section.starts_with("[stages.") || section == "[[stages]]";
    if (home == "error_handling" && stage_level)
        return " (it belongs in [stages.error_handling], or [error_handling] for the whole run)";
    if (home == "pipeline" && stage_level) return {}; // description is a stage's key too
    return " (it belongs in [" + std::string(home) + "])";
}

void report_unknown_key(LoadContext& ctx, const Entry& entry, std::string_view section,
                        const std::vector<std::string>& known, std::string_view stage,
                        std::string_view hint) {
    const std::string key(entry.key->str());
    std::string msg = "unknown key '" + key + "' in " + std::string(section);
    if (!hint.empty())
        msg += std::string(hint);
    else if (std::string close = did_you_mean(key, known); !close.empty())
        msg += close;
    else
        msg += belongs_elsewhere(key, section);
    ctx.error(ctx.at(*entry.key, *entry.value), stage, std::move(msg));
}

} // namespace conveyor::config
