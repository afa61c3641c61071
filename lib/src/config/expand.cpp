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

} // namespace

bool is_variable_name(std::string_view name) noexcept {
    if (name.empty() || !is_name_start(name.front())) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

bool needs_expansion(std::string_view text) noexcept {
    return text.find("${") != std::string_view::npos;
}

Result<std::string> expand_variables(std::string_view text, const VariableLookup& lookup) {
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
        const std::size_t close = text.find('}', open);
        if (close == std::string_view::npos)
            return fail(ErrorKind::Config,
                        "unterminated '${' in " + quoted(text) +
                            ": a variable reference ends with '}' (write '$${' for a literal "
                            "'${')");
        const std::string_view body = text.substr(open, close - open);
        const std::size_t sep = body.find(":-");
        const std::string_view name = sep == std::string_view::npos ? body : body.substr(0, sep);
        if (!is_variable_name(name)) {
            std::string msg = "invalid variable name '" + std::string(name) + "' in " +
                              quoted(text) +
                              ": names are letters, digits and '_', not starting with a digit";
            if (const std::size_t colon = name.find(':');
                colon != std::string_view::npos && is_variable_name(name.substr(0, colon)))
                msg += " (for a default value write '${" + std::string(name.substr(0, colon)) +
                       ":-" + std::string(name.substr(colon + 1)) + "}')";
            else
                msg += " (write '$${' for a literal '${')";
            return fail(ErrorKind::Config, std::move(msg));
        }
        std::optional<std::string> value = lookup(name);
        if (sep != std::string_view::npos) {
            // Like the shell's ${NAME:-default}: the default also replaces an empty value.
            if (!value || value->empty()) value = std::string(body.substr(sep + 2));
        } else if (!value) {
            return fail(ErrorKind::Config,
                        "variable '" + std::string(name) + "' is not set (used in " + quoted(text) +
                            "); set it in the environment or in [global.variables], or give "
                            "a default: ${" +
                            std::string(name) + ":-value}");
        }
        out += *value;
        i = close + 1;
    }
    return out;
}

} // namespace conveyor::config
