#pragma once

#include "conveyor/registry/registry.hpp"

#include <optional>
#include <string>
#include <string_view>

/// The options csv.read and csv.write share: how fields are separated and quoted.
namespace conveyor::csv {

struct Dialect {
    char delimiter = ',';
    char quote = '"';
};

/// The delimiter `text` names: exactly one byte, or "tab" / a two-character `\t` for a tab
/// (a TOML basic string "\t" already is one tab byte). nullopt when it is none of those.
std::optional<char> parse_delimiter(std::string_view text) noexcept;

/// Reads `delimiter` and `quote` from the validated options, reporting every problem through
/// `ctx` (a multi-byte delimiter, a line break, quote == delimiter). nullopt after an error.
std::optional<Dialect> dialect_from_options(BuildContext& ctx);

/// Declarations shared by both functions, so `conveyor describe` reads the same for both.
OptionSpec headers_option(std::string description);
OptionSpec delimiter_option();
OptionSpec quote_option();
/// Options of every CSV reader (csv.read, stdin.read and file.watch with format = "csv").
/// `context` prefixes the descriptions where the options only apply to one format.
OptionSpec infer_types_option(std::string_view context = {});
OptionSpec on_ragged_option(std::string_view context = {});
OptionSpec columns_option(std::string_view context = {});

/// Typed option access that also works when a test fills in only some options: the declared
/// default applies when the key is missing.
bool bool_option(const Options& options, std::string_view name, bool fallback);
std::string string_option(const Options& options, std::string_view name, std::string fallback);

} // namespace conveyor::csv
