#include "pg_errors.hpp"

#include <fmt/format.h>
#include <optional>

namespace conveyor::plugins::postgres {

/// libpq's messages end with a newline and may span lines ("FATAL:  ...\nDETAIL: ..."): one
/// line for ours.
std::string one_line(std::string_view text) {
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

namespace {

/// `text` without the quoted values in it: `invalid input syntax for type integer: "x"` and
/// `value "99999999999" is out of range for type integer` lose `: "x"` and ` "99999999999"`.
std::string without_values(std::string_view text) {
    std::string out;
    std::size_t from = 0;
    for (;;) {
        const std::size_t open = text.find('"', from);
        const std::size_t close = open == text.npos ? open : text.find('"', open + 1);
        if (close == text.npos) break;
        std::size_t cut = open;
        if (cut > from && text[cut - 1] == ' ') --cut;
        if (cut > from && text[cut - 1] == ':') --cut;
        out.append(text.substr(from, cut - from));
        from = close + 1;
    }
    out.append(text.substr(from));
    return out;
}

/// A key's detail without the key's value: "Key (id)=(7) already exists." is "Key (id) already
/// exists."; "Key (a)=(1) conflicts with existing key (a)=(2)." keeps "Key (a) conflicts with
/// existing key". nullopt when it is no such detail, or the values cannot be told apart.
std::optional<std::string> key_without_values(std::string_view detail) {
    if (!detail.starts_with("Key (")) return std::nullopt;
    const std::size_t eq = detail.find(")=(");
    if (eq == detail.npos) return std::nullopt;
    static constexpr std::string_view kTails[] = {") already exists", ") is not present in table",
                                                  ") is still referenced from table",
                                                  ") conflicts with existing key"};
    for (const std::string_view tail : kTails) {
        const std::size_t at = detail.rfind(tail);
        if (at == detail.npos || at < eq) continue;
        std::string out(detail.substr(0, eq + 1));
        if (tail == kTails[3]) return out + std::string(tail.substr(1));
        return out + std::string(detail.substr(at + 1));
    }
    return std::nullopt;
}

} // namespace

/// Why the server refused a row (SQLSTATE class 22 data exception, 23 integrity violation),
/// without the row's values: the end-of-run summary groups record errors by message, so a
/// thousand rows refused for one reason must read alike (their dead letters keep the records).
/// A data exception's quoted value goes, and the column a COPY names is said instead; a key's
/// detail keeps its columns; "Failing row contains (...)" goes.
std::string row_reason(std::string_view sqlstate, std::string_view primary, const char* detail,
                       std::string_view context) {
    const bool data = sqlstate.starts_with("22");
    std::string out = data ? without_values(primary) : std::string(primary);
    if (data) {
        // "COPY t, line 3, column qty: "x""
        if (const std::size_t at = context.find(", column ");
            context.starts_with("COPY ") && at != context.npos) {
            std::string_view column = context.substr(at + 9);
            column = column.substr(0, column.find(": "));
            out += fmt::format(" (column {})", column);
        }
    }
    if (!detail) return out;
    const std::string d = one_line(detail);
    if (auto key = key_without_values(d)) return out + fmt::format(" ({})", *key);
    if (d.starts_with("Failing row contains") || d.starts_with("Key (") ||
        (data && d.find('"') != d.npos))
        return out;
    return out + fmt::format(" ({})", d);
}

/// libpq's complaint about a connection string quotes pieces of it ('missing "=" after "..."'),
/// which may be part of a password: those are left out.
std::string without_quoted(std::string_view text) {
    std::string out;
    std::string piece;
    bool quoted = false;
    for (const char c : text) {
        if (c != '"') {
            (quoted ? piece : out).push_back(c);
            continue;
        }
        if (quoted) {
            // A single character ("=") is the syntax libpq wanted, not a piece of the text.
            out += '"' + (piece.size() <= 1 ? piece : std::string("...")) + '"';
            piece.clear();
        }
        quoted = !quoted;
    }
    return out;
}

namespace {
bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}
} // namespace

/// The pipeline must change when the server refused who we are or what we asked for, not when
/// it could not be reached.
ErrorKind kind_of_connect_failure(std::string_view message) {
    for (const std::string_view config :
         {"authentication failed", "no password supplied", "password is required", "does not exist",
          "no pg_hba.conf entry", "invalid connection option", "missing \"=\"", "invalid URI",
          "invalid integer value", "permission denied", "unterminated quoted string",
          "invalid sslmode", "invalid port number", "does not support SSL",
          "certificate verify failed", "root certificate file", "server certificate for"})
        if (contains(message, config)) return ErrorKind::Config;
    return ErrorKind::TempFail;
}

ErrorKind kind_of_sqlstate(std::string_view s) noexcept {
    if (s.size() < 2) return ErrorKind::Runtime;
    // read_only_sql_transaction: a standby, or a database whose transactions are read-only
    // by default, cannot be the output.
    if (s == "25006") return ErrorKind::CantCreate;
    // protocol_violation on a connection that still works: what was sent does not fit the
    // statement (params for $1, $2, ... that it does not have), which no retry mends.
    if (s == "08P01") return ErrorKind::Config;
    const std::string_view cls = s.substr(0, 2);
    if (cls == "08" || cls == "53" || cls == "57" || cls == "40" || cls == "55")
        return ErrorKind::TempFail;
    if (cls == "28" || cls == "3D" || cls == "3F" || cls == "42") return ErrorKind::Config;
    if (cls == "22" || cls == "23") return ErrorKind::Data;
    return ErrorKind::Runtime;
}

} // namespace conveyor::plugins::postgres
