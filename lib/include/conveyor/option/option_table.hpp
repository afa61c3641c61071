#pragma once

#include "conveyor/option/options.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace conveyor {

/// What an option declares beyond what its struct member already says (type and default).
struct OptionInfo {
    std::string description;
    bool required = false;
    std::optional<double> min; ///< inclusive; integer members default to their type's range
    std::optional<double> max;
    bool min_exclusive = false; ///< `min` itself is not allowed
    std::size_t min_length = 0; ///< of a string member: 1 = must not be empty
    OptionUnit unit = OptionUnit::None;
    /// The default when the run computes it (the member's initial value then means "unset").
    std::string default_note;
    std::vector<std::string> choices; ///< allowed values of a string (or string-list) member
    std::vector<std::string> aliases; ///< older spellings still accepted
    std::string deprecated;           ///< non-empty: a warning saying what to use instead
    std::string example;              ///< TOML text for `conveyor new` and the schema
    std::string inherits;             ///< [global] key whose value is the default
    /// Only for OptionValue members: Table instead of Any.
    std::optional<OptionType> type;
};

/// A table of string pairs in file order (headers, column maps).
using StringPairs = std::vector<std::pair<std::string, std::string>>;

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// How a member type maps onto an option type and back.
template <class T>
struct OptionTraits;

template <>
struct OptionTraits<bool> {
    static constexpr OptionType type = OptionType::Bool;
    static OptionValue to(bool v) { return OptionValue(v); }
    static bool from(const OptionValue& v) { return v.as_bool(); }
};

template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) struct OptionTraits<T> {
    static constexpr OptionType type = OptionType::Int;
    static OptionValue to(T v) { return OptionValue(static_cast<std::int64_t>(v)); }
    static T from(const OptionValue& v) { return static_cast<T>(v.as_int()); }
};

template <>
struct OptionTraits<double> {
    static constexpr OptionType type = OptionType::Float;
    static OptionValue to(double v) { return OptionValue(v); }
    static double from(const OptionValue& v) { return v.as_double(); }
};

template <>
struct OptionTraits<std::string> {
    static constexpr OptionType type = OptionType::String;
    static OptionValue to(const std::string& v) { return OptionValue(v); }
    static std::string from(const OptionValue& v) { return v.as_string(); }
};

template <>
struct OptionTraits<std::vector<std::string>> {
    static constexpr OptionType type = OptionType::StringList;
    static OptionValue to(const std::vector<std::string>& v) {
        OptionValue::List l;
        for (const std::string& s : v)
            l.emplace_back(s);
        return OptionValue(std::move(l));
    }
    static std::vector<std::string> from(const OptionValue& v) {
        // A single string is a list of one, as Options::get_string_list reads it: the loader
        // makes a list of it, options built by hand (tests) may not.
        if (v.is_string()) return {v.as_string()};
        std::vector<std::string> out;
        for (const OptionValue& item : v.as_list())
            out.push_back(item.as_string());
        return out;
    }
};

template <>
struct OptionTraits<StringPairs> {
    static constexpr OptionType type = OptionType::StringMap;
    static OptionValue to(const StringPairs& v) {
        OptionValue::Table t;
        for (const auto& [k, s] : v)
            t.emplace_back(k, OptionValue(s));
        return OptionValue(std::move(t));
    }
    static StringPairs from(const OptionValue& v) {
        StringPairs out;
        for (const auto& [k, s] : v.as_table())
            out.emplace_back(k, s.as_string());
        return out;
    }
};

template <>
struct OptionTraits<std::map<std::string, std::string>> {
    static constexpr OptionType type = OptionType::StringMap;
    static OptionValue to(const std::map<std::string, std::string>& v) {
        OptionValue::Table t;
        for (const auto& [k, s] : v)
            t.emplace_back(k, OptionValue(s));
        return OptionValue(std::move(t));
    }
    static std::map<std::string, std::string> from(const OptionValue& v) {
        std::map<std::string, std::string> out;
        for (const auto& [k, s] : v.as_table())
            out.insert_or_assign(k, s.as_string());
        return out;
    }
};

template <>
struct OptionTraits<OptionValue> {
    static constexpr OptionType type = OptionType::Any;
    static OptionValue to(const OptionValue& v) { return v; }
    static OptionValue from(const OptionValue& v) { return v; }
};

