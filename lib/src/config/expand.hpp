#pragma once

// Variable expansion for pipeline files: `${NAME}`, `${NAME:-default}` and the `$${` escape.
// Private to lib/src/config.

#include "conveyor/core/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::config {

/// Looks a variable up; nullopt when it is not set.
using VariableLookup = std::function<std::optional<std::string>(std::string_view)>;

/// True for names matching [A-Za-z_][A-Za-z0-9_]*.
bool is_variable_name(std::string_view name) noexcept;

/// Replaces every `${NAME}` by the value `lookup` gives and every `${NAME:-default}` by that
/// value, or by `default` (possibly empty; its own `${...}` expanded, up to 16 levels deep)
/// when NAME is unset or empty. A default with a `${` that is never closed ends at the first
/// `}` and is taken literally.
/// `$${` stands for a literal `${`; any other `$` is kept as is, and `{{ ... }}` templates are
/// never touched. Fails (ErrorKind::Config, a message for the user) on an unset variable
/// without default, an unterminated `${` or an invalid name.
/// `empty`, when given, receives the names used without a default whose value was empty.
Result<std::string> expand_variables(std::string_view text, const VariableLookup& lookup,
                                     std::vector<std::string>* empty = nullptr);

/// True when `text` is exactly one `${...}` reference (`${W:-2}`, `${W:-${X:-2}}`).
bool is_single_reference(std::string_view text) noexcept;

/// True when `text` holds anything expand_variables would change or reject.
bool needs_expansion(std::string_view text) noexcept;

} // namespace conveyor::config
