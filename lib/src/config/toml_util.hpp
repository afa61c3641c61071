#pragma once

// Helpers shared by the pipeline loader's translation units. Private to lib/src/config: the only
// place toml++ may be included.

#include "conveyor/core/diagnostic.hpp"
#include "conveyor/option/option_value.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace conveyor::config {

/// What the loader's steps share: where messages go and which strings already failed.
struct LoadContext {
    std::string file;
    Diagnostics& diags;
    /// String nodes whose variable expansion failed; already reported, so later checks of
    /// their value stay silent instead of piling a second error on the same spot.
    std::unordered_set<const toml::node*> poisoned;
    /// String nodes that were exactly one `${...}` before expansion, with that text: their
    /// value takes the type the option wants (`workers = "${W:-2}"` is the integer 2).
    std::unordered_map<const toml::node*, std::string> substituted;
    /// Values given with --set that read as a TOML number or boolean, with their text as
    /// written: a key that takes a string takes that text (`--set stages.out.path=2024`).
    std::unordered_map<const toml::node*, std::string> command_line_text;

    [[nodiscard]] SourceLocation at(const toml::source_region& region) const {
        // A value given on the command line (config/overrides.hpp) is located there.
        if (region.path && region.path->starts_with("--set ")) return SourceLocation{*region.path};
        return SourceLocation{file, region.begin.line, region.begin.column};
    }
    [[nodiscard]] SourceLocation at(const toml::node& node) const { return at(node.source()); }
    /// A key's own position, falling back to its value's.
    [[nodiscard]] SourceLocation at(const toml::key& key, const toml::node& value) const {
        return key.source().begin.line ? at(key.source()) : at(value);
    }

    void error(SourceLocation where, std::string_view stage, std::string message) {
        diags.error(std::move(where), std::string(stage), std::move(message));
    }
    void warning(SourceLocation where, std::string_view stage, std::string message) {
        diags.warning(std::move(where), std::string(stage), std::move(message));
    }
    [[nodiscard]] bool is_poisoned(const toml::node& node) const {
        return poisoned.count(&node) != 0;
    }
    /// True when `node` or anything inside it failed expansion.
    [[nodiscard]] bool contains_poison(const toml::node& node) const;
    /// `node` as an integer, float or boolean: its value when it is one, or the text of a
    /// substituted string (see `substituted`) when that reads as one; nullopt otherwise.
    [[nodiscard]] std::optional<std::int64_t> int_of(const toml::node& node) const;
    [[nodiscard]] std::optional<double> number_of(const toml::node& node) const;
    [[nodiscard]] std::optional<bool> bool_of(const toml::node& node) const;
    /// `node`'s string, or the text of a --set value that read as a number or boolean (see
    /// `command_line_text`); null for anything else.
    [[nodiscard]] const std::string* string_of(const toml::node& node) const;
    /// " (the value of ${W:-x})" for a substituted string, else "".
    [[nodiscard]] std::string substitution_note(const toml::node& node) const;
};

/// One `key = value` of a table.
struct Entry {
    const toml::key* key;
    const toml::node* value;
};

/// The entries of a table in the order they were written (toml++ keeps them sorted by key).
std::vector<Entry> entries_in_file_order(const toml::table& table);

/// "string \"100\"", "integer 5", "array", "table", ... for "must be X, not Y" messages.
std::string describe(const toml::node& node);

/// `"text"` with quotes, shortened when long.
std::string quote(std::string_view text);

/// `"a", "b", "c"` for "must be one of" messages.
std::string quote_list(const std::vector<std::string>& items);

/// A number for messages: integral values without a fraction.
std::string number_text(double value);

/// Converts a TOML value into an OptionValue (tables keep file order). Dates and times have no
/// equivalent: returns the offending node instead.
struct Converted {
    OptionValue value;
    const toml::node* unsupported = nullptr;
};
Converted to_option_value(const toml::node& node);

// Readers for the fixed sections ([pipeline], [global], [error_handling], [[stages]] keys).
// Each reports "<what> must be ..., not ..." and returns nullopt/nullptr on a problem; a
// string whose expansion already failed yields nullopt/nullptr silently.

const std::string* read_string(LoadContext& ctx, const toml::node& node, std::string_view what,
                               std::string_view stage = {});
std::optional<std::string> read_choice(LoadContext& ctx, const toml::node& node,
                                       std::string_view what,
                                       const std::vector<std::string>& choices,
                                       std::string_view stage = {});
std::optional<bool> read_bool(LoadContext& ctx, const toml::node& node, std::string_view what,
                              std::string_view stage = {});
/// An integer in [min, max].
std::optional<std::int64_t> read_int(LoadContext& ctx, const toml::node& node,
                                     std::string_view what, std::int64_t min, std::int64_t max,
                                     std::string_view stage = {});
/// A number of seconds (integer or float), finite, greater than 0 (or at least 0).
std::optional<double> read_seconds(LoadContext& ctx, const toml::node& node, std::string_view what,
                                   bool allow_zero, std::string_view stage = {});

/// The fixed section whose key `key` is ("global", "error_handling", "pipeline"); empty for
/// none.
std::string_view home_section(const std::string& key);

/// " (it belongs in [global])" and the like when `key` is a key of another fixed section than
/// `section`; empty otherwise.
std::string belongs_elsewhere(const std::string& key, std::string_view section);

/// Reports `key` as unknown in `section` ("[global]"), suggesting the closest known key, else
/// the section it belongs in.
void report_unknown_key(LoadContext& ctx, const Entry& entry, std::string_view section,
                        const std::vector<std::string>& known, std::string_view stage = {},
                        std::string_view hint = {});

} // namespace conveyor::config