template <class T>
struct OptionTraits<std::optional<T>> {
    static constexpr OptionType type = OptionTraits<T>::type;
    static OptionValue to(const std::optional<T>& v) {
        return v ? OptionTraits<T>::to(*v) : OptionValue();
    }
    static std::optional<T> from(const OptionValue& v) {
        if (v.is_null()) return std::nullopt;
        return OptionTraits<T>::from(v);
    }
};

} // namespace detail

/// A function's (or a section's) options declared once, bound to the members of the struct
/// `Config` they fill: the member gives the type and, through its initializer, the default;
/// the entry gives the name, bounds, choices, description and the rest. Validation, the
/// filled struct, `conveyor describe`, the JSON schema and `conveyor new` all come from it.
///
///     struct Opts { std::int64_t limit = 10; std::optional<std::string> path; };
///     static const auto table = OptionTable<Opts>()
///         .add("limit", &Opts::limit, {.description = "...", .min = 1})
///         .add("path", &Opts::path, {.description = "...", .required = true});
///
/// An std::optional member has no default (absent unless given or inherited); an integer
/// member is bounded by its type's range unless `min`/`max` say more; an enum member is
/// declared with its spellings (`add_choice`).
template <class Config>
class OptionTable {
public:
    template <class T>
    OptionTable& add(std::string name, T Config::*member, OptionInfo info = {}) {
        using Traits = detail::OptionTraits<T>;
        OptionSpec spec = make_spec(std::move(name), Traits::type, std::move(info));
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) bound_by_type<T>(spec);
        if constexpr (detail::is_optional<T>::value) {
            using V = typename T::value_type;
            if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) bound_by_type<V>(spec);
        }
        if (!spec.required && spec.default_note.empty())
            spec.default_value = Traits::to(Config{}.*member);
        entries_.push_back(
            Entry{std::move(spec),
                  [member](Config& c, const OptionValue& v) { c.*member = Traits::from(v); },
                  [member](const Config& c) { return Traits::to(c.*member); }});
        return *this;
    }

    /// An option declared here but read into `Config` by its own code (a sub-table with its
    /// own table, say): it is known, described and in the schema; fill() and assign() skip it.
    OptionTable& declare(std::string name, OptionType type, OptionInfo info = {}) {
        entries_.push_back(Entry{make_spec(std::move(name), type, std::move(info)),
                                 [](Config&, const OptionValue&) {},
                                 [](const Config&) { return OptionValue(); }});
        return *this;
    }

    /// A string option whose spellings map onto the values of `member` (usually an enum).
    /// The spellings are the option's choices; the default is the spelling of Config{}'s value.
    template <class E>
    requires(!detail::is_optional<E>::value) OptionTable& add_choice(
        std::string name, E Config::*member, std::vector<std::pair<std::string, E>> spellings,
        OptionInfo info = {}) {
        return add_spellings(std::move(name), member, std::move(spellings), std::move(info));
    }

    /// add_choice for an optional member: absent (no default) unless given or Config{} has one.
    template <class E>
    OptionTable& add_choice(std::string name, std::optional<E> Config::*member,
                            const std::vector<std::pair<std::string, E>>& spellings,
                            OptionInfo info = {}) {
        std::vector<std::pair<std::string, std::optional<E>>> optional;
        for (const auto& [text, value] : spellings)
            optional.emplace_back(text, value);
        return add_spellings(std::move(name), member, std::move(optional), std::move(info));
    }

    /// The options of `sub` (declared once and shared by several functions, such as the CSV
    /// dialect or a file sink's writing options), filling the struct member `member`, in
    /// `sub`'s order; `only`, when not empty, picks the ones (by name) this function has.
    /// The defaults are those of Config{}'s `member`, so a function may start the shared
    /// struct with other values.
    template <class Sub>
    OptionTable& embed(Sub Config::*member, const OptionTable<Sub>& sub,
                       const std::vector<std::string_view>& only = {}) {
        for (const auto& e : sub.entries_) {
            if (!only.empty() && std::find(only.begin(), only.end(), e.spec.name) == only.end())
                continue;
            OptionSpec spec = e.spec;
            if (!spec.required) spec.default_value = e.read(Config{}.*member);
            entries_.push_back(
                Entry{std::move(spec),
                      [member, assign = e.assign](Config& c, const OptionValue& v) {
                          assign(c.*member, v);
                      },
                      [member, read = e.read](const Config& c) { return read(c.*member); }});
        }
        return *this;
    }

    /// Every option's declaration, in table order (for validation, describe, schema).
    [[nodiscard]] std::vector<OptionSpec> specs() const {
        std::vector<OptionSpec> out;
        out.reserve(entries_.size());
        for (const Entry& e : entries_)
            out.push_back(e.spec);
        return out;
    }

    /// A Config from validated options: each option that is present (given, defaulted or
    /// inherited) is stored in its member; the others keep Config{}'s value.
    [[nodiscard]] Config fill(const Options& options) const {
        Config c{};
        for (const Entry& e : entries_)
            if (const OptionValue* v = options.find(e.spec.name); v && !v->is_null())
                e.assign(c, *v);
        return c;
    }

    /// The declaration of option `name` (nullptr when there is none).
    [[nodiscard]] const OptionSpec* find(std::string_view name) const {
        for (const Entry& e : entries_)
            if (e.spec.name == name) return &e.spec;
        return nullptr;
    }

    /// Stores a validated value of option `name` in its member of `c`; false when there is
    /// no such option. For readers that fill a struct key by key ([global] and the like).
    bool assign(Config& c, std::string_view name, const OptionValue& value) const {
        for (const Entry& e : entries_)
            if (e.spec.name == name) {
                e.assign(c, value);
                return true;
            }
        return false;
    }

    /// The value option `name` has in `c` (null when it has none); for inherited defaults and
    /// for showing a filled config (`conveyor explain`).
    [[nodiscard]] OptionValue read(const Config& c, std::string_view name) const {
        for (const Entry& e : entries_)
            if (e.spec.name == name) return e.read(c);
        return OptionValue();
    }

