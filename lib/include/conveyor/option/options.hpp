#pragma once

#include "conveyor/core/diagnostic.hpp"
#include "conveyor/option/option_value.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

/// The types a declared option can have. Loading checks them and normalises the value.
enum class OptionType : std::uint8_t {
    Bool,
    Int,   ///< TOML integer
    Float, ///< TOML float or integer (stored as double)
    String,
    StringList, ///< array of strings; a single string is accepted as a list of one
    StringMap,  ///< table of string values (e.g. HTTP headers), in file order
    Any,        ///< any scalar or array (e.g. the value a filter compares with)
    Table,      ///< any table
};

std::string_view to_string(OptionType type) noexcept;

/// What a number means, where it is more than a number: how it is read and shown.
enum class OptionUnit : std::uint8_t {
    None,
    Seconds,      ///< a Float: a duration in seconds, also written with a unit ("30s", "5m")
    Milliseconds, ///< an Int: a duration in milliseconds, also written with a unit ("300ms", "2s")
    Bytes,        ///< an Int: bytes, also written as a string with a unit ("512MB", "2GiB")
};

/// One declared key of a function's `[stages.config]`. Validation, `conveyor describe`, error
/// messages and the JSON schema all come from this one declaration.
struct OptionSpec {
    std::string name;
    OptionType type = OptionType::String;
    bool required = false;
    OptionValue default_value; ///< null when there is no default
    std::string description;
    std::vector<std::string> choices; ///< allowed values of a String option
    std::vector<std::string> aliases; ///< older spellings still accepted (e.g. has_headers)
    std::optional<double> min;        ///< inclusive bounds of Int/Float options
    std::optional<double> max;
    bool min_exclusive = false; ///< `min` itself is not allowed (a duration above 0)
    std::size_t min_length = 0; ///< of a String option: 1 = must not be empty
    OptionUnit unit = OptionUnit::None;
    /// The default when the run computes it ("a quarter of RAM"); default_value is then null.
    std::string default_note;
    std::string deprecated; ///< non-empty: using the option warns with this advice
    std::string example;    ///< TOML text of a typical value, for `conveyor new` and the schema
    std::string inherits;   ///< [global] key whose value is the default when not given
};

/// A stage's validated config: every declared option that was given or has a default.
class Options {
public:
    void set(std::string name, OptionValue value, SourceLocation where, bool given);

    [[nodiscard]] const OptionValue* find(std::string_view name) const;
    /// True when the pipeline file gave the key (not just its default).
    [[nodiscard]] bool given(std::string_view name) const;
    /// Where the key was given; the stage's config table (or the stage) otherwise.
    [[nodiscard]] SourceLocation location(std::string_view name) const;
    void set_default_location(SourceLocation where) { default_where_ = std::move(where); }

    // Typed accessors for declared options; asserting the declared type was validated.
    [[nodiscard]] bool get_bool(std::string_view name) const;
    [[nodiscard]] std::int64_t get_int(std::string_view name) const;
    [[nodiscard]] double get_double(std::string_view name) const;
    [[nodiscard]] const std::string& get_string(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> get_string_list(std::string_view name) const;
    [[nodiscard]] std::vector<std::pair<std::string, std::string>>
    get_string_map(std::string_view name) const;

    [[nodiscard]] const std::map<std::string, OptionValue, std::less<>>& values() const noexcept {
        return values_;
    }

private:
    struct Entry {
        SourceLocation where;
        bool given = false;
    };
    std::map<std::string, OptionValue, std::less<>> values_;
    std::map<std::string, Entry, std::less<>> meta_;
    SourceLocation default_where_;
};

} // namespace conveyor
