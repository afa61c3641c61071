#pragma once

// The expression language's tokens and the hand-written lexer that makes them (lexer.cpp). A
// syntax error is a ParseFailure exception that never leaves lib/src/expr: parse_program()
// (parser.cpp) catches it and returns its Diagnostic. Private to lib/src/expr.

#include "conveyor/expr/expression.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace conveyor::expr {

enum class Tok : std::uint8_t {
    End,
    Name,   ///< identifier (field, function or keyword)
    Quoted, ///< `backquoted name`
    Int,
    Decimal,
    String,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    Star,
    StarStar, ///< ** (power)
    Slash,
    Percent,
    EqEq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Match,
    NotMatch,
    Coalesce,
    Question, ///< ? of c ? a : b
    Colon,
    AndAnd,
    OrOr,
    Bang,
};

struct Token {
    Tok kind = Tok::End;
    std::size_t offset = 0;
    std::size_t length = 0;
    std::string text; ///< names, strings (unescaped), number text
};

struct ParseFailure {
    Diagnostic diag;
};

/// Throws the ParseFailure for the text at [offset, offset + length).
[[noreturn]] void syntax_error(std::size_t offset, std::size_t length, std::string message);

class Lexer {
public:
    explicit Lexer(std::string_view text) : s_(text) {}

    /// The next token (Tok::End at the end); a ParseFailure for a bad one.
    Token next();

private:
    Token take(Token& t, Tok kind, std::size_t len, std::string text = {});
    Token number(Token& t);
    Token string(Token& t, char quote);
    Token quoted(Token& t);

    std::string_view s_;
    std::size_t pos_ = 0;
};

} // namespace conveyor::expr
