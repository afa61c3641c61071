#include "json_diagnose.hpp"

#include "conveyor/core/ascii.hpp"
#include "json_number.hpp"
#include "utf8.hpp"

#include <cstdio>

namespace conveyor::json::detail {

namespace {

bool is_ws(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// Ends a bare token (number or literal), as the fast parser's tokenizer sees it.
bool is_delimiter(char c) noexcept {
    return is_ws(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' ||
           c == '"';
}

std::string describe(unsigned char c) {
    char buf[32];
    if (c >= 0x21 && c < 0x7F)
        std::snprintf(buf, sizeof buf, "'%c'", c);
    else if (c == ' ')
        std::snprintf(buf, sizeof buf, "a space");
    else
        std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
    return buf;
}

class Diagnoser {
public:
    explicit Diagnoser(std::string_view text) : b_(text.data()), p_(b_), e_(b_ + text.size()) {}

    std::optional<Problem> run() {
        skip_ws();
        if (p_ == e_) return Problem{0, "no JSON value: the input is empty"};
        if (!value(0)) return std::move(problem_);
        skip_ws();
        if (p_ != e_) {
            fail(p_, "unexpected " + describe(static_cast<unsigned char>(*p_)) +
                         " after the JSON value");
            return std::move(problem_);
        }
        return std::nullopt;
    }

private:
    bool fail(const char* at, std::string message) {
        problem_ = Problem{static_cast<std::size_t>(at - b_), std::move(message)};
        return false;
    }

    void skip_ws() {
        while (p_ < e_ && is_ws(*p_))
            ++p_;
    }

    bool value(int depth) {
        skip_ws();
        if (p_ == e_) return fail(p_, "unexpected end of input, expected a value");
        const char c = *p_;
        switch (c) {
        case '{':
            return object(depth + 1);
        case '[':
            return array(depth + 1);
        case '"':
            return string();
        case 't':
        case 'f':
        case 'n':
            return literal();
        default:
            if (c == '-' || is_digit(c)) return number();
            return fail(p_, "expected a value, found " + describe(static_cast<unsigned char>(c)));
        }
    }

    bool enter(int depth) {
        if (depth > kMaxDepth)
            return fail(p_, "nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
        return true;
    }

    bool object(int depth) {
        if (!enter(depth)) return false;
        ++p_; // '{'
        skip_ws();
        if (p_ < e_ && *p_ == '}') {
            ++p_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (p_ == e_) return fail(p_, "unexpected end of input inside an object");
            if (*p_ != '"') {
                if (*p_ == '}') return fail(p_, "trailing comma before '}'");
                return fail(p_, "expected a string key in object, found " +
                                    describe(static_cast<unsigned char>(*p_)));
            }
            if (!string()) return false;
            skip_ws();
            if (p_ == e_) return fail(p_, "unexpected end of input inside an object");
            if (*p_ != ':')
                return fail(p_, "expected ':' after object key, found " +
                                    describe(static_cast<unsigned char>(*p_)));
            ++p_;
            if (!value(depth)) return false;
            skip_ws();
            if (p_ == e_) return fail(p_, "unexpected end of input inside an object");
            if (*p_ == '}') {
                ++p_;
                return true;
            }
            if (*p_ != ',')
                return fail(p_, "expected ',' or '}' after object member, found " +
                                    describe(static_cast<unsigned char>(*p_)));
            ++p_;
        }
    }

    bool array(int depth) {
        if (!enter(depth)) return false;
        ++p_; // '['
        skip_ws();
        if (p_ < e_ && *p_ == ']') {
            ++p_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (p_ < e_ && *p_ == ']') return fail(p_, "trailing comma before ']'");
            if (!value(depth)) return false;
            skip_ws();
            if (p_ == e_) return fail(p_, "unexpected end of input inside an array");
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            if (*p_ != ',')
                return fail(p_, "expected ',' or ']' after array element, found " +
                                    describe(static_cast<unsigned char>(*p_)));
            ++p_;
        }
    }

    const char* token_end(const char* p) const {
        while (p < e_ && !is_delimiter(*p))
            ++p;
        return p;
    }

    bool literal() {
        const char* end = token_end(p_);
        const std::string_view tok(p_, static_cast<std::size_t>(end - p_));
        if (tok != "true" && tok != "false" && tok != "null")
            return fail(p_, "invalid literal (expected true, false or null)");
        p_ = end;
        return true;
    }

    bool number() {
        const char* end = token_end(p_);
        const std::string_view tok(p_, static_cast<std::size_t>(end - p_));
        const NumberScan s = scan_number(tok);
        if (s.shape == NumberShape::Invalid) return fail(p_, "invalid number");
        p_ = end;
        return true;
    }

    /// Four hex digits after "\u"; -1 when malformed.
    int hex4(const char* p) const {
        if (e_ - p < 4) return -1;
        int v = 0;
        for (int i = 0; i < 4; ++i) {
            const int h = hex_value(p[i]);
            if (h < 0) return -1;
            v = v * 16 + h;
        }
        return v;
    }

    bool string() {
        const char* start = p_;
        ++p_; // '"'
        while (p_ < e_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                return true;
            }
            if (c == '\\') {
                if (p_ + 1 >= e_) break;
                const char esc = p_[1];
                switch (esc) {
                case '"':
                case '\\':
                case '/':
                case 'b':
                case 'f':
                case 'n':
                case 'r':
                case 't':
                    p_ += 2;
                    continue;
                case 'u': {
                    const int cp = hex4(p_ + 2);
                    if (cp < 0) return fail(p_, "invalid \\u escape: expected four hex digits");
                    if (cp >= 0xDC00 && cp <= 0xDFFF)
                        return fail(p_, "invalid \\u escape: low surrogate without a high one");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        const int low =
                            (e_ - p_ >= 12 && p_[6] == '\\' && p_[7] == 'u') ? hex4(p_ + 8) : -1;
                        if (low < 0xDC00 || low > 0xDFFF)
                            return fail(p_, "invalid \\u escape: high surrogate not followed "
                                            "by a low one");
                        p_ += 12;
                    } else {
                        p_ += 6;
                    }
                    continue;
                }
                default:
                    return fail(p_, "invalid escape sequence '\\" +
                                        std::string(1, esc >= 0x20 && esc < 0x7F ? esc : '?') +
                                        "' in string");
                }
            }
            if (c < 0x20) {
                char buf[80];
                std::snprintf(buf, sizeof buf, "control character U+%04X in string must be escaped",
                              c);
                return fail(p_, buf);
            }
            if (c >= 0x80) {
                const int n = utf8_sequence(reinterpret_cast<const unsigned char*>(p_),
                                            static_cast<std::size_t>(e_ - p_));
                if (n < 0) return fail(p_, "invalid UTF-8 in string");
                p_ += n;
                continue;
            }
            ++p_;
        }
        return fail(start, "unterminated string");
    }

    const char* b_;
    const char* p_;
    const char* e_;
    Problem problem_;
};

} // namespace

std::optional<Problem> diagnose(std::string_view text) {
    return Diagnoser(text).run();
}

void locate(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column) {
    if (offset > text.size()) offset = text.size();
    line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    column = offset - line_start + 1;
}

} // namespace conveyor::json::detail
