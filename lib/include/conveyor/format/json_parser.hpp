#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/value.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace conveyor::json {

/// Where a JSON document failed to parse, relative to the text given to the parser.
struct ParseError {
    std::string message;    ///< e.g. "expected ':' after object key"
    std::size_t offset = 0; ///< byte offset of the problem
    std::size_t line = 1;   ///< 1-based
    std::size_t column = 1; ///< 1-based, in bytes
};

/// Parses JSON text into arena-backed Values (simdjson underneath, kept out of this header).
/// Reusable; not thread-safe (one per stage instance). Numbers keep their text when they are
/// not plain int64 (so 1.0, 1e3 and big integers are written back exactly); object key order
/// is preserved; duplicate keys are kept as they appear.
class Parser {
public:
    /// How documents are read. Both give the same values and the same errors: FlatObjectsFirst
    /// reads an object of strings, numbers and literals (most NDJSON records)
    /// in one pass of its own, and everything else through simdjson, as General reads all
    /// (after a document that pass could not read, it leaves a few to simdjson directly).
    /// General is there to check the other against (tests, fuzzing).
    enum class Path { FlatObjectsFirst, General };

    explicit Parser(Path path = Path::FlatObjectsFirst);
    ~Parser();
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    /// Parses exactly one document (surrounding whitespace allowed). Strings, arrays and
    /// objects are allocated in `arena`.
    ///
    /// Integers that fit int64 become Value::integer (except "-0"); every other number becomes
    /// Value::number_text with the exact source spelling. Numbers too large for a double
    /// (1e400) are rejected. Nesting deeper than 1024 levels is an error, not a crash.
    /// Failures are ErrorKind::Data with message "line L, column C: <what>" (column in bytes);
    /// `error`, when given, receives the same position and the bare <what>.
    Result<Value> parse(std::string_view text, Arena& arena, ParseError* error = nullptr);

    /// How many bytes after the text parse_padded() reads (whatever they hold).
    static constexpr std::size_t kPadding = 64;
    /// parse() without first copying `text` into a padded buffer of its own: the kPadding bytes
    /// after `text` must be readable (their content does not matter and is not changed). For
    /// readers that keep their input blocks padded (json.read).
    Result<Value> parse_padded(std::string_view text, Arena& arena, ParseError* error = nullptr);
    /// parse_padded() that copies nothing of `text` into `arena`: strings, keys and numbers
    /// kept as text may point into `text`, which the caller keeps, unchanged, as long as the
    /// values (json.read's chunks keep their read buffer alive with their batches). Values that
    /// are not in the text as they are (strings with escapes, arrays, objects) go to `arena`.
    Result<Value> parse_in_place(std::string_view text, Arena& arena, ParseError* error = nullptr);

    /// How many documents the flat-object path has read (of every parse of any kind).
    [[nodiscard]] std::uint64_t flat_reads() const noexcept;
    /// Whether the document parsed last is an object with the same keys, in the same order, as
    /// the document parsed just before it (by the same parser). False when that is not known:
    /// only the flat-object path tells.
    [[nodiscard]] bool same_keys_as_last() const noexcept;

private:
    Result<Value> failed(std::string_view text, ParseError* error);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace conveyor::json
