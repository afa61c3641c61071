#include "stage_options.hpp"

#include "conveyor/core/duration_text.hpp"
#include "conveyor/core/suggest.hpp"
#include "sections.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

namespace conveyor::config {

namespace {

/// A duration written with its unit ("300ms", "2s", "5m") in whole milliseconds; nullopt for
/// text without a unit (a quoted "300" is refused as a quoted number is elsewhere, not read as
/// seconds) or out of range.
std::optional<std::int64_t> milliseconds_of(std::string_view text) {
    if (text.empty() || !std::isalpha(static_cast<unsigned char>(text.back()))) return std::nullopt;
    const std::optional<double> s = parse_duration_seconds(text);
    if (!s || !(*s < 9e15 / 1000)) return std::nullopt;
    return std::llround(*s * 1000);
}

/// True when a string value reads as a number or boolean, so the user probably quoted one.
bool looks_like_scalar(std::string_view s) {
    if (s == "true" || s == "false") return true;
    if (s.empty()) return false;
    double d = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    return ec == std::errc() && ptr == s.data() + s.size();
}

class OptionChecker {
public:
    OptionChecker(LoadContext& ctx, std::string_view stage, const OptionSpec& spec,
                  std::string_view key)
        : ctx_(ctx), stage_(stage), spec_(spec), key_(key) {}

    std::optional<OptionValue> check(const toml::node& node) {
        // A string whose expansion failed was reported already.
        if (ctx_.contains_poison(node)) return std::nullopt;
        switch (spec_.type) {
        case OptionType::Bool: {
            const std::optional<bool> b = ctx_.bool_of(node);
            if (!b) return type_error(node);
            return OptionValue(*b);
        }
        case OptionType::Int: {
            std::optional<std::int64_t> n = ctx_.int_of(node);
            if (!n && spec_.unit == OptionUnit::Bytes && node.is_string())
                if (auto bytes = parse_byte_size(node.as_string()->get()))
                    n = static_cast<std::int64_t>(*bytes);
            if (!n && spec_.unit == OptionUnit::Milliseconds && node.is_string())
                n = milliseconds_of(node.as_string()->get()); // "300ms", "2s", "5m"
            if (!n) return type_error(node);
            const std::int64_t v = *n;
            if (!in_bounds(node, static_cast<double>(v))) return std::nullopt;
            return OptionValue(v);
        }
        case OptionType::Float: {
            std::optional<double> n = ctx_.number_of(node);
            if (!n && spec_.unit == OptionUnit::Seconds && node.is_string())
                n = parse_duration_seconds(node.as_string()->get()); // "30s", "5m", "500ms"
            if (!n) return type_error(node);
            const double v = *n;
            if (!std::isfinite(v)) {
                ctx_.error(ctx_.at(node), stage_,
                           "key '" + std::string(key_) + "' must be a finite number, not " +
                               describe(node));
                return std::nullopt;
            }
            if (!in_bounds(node, v)) return std::nullopt;
            return OptionValue(v);
        }
        case OptionType::String: {
            const std::string* text = ctx_.string_of(node);
            if (!text) return type_error(node);
            const std::string& s = *text;
            if (!in_choices(node, s, {})) return std::nullopt;
            if (s.size() < spec_.min_length) {
                ctx_.error(ctx_.at(node), stage_,
                           "key '" + std::string(key_) + "' must not be empty");
                return std::nullopt;
            }
            return OptionValue(s);
        }
        case OptionType::StringList:
            return check_string_list(node);
        case OptionType::StringMap:
            return check_string_map(node);
        case OptionType::Any:
            if (node.is_table()) {
                std::string msg = "key '" + std::string(key_) +
                                  "' must be a value or an array of values, not a table";
                if (!spec_.example.empty()) msg += " (for example " + spec_.example + ")";
                ctx_.error(ctx_.at(node), stage_, std::move(msg));
                return std::nullopt;
            }
            return convert(node);
        case OptionType::Table:
            if (!node.is_table()) return type_error(node);
            return convert(node);
        }
        return std::nullopt;
    }

private:
    std::optional<OptionValue> type_error(const toml::node& node) {
        std::string msg = "key '" + std::string(key_) + "' must be " +
                          std::string(expected_type(spec_.type)) + ", not " + describe(node);
        if (ctx_.substituted.count(&node))
            msg += ctx_.substitution_note(node);
        else if (node.is_string() && spec_.type != OptionType::String &&
                 spec_.type != OptionType::StringList && looks_like_scalar(node.as_string()->get()))
            msg += " (remove the quotes)";
        else if (spec_.unit == OptionUnit::Milliseconds)
            msg += " (milliseconds, or a duration such as \"300ms\", \"2s\" or \"5m\")";
        else if (spec_.type == OptionType::Int && node.is_floating_point())
            msg += " (a whole number without a decimal point)";
        ctx_.error(ctx_.at(node), stage_, std::move(msg));
        return std::nullopt;
    }

