#include "expand.hpp"

namespace conveyor::config {

namespace {

bool is_name_start(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c) noexcept {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/// Shortens long values so messages stay on one readable line.
std::string quoted(std::string_view text) {
    constexpr std::size_t kMax = 60;
    std::string s = "\"";
    if (text.size() > kMax) {
        s.append(text.substr(0, kMax));
        s += "...";
    } else {
        s.append(text);
    }
    return s + "\"";
}

/// The `}` closing a reference whose body starts at `open`.
struct Closing {
    std::size_t at = std::string_view::npos;
    /// The body's `${...}` are not all closed: it ends at the first `}` and its default is
    /// literal text, as defaults were before they could use variables.
    bool literal = false;
};

/// Finds the `}` past every `${...}` inside the reference (a default may use other variables,
/// `${A:-${B:-x}}`), else the first `}`.
Closing closing_brace(std::string_view text, std::size_t open) {
    std::size_t depth = 0;
    for (std::size_t j = open; j < text.size(); ++j) {
        if (text.substr(j, 3) == "$${") {
            j += 2;
        } else if (text.substr(j, 2) == "${") {
            ++depth;
            ++j;
        } else if (text[j] == '}') {
            if (depth == 0) return {j, false};
            --depth;
        }
    }
    return {text.find('}', open), true};
}

/// Defaults that use variables whose defaults use variables ...: a bound, so that a crafted
/// file cannot exhaust the stack.
constexpr int kMaxNesting = 16;

/// What one expansion carries along.
struct Expansion {
    const VariableLookup& lookup;
    std::vector<std::string>* empty;
};

Result<std::string> expand(std::string_view text, const Expansion& x, int depth);

/// The value of reference `body` (NAME or NAME:-default) found in `text`.
Result<std::string> reference_value(std::string_view text, std::string_view body, bool literal,
                                    const Expansion& x, int depth) {
    const std::size_t sep = body.find(":-");
    const std::string_view name = sep == std::string_view::npos ? body : body.substr(0, sep);
    if (!is_variable_name(name)) {
        std::string msg = "invalid variable name '" + std::string(name) + "' in " + quoted(text) +
                          ": names are letters, digits and '_', not starting with a digit";
        if (const std::size_t colon = name.find(':');
            colon != std::string_view::npos && is_variable_name(name.substr(0, colon)))
            msg += " (for a default value write '${" + std::string(name.substr(0, colon)) + ":-" +
                   std::string(name.substr(colon + 1)) + "}')";
        else
            msg += " (write '$${' for a literal '${')";
        return fail(ErrorKind::Config, std::move(msg));
    }
    std::optional<std::string> value = x.lookup(name);
    // Like the shell's ${NAME:-default}: the default also replaces an empty value, and is
    // expanded only when it is used.
    if (sep != std::string_view::npos && (!value || value->empty())) {
        const std::string_view fallback = body.substr(sep + 2);
        if (literal || !needs_expansion(fallback)) return std::string(fallback);
        if (depth >= kMaxNesting)
            return fail(ErrorKind::Config, "variable defaults nested more than " +
                                               std::to_string(kMaxNesting) + " deep in " +
                                               quoted(text));
        return expand(fallback, x, depth + 1);
    }
    if (!value)
        return fail(ErrorKind::Config,
                    "variable '" + std::string(name) + "' is not set (used in " + quoted(text) +
                        "); set it in the environment or in [global.variables], or give "
                        "a default: ${" +
                        std::string(name) + ":-value}");
    if (value->empty() && x.empty) x.empty->emplace_back(name);
    return std::move(*value);
}

Result<std::string> expand(std::string_view text, const Expansion& x, int depth) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t dollar = text.find('$', i);
        if (dollar == std::string_view::npos) {
            out.append(text.substr(i));
            break;
        }
        out.append(text.substr(i, dollar - i));
        // `$${` is the escape for a literal `${`.
        if (text.substr(dollar, 3) == "$${") {
            out += "${";
            i = dollar + 3;
            continue;
        }
        if (text.substr(dollar, 2) != "${") {
            out += '$';
            i = dollar + 1;
            continue;
        }
        const std::size_t open = dollar + 2;
        const Closing close = closing_brace(text, open);
        if (close.at == std::string_view::npos)
            return fail(ErrorKind::Config,
                        "unterminated '${' in " + quoted(text) +
                            ": a variable reference ends with '}' (write '$${' for a literal "
                            "'${')");
        Result<std::string> value =
            reference_value(text, text.substr(open, close.at - open), close.literal, x, depth);
        if (!value) return std::move(value).error();
        out += *value;
        i = close.at + 1;
    }
    return out;
}

} // namespace

bool is_variable_name(std::string_view name) noexcept {
    if (name.empty() || !is_name_start(name.front())) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

bool is_single_reference(std::string_view text) noexcept {
    return text.size() > 3 && text.starts_with("${") &&
           closing_brace(text, 2).at == text.size() - 1;
}

bool needs_expansion(std::string_view text) noexcept {
    return text.find("${") != std::string_view::npos;
}

Result<std::string> expand_variables(std::string_view text, const VariableLookup& lookup,
                                     std::vector<std::string>* empty) {
    return expand(text, Expansion{lookup, empty}, 0);
}

} // namespace conveyor::config
