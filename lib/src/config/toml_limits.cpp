#include "toml_limits.hpp"

#include "conveyor/config/loader.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace conveyor::config {

namespace {

/// One pass over the text, tracking how deep the parser will nest at each point.
class LimitScanner {
public:
    explicit LimitScanner(std::string_view text) : text_(text) {}

    std::optional<LimitProblem> run() {
        if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3; // a UTF-8 byte-order mark
        while (pos_ < text_.size() && !problem_) {
            const char c = text_[pos_];
            if (c == '\n') {
                entry_dots_ = 0;
                line_start_ = true;
                bump();
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\r') {
                bump();
                continue;
            }
            const bool at_line_start = line_start_;
            line_start_ = false;
            switch (c) {
            case '#':
                while (pos_ < text_.size() && text_[pos_] != '\n')
                    bump();
                break;
            case '"':
            case '\'':
                skip_string();
                break;
            case '[':
                // At the start of a top-level line a bracket opens a table header; anywhere
                // else (after '=', inside an array) it opens an array.
                if (at_line_start && frames_.empty())
                    header();
                else
                    open();
                break;
            case '{':
                open();
                break;
            case ']':
            case '}':
                if (!frames_.empty()) frames_.pop_back();
                entry_dots_ = 0;
                bump();
                break;
            case ',':
                entry_dots_ = 0;
                bump();
                break;
            case '.':
                ++entry_dots_;
                check(base() + entry_dots_ + 1);
                bump();
                break;
            default:
                if (mishandled_character()) {
                    refuse("the character " + code_point_name() +
                           " outside a quoted string (TOML allows it only in strings and "
                           "comments; a key with it must be quoted: \"clé\" = 1)");
                    break;
                }
                bump();
                break;
            }
        }
        return std::move(problem_);
    }

private:
    /// Moves past one byte; columns count characters, not UTF-8 continuation bytes.
    void bump() {
        const auto b = static_cast<unsigned char>(text_[pos_++]);
        if (b == '\n') {
            ++line_;
            column_ = 1;
        } else if ((b & 0xC0) != 0x80) {
            ++column_;
        }
    }

    [[nodiscard]] bool at(std::size_t offset, char c) const {
        return pos_ + offset < text_.size() && text_[pos_ + offset] == c;
    }

    /// The depth of the table or container the current entry belongs to.
    [[nodiscard]] std::size_t base() const {
        return frames_.empty() ? header_depth_ : frames_.back();
    }

    /// The code point at pos_ when it starts a valid UTF-8 sequence, else 0.
    [[nodiscard]] char32_t code_point() const {
        const auto b = [&](std::size_t i) {
            return pos_ + i < text_.size() ? static_cast<unsigned char>(text_[pos_ + i]) : 0u;
        };
        const unsigned lead = b(0);
        auto cont = [&](std::size_t i) {
            return (b(i) & 0xC0u) == 0x80u ? (b(i) & 0x3Fu) : 0x100u;
        };
        if (lead >= 0xC2 && lead < 0xE0 && cont(1) < 0x100)
            return static_cast<char32_t>(((lead & 0x1Fu) << 6) | cont(1));
        if (lead >= 0xE0 && lead < 0xF0 && cont(1) < 0x100 && cont(2) < 0x100)
            return static_cast<char32_t>(((lead & 0x0Fu) << 12) | (cont(1) << 6) | cont(2));
        return 0;
    }

    [[nodiscard]] std::string code_point_name() const {
        char buf[16];
        std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(code_point()));
        return buf;
    }

    /// Outside strings and comments TOML allows only ASCII, and the parser says so for most
    /// characters. But toml++ 3.3, asking whether such a character is white space, reaches an
    /// unreachable branch (undefined behaviour: a crash or worse in a release build) for the
    /// code points its lookup table puts in blocks 0, 11 and 63 of 0x3FA code points from
    /// U+00A0 (Latin-1 letters, Greek, Cyrillic among them; found by fuzz_pipeline_loader).
    /// Those are refused here, before the parser sees them; the others get its own message.
    [[nodiscard]] bool mishandled_character() const {
        if (static_cast<unsigned char>(text_[pos_]) < 0x80) return false;
        const char32_t c = code_point();
        if (c <= 0xA0 || c >= 0xFEFF || c == 0x3000) return false;
        const auto block = (static_cast<std::uint32_t>(c) - 0xA0u) / 0x3FAu;
        return block == 0 || block == 11 || block == 63;
    }