    bool in_bounds(const toml::node& node, double v) {
        const bool low = spec_.min && (v < *spec_.min || (spec_.min_exclusive && v == *spec_.min));
        const bool high = spec_.max && v > *spec_.max;
        if (!low && !high) return true;
        std::string msg = "key '" + std::string(key_) + "' must be ";
        if (spec_.min_exclusive)
            msg += "greater than " + number_text(*spec_.min) +
                   (spec_.max ? " and at most " + number_text(*spec_.max) : std::string());
        else if (spec_.min && spec_.max)
            msg += "between " + number_text(*spec_.min) + " and " + number_text(*spec_.max);
        else if (spec_.min)
            msg += "at least " + number_text(*spec_.min);
        else
            msg += "at most " + number_text(*spec_.max);
        msg += ", got " + number_text(v);
        ctx_.error(ctx_.at(node), stage_, std::move(msg));
        return false;
    }

    /// `what` names a list element ("element 2 of key 'x'"); empty for the key itself.
    bool in_choices(const toml::node& node, const std::string& s, const std::string& what) {
        if (spec_.choices.empty()) return true;
        for (const std::string& c : spec_.choices)
            if (c == s) return true;
        const std::string subject = what.empty() ? "key '" + std::string(key_) + "'" : what;
        ctx_.error(ctx_.at(node), stage_,
                   subject + " must be one of " + quote_list(spec_.choices) + ", not " + quote(s) +
                       did_you_mean(s, spec_.choices));
        return false;
    }

    std::optional<OptionValue> check_string_list(const toml::node& node) {
        if (const std::string* text = ctx_.string_of(node)) {
            const std::string& s = *text;
            if (!in_choices(node, s, {})) return std::nullopt;
            return OptionValue(OptionValue::List{OptionValue(s)});
        }
        const toml::array* arr = node.as_array();
        if (!arr) return type_error(node);
        OptionValue::List list;
        bool ok = true;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const toml::node& item = *arr->get(i);
            const std::string what =
                "element " + std::to_string(i + 1) + " of key '" + std::string(key_) + "'";
            if (!item.is_string()) {
                ctx_.error(ctx_.at(item), stage_,
                           what + " must be a string, not " + describe(item));
                ok = false;
                continue;
            }
            const std::string& s = item.as_string()->get();
            if (!in_choices(item, s, what)) ok = false;
            list.emplace_back(s);
        }
        if (!ok) return std::nullopt;
        return OptionValue(std::move(list));
    }

    std::optional<OptionValue> check_string_map(const toml::node& node) {
        const toml::table* table = node.as_table();
        if (!table) return type_error(node);
        OptionValue::Table out;
        bool ok = true;
        for (const Entry& e : entries_in_file_order(*table)) {
            const std::string name(e.key->str());
            if (!e.value->is_string()) {
                std::string msg = "key '" + std::string(key_) +
                                  "' must be a table of strings, but '" + name + "' is " +
                                  describe(*e.value);
                if (e.value->is_number() || e.value->is_boolean()) msg += " (quote it)";
                ctx_.error(ctx_.at(*e.value), stage_, std::move(msg));
                ok = false;
                continue;
            }
            out.emplace_back(name, OptionValue(e.value->as_string()->get()));
        }
        if (!ok) return std::nullopt;
        return OptionValue(std::move(out));
    }

    std::optional<OptionValue> convert(const toml::node& node) {
        Converted c = to_option_value(node);
        if (c.unsupported) {
            ctx_.error(ctx_.at(*c.unsupported), stage_,
                       "key '" + std::string(key_) + "' holds " + describe(*c.unsupported) +
                           "; dates and times are not supported, quote the value as a string");
            return std::nullopt;
        }
        return std::move(c.value);
    }

