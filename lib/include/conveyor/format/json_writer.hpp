#pragma once

#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// Writing JSON text straight into a growing buffer (no iostreams, no intermediate DOM).
/// Strings are escaped per RFC 8259; bytes that are not valid UTF-8 are replaced by U+FFFD so
/// the output is always valid JSON. Absent fields are omitted (absent array items become null);
/// non-finite doubles become null; a Double carrying its number text is written as that text.
namespace conveyor::json {

void append_string(std::string& out, std::string_view s);
/// Whether `s` is UTF-8, so that append_string writes it as it is (no U+FFFD).
[[nodiscard]] bool is_utf8(std::string_view s) noexcept;
/// How many byte sequences that are not UTF-8 the writers of the calling thread have written
/// as U+FFFD since it started: a JSON sink takes the difference over what it wrote, so that
/// it can say so (replacement_warning) instead of changing text without a word.
std::uint64_t replaced_on_this_thread() noexcept;
/// What a JSON sink says at the end when it wrote `n` (> 0) such sequences as U+FFFD.
std::string replacement_warning(std::uint64_t n);
void append_int(std::string& out, std::int64_t i);
/// Shortest round-trip form; integral values keep a ".0" so they stay doubles.
void append_double(std::string& out, double d);
/// The bytes append_double writes for a finite `d`, at `p`, which has kMaxDoubleText bytes of
/// room; returns the end.
inline constexpr std::size_t kMaxDoubleText = 32;
char* write_double(char* p, double d) noexcept;
void append_value(std::string& out, const Value& v);
/// `indent` spaces per level, starting at nesting `depth`.
void append_value_pretty(std::string& out, const Value& v, int indent, int depth);

/// One record as a JSON object: `{"a":1,"b":"x"}` in schema order, absent fields omitted.
void append_record(std::string& out, const Schema& schema, std::span<const Value> row);
void append_record_pretty(std::string& out, const Schema& schema, std::span<const Value> row,
                          int indent, int depth);

/// A schema's field names as append_record_compact takes them: each written once as `"name":`.
std::vector<std::string> encoded_keys(const Schema& schema);
/// encoded_keys() of the schema of the batches being written, made again only when the schema
/// changes (the cache holds the schema, so a new one at the same address cannot be taken for
/// it). Shared: a worker encoding a batch keeps its keys while the writer moves on.
class KeyCache {
public:
    const std::shared_ptr<const std::vector<std::string>>& of(const SchemaRef& schema) {
        if (schema != schema_) {
            schema_ = schema;
            keys_ = std::make_shared<const std::vector<std::string>>(encoded_keys(*schema));
        }
        return keys_;
    }

private:
    SchemaRef schema_;
    std::shared_ptr<const std::vector<std::string>> keys_;
};

/// The bytes append_record writes, with the names encoded beforehand (encoded_keys(schema)).
/// Rows of scalars whose strings need no escapes are written through one reservation (the
/// common case: a tenth of the calls per field); any other row takes the general path.
void append_record_compact(std::string& out, std::span<const Value> row,
                           std::span<const std::string> keys);

/// Compact JSON text of one value.
std::string to_string(const Value& v);

} // namespace conveyor::json