    /// At a backslash in a multi-line basic string: when it ends its line, the parser skips the
    /// white space after it, and toml++ 3.3 then asks whether the next character is white
    /// space, reaching its unreachable branch for the characters mishandled_character() names
    /// (its issue 190). Such a character is refused here; true when the scan stopped.
    bool line_ending_backslash() {
        std::size_t i = pos_ + 1;
        while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\r'))
            ++i;
        if (i >= text_.size() || text_[i] != '\n') return false;
        while (i < text_.size() &&
               (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\r' || text_[i] == '\n'))
            ++i;
        while (pos_ < i)
            bump();
        if (pos_ >= text_.size() || !mishandled_character()) return false;
        refuse("the character " + code_point_name() +
               " right after a line-ending backslash in a \"\"\" string, which the TOML library "
               "conveyor uses mishandles: write it as \\u" +
               code_point_name().substr(2) + " or start the line with another character");
        return true;
    }

    static bool is_bare_key_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    }

    void refuse(std::string message) {
        if (!problem_) problem_ = LimitProblem{line_, column_, std::move(message)};
    }

    void check(std::size_t depth) {
        if (depth <= kMaxPipelineNesting || problem_) return;
        problem_ = LimitProblem{line_, column_,
                                "tables, arrays and dotted keys nest deeper than " +
                                    std::to_string(kMaxPipelineNesting) +
                                    " levels here (the most a pipeline file may nest)"};
    }

    void open() {
        const std::size_t depth = base() + entry_dots_ + 1;
        check(depth);
        frames_.push_back(depth);
        entry_dots_ = 0;
        bump();
    }

    /// `[a.b]` nests one level per key part, `[[a.b]]` one more for the array.
    void header() {
        bump();
        std::size_t depth = 1;
        if (at(0, '[')) {
            ++depth;
            bump();
        }
        bool named = false;
        // toml++ 3.3 asserts (undefined behaviour in a release build) when a key part of a
        // header does not start with a bare-key character or a quote: `[.]`, `[a..b]`, `[!]`.
        bool expect_part = true;
        while (pos_ < text_.size() && text_[pos_] != ']' && text_[pos_] != '\n' && !problem_) {
            const char c = text_[pos_];
            if (c == ' ' || c == '\t' || c == '\r') {
                bump();
                continue;
            }
            if (expect_part && !is_bare_key_char(c) && c != '"' && c != '\'') {
                refuse("a table header is made of names (letters, digits, '-', '_') or quoted "
                       "names, joined by '.': [a.b], [\"a b\"]");
                return;
            }
            expect_part = false;
            if (c == '"' || c == '\'') {
                named = true;
                skip_string();
                continue;
            }
            if (c == '.') {
                check(++depth);
                expect_part = true;
            }
            named = true;
            if (mishandled_character()) {
                refuse("the character " + code_point_name() +
                       " in a table header outside quotes (quote that part of the name: "
                       "[\"clé\"])");
                return;
            }
            bump();
        }
        // toml++ 3.3 asserts on a header with no name (`[` alone on a line), which is
        // undefined behaviour in a release build: refuse it here.
        if (!named && !problem_)
            refuse("a table header needs a name, such as [global]");
        else if (expect_part && !problem_)
            refuse("a table header cannot end with '.'");
        check(depth);
        header_depth_ = depth;
        entry_dots_ = 0;
    }

    /// Skips a string of any of TOML's four kinds. A single-line string that is not closed
    /// ends at the end of its line (the parser reports it); a multi-line one at the end of
    /// the text.
    void skip_string() {
        const char quote = text_[pos_];
        const bool basic = quote == '"';
        if (at(1, quote) && at(2, quote)) {
            bump();
            bump();
            bump();
            while (pos_ < text_.size()) {
                if (basic && text_[pos_] == '\\') {
                    const std::size_t before = pos_;
                    if (line_ending_backslash()) return;
                    if (pos_ != before) continue; // past the line break and white space
                }
                if (basic && text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
                    bump();
                    bump();
                    continue;
                }
                if (at(0, quote) && at(1, quote) && at(2, quote)) {
                    bump();
                    bump();
                    bump();
                    // Up to two more quotes belong to the content (`"""a"""""`).
                    for (int extra = 0; extra < 2 && at(0, quote); ++extra)
                        bump();
                    return;
                }
                bump();
            }
            return;
        }
        bump();
        while (pos_ < text_.size() && text_[pos_] != '\n') {
            if (basic && text_[pos_] == '\\' && pos_ + 1 < text_.size() &&
                text_[pos_ + 1] != '\n') {
                bump();
                bump();
                continue;
            }
            if (text_[pos_] == quote) {
                bump();
                return;
            }
            bump();
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::uint32_t line_ = 1;
    std::uint32_t column_ = 1;
    bool line_start_ = true;
    std::size_t header_depth_ = 0;
    std::size_t entry_dots_ = 0;
    std::vector<std::size_t> frames_; ///< depth of each open array or inline table
    std::optional<LimitProblem> problem_;
};

} // namespace

std::optional<LimitProblem> check_toml_limits(std::string_view text) {
    if (text.size() > kMaxPipelineFileBytes)
        return LimitProblem{0, 0,
                            "the file is larger than " +
                                std::to_string(kMaxPipelineFileBytes / (1024 * 1024)) +
                                " MiB, the most a pipeline file may hold"};
    return LimitScanner(text).run();
}

} // namespace conveyor::config