    LoadContext& ctx_;
    std::string_view stage_;
    const OptionSpec& spec_;
    std::string_view key_;
};

/// "unknown key 'x' in [stages.config]" with what the user most likely meant.
std::string unknown_key_message(const FunctionDescriptor& fn, const std::string& key,
                                const std::vector<std::string>& known) {
    std::string msg = "unknown key '" + key + "' in [stages.config]";
    const auto in = [&key](const std::vector<std::string>& keys) {
        return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    if (in(stage_keys()) && key != "config") {
        // TOML puts every key after a [table] header into that table.
        msg += ": '" + key + "' is a key of the [[stages]] entry: write it above " +
               "[stages.config] (every key after a [table] header belongs to it)";
    } else if (fn.options.empty()) {
        msg += ": function '" + fn.name + "' takes no options";
    } else if (std::string hint = did_you_mean(key, known); !hint.empty()) {
        msg += hint;
    } else if (in(global_keys())) {
        msg += ": [global] settings go in [global], before the first [[stages]]";
    } else if (std::string home = belongs_elsewhere(key, "[stages.config]"); !home.empty()) {
        msg += home;
    } else {
        // Nothing close: say what the function does take.
        msg += ": " + fn.name + " takes ";
        for (std::size_t i = 0; i < fn.options.size(); ++i)
            msg += (i ? ", " : "") + fn.options[i].name;
        msg += " (conveyor describe " + fn.name + ")";
    }
    return msg;
}

struct Given {
    const toml::key* key = nullptr;
    const toml::node* value = nullptr;
};

} // namespace

const std::vector<std::string>& stage_keys() {
    static const std::vector<std::string> keys = {
        "id", "function", "inputs", "description", "config", "error_handling", "buffer"};
    return keys;
}

std::string_view expected_type(OptionType type) noexcept {
    switch (type) {
    case OptionType::Bool:
        return "a boolean (true or false)";
    case OptionType::Int:
        return "an integer";
    case OptionType::Float:
        return "a number";
    case OptionType::String:
        return "a string";
    case OptionType::StringList:
        return "an array of strings";
    case OptionType::StringMap:
        return "a table of strings";
    case OptionType::Any:
        return "a value";
    case OptionType::Table:
        return "a table";
    }
    return "a value";
}

bool validate_stage_options(LoadContext& ctx, const FunctionDescriptor& fn,
                            const toml::table* config, const SourceLocation& stage_where,
                            std::string_view stage_id, Options& out) {
    bool ok = true;
    const SourceLocation table_where = config ? ctx.at(*config) : stage_where;
    out.set_default_location(table_where);

    std::vector<std::string> known;
    for (const OptionSpec& o : fn.options) {
        known.push_back(o.name);
        for (const std::string& a : o.aliases)
            known.push_back(a);
    }

    std::vector<Given> given(fn.options.size());
    if (config) {
        for (const Entry& e : entries_in_file_order(*config)) {
            const std::string key(e.key->str());
            std::optional<std::size_t> index;
            for (std::size_t i = 0; i < fn.options.size() && !index; ++i) {
                const OptionSpec& o = fn.options[i];
                if (o.name == key) index = i;
                for (const std::string& a : o.aliases)
                    if (a == key) index = i;
            }
            if (!index) {
                ctx.error(ctx.at(*e.key, *e.value), stage_id, unknown_key_message(fn, key, known));
                ok = false;
                continue;
            }
            Given& g = given[*index];
            // A --set of either spelling overrides what the file says under the other one.
            const auto from_set = [&ctx](const toml::node* v) {
                return ctx.at(*v).file.starts_with("--set ");
            };
            if (g.key && from_set(e.value) != from_set(g.value)) {
                if (from_set(e.value)) g = Given{e.key, e.value};
                continue;
            }
            if (g.key) {
                const std::string& canonical = fn.options[*index].name;
                const std::string first(g.key->str());
                const std::string& alias = first == canonical ? key : first;
                ctx.error(ctx.at(*e.key, *e.value), stage_id,
                          "keys '" + first + "' and '" + key + "' set the same option ('" + alias +
                              "' is an older spelling of '" + canonical + "'): keep only '" +
                              canonical + "'");
                ok = false;
                continue;
            }
            g = Given{e.key, e.value};
        }
    }

    for (std::size_t i = 0; i < fn.options.size(); ++i) {
        const OptionSpec& spec = fn.options[i];
        const Given& g = given[i];
        if (g.key) {
            OptionChecker checker(ctx, stage_id, spec, g.key->str());
            std::optional<OptionValue> v = checker.check(*g.value);
            if (!v) {
                ok = false;
                continue;
            }
            if (!spec.deprecated.empty())
                ctx.warning(ctx.at(*g.key, *g.value), stage_id,
                            "key '" + std::string(g.key->str()) +
                                "' is deprecated: " + spec.deprecated);
            out.set(spec.name, std::move(*v), ctx.at(*g.value), true);
        } else if (spec.required) {
            ctx.error(table_where, stage_id,
                      "missing required key '" + spec.name + "' in [stages.config]");
            ok = false;
        } else if (!spec.default_value.is_null()) {
            out.set(spec.name, spec.default_value, table_where, false);
        }
    }
    return ok;
}

} // namespace conveyor::config
