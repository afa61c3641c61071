// The expression language's lexer: names, `quoted names`, numbers, strings with escapes and
// the operators, each a Token with its place in the text for messages.

#include "lexer.hpp"

#include "conveyor/core/utf8.hpp"

#include <charconv>

namespace conveyor::expr {

[[noreturn]] void syntax_error(std::size_t offset, std::size_t length, std::string message) {
    throw ParseFailure{Diagnostic{std::move(message), offset, length == 0 ? 1 : length}};
}

namespace {

bool name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool name_char(char c) {
    return name_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
    return c >= '0' && c <= '9';
}
} // namespace

Token Lexer::next() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
        ++pos_;
    Token t;
    t.offset = pos_;
    if (pos_ >= s_.size()) return t;
    const char c = s_[pos_];
    if (name_start(c)) {
        std::size_t j = pos_;
        while (j < s_.size() && name_char(s_[j]))
            ++j;
        return take(t, Tok::Name, j - pos_, std::string(s_.substr(pos_, j - pos_)));
    }
    if (digit(c)) return number(t);
    if (c == '\'' || c == '"') return string(t, c);
    if (c == '`') return quoted(t);
    const char n = pos_ + 1 < s_.size() ? s_[pos_ + 1] : '\0';
    switch (c) {
    case '(':
        return take(t, Tok::LParen, 1);
    case ')':
        return take(t, Tok::RParen, 1);
    case '[':
        return take(t, Tok::LBracket, 1);
    case ']':
        return take(t, Tok::RBracket, 1);
    case ',':
        return take(t, Tok::Comma, 1);
    case '.':
        if (digit(n)) return number(t);
        return take(t, Tok::Dot, 1);
    case '+':
        return take(t, Tok::Plus, 1);
    case '-':
        return take(t, Tok::Minus, 1);
    case '*':
        if (n == '*') return take(t, Tok::StarStar, 2);
        return take(t, Tok::Star, 1);
    case ':':
        return take(t, Tok::Colon, 1);
    case '/':
        return take(t, Tok::Slash, 1);
    case '%':
        return take(t, Tok::Percent, 1);
    case '=':
        if (n == '=') return take(t, Tok::EqEq, 2);
        if (n == '~') return take(t, Tok::Match, 2);
        syntax_error(pos_, 1, "'=' is not an operator here (did you mean '=='?)");
    case '!':
        if (n == '=') return take(t, Tok::NotEq, 2);
        if (n == '~') return take(t, Tok::NotMatch, 2);
        return take(t, Tok::Bang, 1);
    case '<':
        if (n == '=') return take(t, Tok::LessEq, 2);
        if (n == '>') return take(t, Tok::NotEq, 2);
        return take(t, Tok::Less, 1);
    case '>':
        if (n == '=') return take(t, Tok::GreaterEq, 2);
        return take(t, Tok::Greater, 1);
    case '?':
        if (n == '?') return take(t, Tok::Coalesce, 2);
        return take(t, Tok::Question, 1);
    case '&':
        if (n == '&') return take(t, Tok::AndAnd, 2);
        syntax_error(pos_, 1, "'&' is not an operator (did you mean 'and'?)");
    case '|':
        if (n == '|') return take(t, Tok::OrOr, 2);
        syntax_error(pos_, 1, "'|' is not an operator (did you mean 'or'?)");
    default:
        break;
    }
    syntax_error(pos_, 1, "unexpected character '" + std::string(1, c) + "'");
}

Token Lexer::take(Token& t, Tok kind, std::size_t len, std::string text) {
    t.kind = kind;
    t.length = len;
    t.text = std::move(text);
    pos_ += len;
    return t;
}

Token Lexer::number(Token& t) {
    std::size_t j = pos_;
    bool decimal = false;
    while (j < s_.size() && digit(s_[j]))
        ++j;
    // A fraction: "1.5", ".5" (the dot first) or "5." (the dot last: not followed by a name
    // or another dot, which would be a path).
    const bool dot = j < s_.size() && s_[j] == '.';
    const bool dot_last =
        dot && (j + 1 >= s_.size() || (!name_start(s_[j + 1]) && s_[j + 1] != '.'));
    if (dot && ((j + 1 < s_.size() && digit(s_[j + 1])) || j == pos_ || dot_last)) {
        decimal = true;
        ++j;
        while (j < s_.size() && digit(s_[j]))
            ++j;
    }
    if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
        std::size_t k = j + 1;
        if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
        if (k < s_.size() && digit(s_[k])) {
            decimal = true;
            j = k;
            while (j < s_.size() && digit(s_[j]))
                ++j;
        }
    }
    if (j < s_.size() && name_start(s_[j]))
        syntax_error(pos_, j - pos_ + 1,
                     "a name cannot start with a digit: write it in backquotes (`" +
                         std::string(s_.substr(pos_, j - pos_ + 1)) + "...`)");
    return take(t, decimal ? Tok::Decimal : Tok::Int, j - pos_,
                std::string(s_.substr(pos_, j - pos_)));
}

Token Lexer::string(Token& t, char quote) {
    std::string out;
    std::size_t j = pos_ + 1;
    for (;;) {
        if (j >= s_.size()) syntax_error(pos_, s_.size() - pos_, "unclosed string");
        const char c = s_[j];
        if (c == quote) break;
        if (c != '\\') {
            out += c;
            ++j;
            continue;
        }
        if (j + 1 >= s_.size()) syntax_error(pos_, s_.size() - pos_, "unclosed string");
        const char e = s_[j + 1];
        switch (e) {
        case 'n':
            out += '\n';
            break;
        case 't':
            out += '\t';
            break;
        case 'r':
            out += '\r';
            break;
        case '0':
            out += '\0';
            break;
        case '\\':
            out += '\\';
            break;
        case '\'':
            out += '\'';
            break;
        case '"':
            out += '"';
            break;
        case 'u': {
            std::uint32_t cp = 0;
            if (j + 6 > s_.size()) syntax_error(j, 2, "\\u needs four hex digits");
            auto [p, ec] = std::from_chars(s_.data() + j + 2, s_.data() + j + 6, cp, 16);
            if (ec != std::errc{} || p != s_.data() + j + 6)
                syntax_error(j, 6, "\\u needs four hex digits");
            append_utf8(out, cp);
            j += 6;
            continue;
        }
        default:
            // Regexes are written in strings: keep unknown escapes (\d, \.) as they are.
            out += '\\';
            out += e;
        }
        j += 2;
    }
    return take(t, Tok::String, j + 1 - pos_, std::move(out));
}

Token Lexer::quoted(Token& t) {
    std::string out;
    std::size_t j = pos_ + 1;
    for (;;) {
        if (j >= s_.size()) syntax_error(pos_, s_.size() - pos_, "unclosed backquote");
        if (s_[j] == '`') {
            if (j + 1 < s_.size() && s_[j + 1] == '`') {
                out += '`';
                j += 2;
                continue;
            }
            break;
        }
        out += s_[j++];
    }
    if (out.empty()) syntax_error(pos_, 2, "empty field name");
    return take(t, Tok::Quoted, j + 1 - pos_, std::move(out));
}

} // namespace conveyor::expr