private:
    template <class Other>
    friend class OptionTable; // embed() copies another table's entries

    struct Entry {
        OptionSpec spec;
        std::function<void(Config&, const OptionValue&)> assign;
        std::function<OptionValue(const Config&)> read;
    };

    /// add_choice's work, for plain and optional members alike.
    template <class E>
    OptionTable& add_spellings(std::string name, E Config::*member,
                               std::vector<std::pair<std::string, E>> spellings, OptionInfo info) {
        assert(!spellings.empty());
        OptionSpec spec = make_spec(std::move(name), OptionType::String, std::move(info));
        spec.choices.clear();
        for (const auto& [text, value] : spellings)
            spec.choices.push_back(text);
        auto read = [member, spellings](const Config& c) {
            for (const auto& [text, value] : spellings)
                if (value == c.*member) return OptionValue(text);
            return OptionValue();
        };
        if (!spec.required) spec.default_value = read(Config{});
        entries_.push_back(Entry{std::move(spec),
                                 [member, spellings](Config& c, const OptionValue& v) {
                                     for (const auto& [text, value] : spellings)
                                         if (text == v.as_string()) c.*member = value;
                                 },
                                 std::move(read)});
        return *this;
    }

    static OptionSpec make_spec(std::string&& name, OptionType type, OptionInfo&& info) {
        OptionSpec spec;
        spec.name = std::move(name);
        spec.type = info.type.value_or(type);
        spec.required = info.required;
        spec.description = std::move(info.description);
        spec.choices = std::move(info.choices);
        spec.aliases = std::move(info.aliases);
        spec.min = info.min;
        spec.max = info.max;
        spec.min_exclusive = info.min_exclusive;
        spec.min_length = info.min_length;
        spec.unit = info.unit;
        spec.default_note = std::move(info.default_note);
        spec.deprecated = std::move(info.deprecated);
        spec.example = std::move(info.example);
        spec.inherits = std::move(info.inherits);
        return spec;
    }

    template <class T>
    static void bound_by_type(OptionSpec& spec) {
        // Only bounds narrower than an int64 say anything (and stay exact as doubles).
        if constexpr (std::is_unsigned_v<T>) {
            if (!spec.min) spec.min = 0;
        } else if constexpr (sizeof(T) < sizeof(std::int64_t)) {
            if (!spec.min) spec.min = static_cast<double>(std::numeric_limits<T>::min());
        }
        if constexpr (sizeof(T) < sizeof(std::int64_t)) {
            if (!spec.max) spec.max = static_cast<double>(std::numeric_limits<T>::max());
        }
    }

    std::vector<Entry> entries_;
};

} // namespace conveyor
