#include "conveyor/format/json_parser.hpp"

#include "json_diagnose.hpp"
#include "json_flat.hpp"
#include "json_number.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <simdjson.h>
#include <system_error>
#include <vector>

namespace conveyor::json {

namespace od = simdjson::ondemand;

namespace {

using detail::is_json_ws;

std::string_view trim_right(std::string_view s) noexcept {
    while (!s.empty() && is_json_ws(s.back()))
        s.remove_suffix(1);
    return s;
}

/// Texts up to this size are copied into the arena whole, once, at their first string, key or
/// number text, and those point into the copy: one copy a record instead of one a field (which
/// were a tenth of json.read's time, mostly calls for a few bytes each). Larger ones (a whole
/// document, mostly punctuation and integers) copy only what their values keep.
constexpr std::size_t kWholeCopyMax = 16 * 1024;

} // namespace

/// simdjson's On-Demand front end walks the document once and materialises it into the
/// caller's arena. It validates what it visits (which is everything); numbers are checked
/// against the grammar here because only their raw text is taken. When anything fails, the
/// slow diagnoser re-reads the text to say what and where.
struct Parser::Impl {
    od::parser sj{};
    std::unique_ptr<char[]> buf;
    std::size_t buf_cap = 0;
    std::vector<Value> values;   // scratch stack for array elements
    std::vector<Member> members; // scratch stack for object members
    std::string unescaped;       // scratch for a string with escapes (flat pass)
    Arena* arena = nullptr;
    bool failed = false;
    bool flat = true; // try flat_object() first
    std::uint64_t flat_reads = 0;
    // After a document the flat pass could not read, the next `flat_skip` documents go to
    // simdjson directly: the gap doubles with each such miss in a row, up to kMaxFlatGap, and
    // closes at the first hit. A pass that fails at a nested value in the last field was a
    // quarter of the work on such records; now it is one document in 65.
    static constexpr std::uint32_t kMaxFlatGap = 64;
    std::uint32_t flat_skip = 0;
    std::uint32_t flat_gap = 0;
    // The keys of the last object the flat pass read; whether they are the keys of the
    // document parsed last (not one the pass could not read), and whether the document parsed
    // last had the same keys as the one before it (same_keys_as_last()).
    detail::KeyGuess guess;
    bool guess_is_last = false;
    bool guess_was_last = false; // guess_is_last before this document
    bool same_keys = false;
    simdjson::error_code sj_error = simdjson::SUCCESS;

    // The text being walked (where simdjson reads it), whether it holds a backslash anywhere
    // (without one no string or key needs a look for escapes), and its copy in the arena.
    const char* text_at = nullptr;
    std::size_t text_size = 0;
    bool whole_copy = false;
    bool escapes = true;
    const char* copy_at = nullptr;

    Impl() {
        // One spare level: our own limit (kMaxDepth) must trigger before simdjson's. A failure
        // here is not final: iterate() allocates again and reports it.
        const simdjson::error_code e = sj.allocate(64 * 1024, detail::kMaxDepth + 2);
        static_cast<void>(e);
    }

    /// Copies `text` into the reusable padded buffer simdjson requires.
    void load(std::string_view text) {
        const std::size_t need = text.size() + simdjson::SIMDJSON_PADDING;
        if (need > buf_cap) {
            std::size_t cap = buf_cap ? buf_cap : 4096;
            while (cap < need)
                cap *= 2;
            buf = std::make_unique_for_overwrite<char[]>(cap);
            buf_cap = cap;
        }
        if (!text.empty()) std::memcpy(buf.get(), text.data(), text.size());
        std::memset(buf.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    }

    /// `piece` of the text (not empty when it matters: an empty one stays a null view, as
    /// Arena::copy gives it) in storage that outlives the parse.
    std::string_view keep(std::string_view piece) {
        if (piece.empty()) return {};
        if (copy_at != nullptr) return {copy_at + (piece.data() - text_at), piece.size()};
        return keep_first(piece);
    }

    /// keep() without the copy of the text yet (out of line: once a text, or for a large one).
    [[gnu::noinline]] std::string_view keep_first(std::string_view piece) {
        if (!whole_copy) return arena->copy(piece);
        copy_at = arena->copy({text_at, text_size}).data();
        return {copy_at + (piece.data() - text_at), piece.size()};
    }

    Value number(std::string_view raw) {
        const std::string_view tok = trim_right(raw);
        return number(tok, detail::scan_number(tok));
    }

    /// The number `tok`, whose scan is `s`.
    Value number(std::string_view tok, const detail::NumberScan& s) {
        if (s.shape == detail::NumberShape::Integer) {
            // "-0" stays text: as an integer it would lose its sign.
            if (s.int_digits <= 18 && !(tok.size() == 2 && tok[0] == '-' && tok[1] == '0')) {
                std::int64_t v = 0;
                std::size_t i = tok[0] == '-' ? 1 : 0;
                for (; i < tok.size(); ++i)
                    v = v * 10 + (tok[i] - '0');
                return Value::integer(tok[0] == '-' ? -v : v);
            }
            std::int64_t v = 0;
            auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
            if (r.ec == std::errc{} && !(v == 0 && tok[0] == '-')) return Value::integer(v);
            // Beyond int64: keep the digits exactly.
        } else if (s.shape == detail::NumberShape::Invalid) {
            return failure();
        }
        // Also beyond a double's range (1e400): kept as its digits, as Miller keeps it, and
        // written again as it came; arithmetic sees it as infinity.
        return Value::number_text(keep(tok));
    }

    static bool raw_token(od::value& v, std::string_view& raw) {
        raw = v.raw_json_token();
        return true;
    }
    static bool raw_token(od::document& d, std::string_view& raw) {
        return d.raw_json_token().get(raw) == simdjson::SUCCESS;
    }

    /// Remembers simdjson's reason, for the rare failure the diagnoser cannot place.
    bool bad(simdjson::error_code e) noexcept {
        if (e == simdjson::SUCCESS) return false;
        sj_error = e;
        return true;
    }

    Value failure() {
        failed = true;
        return Value{};
    }

    // Values are returned in registers and failure is a flag: passing them through memory
    // made every level pay for store-forwarding stalls.

    /// The string `v`, whose raw token is `raw`. Without a backslash the text between the
    /// quotes is the value: taken directly (stage 1 has already checked UTF-8 and control
    /// characters). The string must still be consumed: simdjson skips an unconsumed string
    /// followed by ':' as if it were an object key, which would accept ["a":1].
    template <class V>
    Value string(V& v, std::string_view raw) {
        raw = trim_right(raw);
        if (raw.size() >= 2 && raw.back() == '"' &&
            (!escapes || std::memchr(raw.data(), '\\', raw.size()) == nullptr)) {
            od::raw_json_string consumed;
            if (bad(v.get_raw_json_string().get(consumed))) return failure();
            return Value::string(keep(raw.substr(1, raw.size() - 2)));
        }
        std::string_view s;
        if (bad(v.get_string().get(s))) return failure();
        return Value::string(arena->copy(s));
    }

    template <class V>
    Value scalar(V& v, od::json_type t) {
        switch (t) {
        case od::json_type::number: {
            std::string_view raw;
            if (!raw_token(v, raw)) return failure();
            return number(raw);
        }
        case od::json_type::string: {
            std::string_view raw;
            if (!raw_token(v, raw)) return failure();
            return string(v, raw);
        }
        case od::json_type::boolean: {
            bool b = false;
            if (bad(v.get_bool().get(b))) return failure();
            return Value::boolean(b);
        }
        case od::json_type::null: {
            bool is_null = false;
            if (bad(v.is_null().get(is_null)) || !is_null) return failure();
            return Value::null();
        }
        default:
            return failure();
        }
    }

    /// The items of `stack` from `base` on, moved into the arena (and off the stack); null
    /// when there are none. Their count goes to `n`.
    template <class T>
    T* to_arena(std::vector<T>& stack, std::size_t base, std::uint32_t& n) {
        n = static_cast<std::uint32_t>(stack.size() - base);
        T* items = nullptr;
        if (n) {
            items = arena->allocate_array<T>(n);
            std::memcpy(static_cast<void*>(items), stack.data() + base, n * sizeof(T));
        }
        stack.resize(base);
        return items;
    }

    /// The object of the members stacked from `base` on (see to_arena).
    Value object_from(std::size_t base) {
        std::uint32_t n = 0;
        Member* ms = to_arena(members, base, n);
        return Value::object(ms, n);
    }

    Value visit(od::value& v, int depth) {
        od::json_type t;
        if (bad(v.type().get(t))) return failure();
        switch (t) {
        case od::json_type::array: {
            if (depth >= detail::kMaxDepth) return failure();
            od::array arr;
            if (bad(v.get_array().get(arr))) return failure();
            const std::size_t base = values.size();
            for (auto item : arr) {
                // Taken by reference, not copied out of the result: the copy read back what
                // was just stored in two parts (a store-forwarding stall on every element).
                if (bad(item.error())) return failure();
                od::value&& iv = std::move(item).value_unsafe();
                const Value child = visit(iv, depth + 1);
                if (failed) return Value{};
                values.push_back(child);
            }
            std::uint32_t n = 0;
            Value* items = to_arena(values, base, n);
            return Value::array(items, n);
        }
        case od::json_type::object: {
            if (depth >= detail::kMaxDepth) return failure();
            od::object obj;
            if (bad(v.get_object().get(obj))) return failure();
            const std::size_t base = members.size();
            for (auto field_r : obj) {
                // By reference, as array elements are (this copy was 40% of visit's samples).
                if (bad(field_r.error())) return failure();
                od::field&& field = std::move(field_r).value_unsafe();
                const char* const key_at = field.key().raw();
                od::value& fv = field.value();
                const std::string_view raw = fv.raw_json_token();
                std::string_view key;
                if (!escapes) key = key_before(key_at, raw.data());
                if (key.data() == nullptr) key = plain_key(key_at);
                std::string_view stored;
                if (key.data() != nullptr) {
                    stored = keep(key);
                } else {
                    if (bad(field.unescaped_key().get(key))) return failure();
                    stored = arena->copy(key);
                }
                // Strings and numbers, most members, are read here from the token already
                // at hand; the rest (literals, lists, objects) through visit().
                const char first = raw.empty() ? '\0' : raw.front();
                Value child;
                if (first == '"')
                    child = string(fv, raw);
                else if (first == '-' || (first >= '0' && first <= '9'))
                    child = number(raw);
                else
                    child = visit(fv, depth + 1);
                if (failed) return Value{};
                Member& m = members.emplace_back();
                m.key = stored;
                m.value = child;
            }
            return object_from(base);
        }
        default:
            return scalar(v, t);
        }
    }

    /// The key starting at `p` (just after its opening quote) when it has no escapes; a null
    /// view otherwise. Stage 1 guarantees the closing quote exists.
    static std::string_view plain_key(const char* p) noexcept {
        const char* q = p;
        while (*q != '"') {
            if (*q == '\\') return {};
            ++q;
        }
        return {p, static_cast<std::size_t>(q - p)};
    }

    /// The key starting at `p` (just after its opening quote) in a text without backslashes,
    /// found from `value`, where its value starts: only whitespace and the ':' (which reading
    /// the field checked) lie between the key's closing quote and the value, as every other
    /// byte there would be a token of its own. O(1) where a scan of the key was not. A null
    /// view when that is not what is there.
    static std::string_view key_before(const char* p, const char* value) noexcept {
        if (value <= p) return {};
        const char* q = value;
        while (q > p && is_json_ws(q[-1]))
            --q;
        if (q == p || q[-1] != ':') return {};
        --q;
        while (q > p && is_json_ws(q[-1]))
            --q;
        if (q == p || q[-1] != '"') return {};
        return {p, static_cast<std::size_t>(q - 1 - p)};
    }

    /// The string starting at `s` (after its quote) that has an escape at `stop`, unescaped
    /// into the arena; its closing quote, or nullptr when it is not a string the flat pass
    /// reads (see read_escape).
    [[gnu::noinline]] const char* escaped_string(const char* s, const char* stop, const char* end,
                                                 Value& out) {
        unescaped.assign(s, stop);
        const char* p = stop;
        for (;;) {
            p = detail::read_escape(p, end, unescaped);
            if (p == nullptr) return nullptr;
            bool escape = false;
            const char* const e = detail::string_stop(p, end, escape);
            if (e == nullptr) return nullptr;
            unescaped.append(p, e);
            if (!escape) {
                out = Value::string(arena->copy(unescaped));
                return e;
            }
            p = e;
        }
    }

    /// The flat-object path: true with `out` set when [p, end) is one object whose values are
    /// strings, numbers, true, false or null, with keys without escapes and strings without
    /// surrogate escapes (read_escape); false for anything else, valid or not, which the
    /// general path then reads. The kPadding bytes after `end` are readable; the member stack
    /// is empty, and after a false holds what the pass got to.
    bool flat_object(const char* p, const char* const end, Value& out) {
        const auto skip_ws = [&] {
            while (p < end && is_json_ws(*p))
                ++p;
        };
        const auto literal = [&](std::string_view word) {
            if (static_cast<std::size_t>(end - p) < word.size() ||
                std::memcmp(p, word.data(), word.size()) != 0)
                return false;
            p += word.size();
            return true;
        };
        skip_ws();
        if (p == end || *p != '{') return false;
        ++p;
        skip_ws();
        std::size_t index = 0;
        bool guessed = true; // every key so far was the guess's
        if (p < end && *p == '}') {
            ++p;
        } else {
            for (;;) {
                if (p == end || *p != '"') return false;
                const char* const key_at = p + 1;
                const char* key_end = nullptr;
                if (index < guess.size() && guess.matches(index, p, end)) {
                    key_end = key_at + guess.key_size(index);
                    p = key_end + 2; // `":`
                } else {
                    guessed = false;
                    key_end = detail::plain_string_end(key_at, end);
                    if (key_end == nullptr) return false;
                    p = key_end + 1;
                    skip_ws();
                    if (p == end || *p != ':') return false;
                    ++p;
                }
                ++index;
                skip_ws();
                if (p == end) return false;
                // The value is made in its member: made in a local and copied, it was stored
                // a byte at a time and loaded whole (a store-forwarding stall a field).
                Member& m = members.emplace_back();
                m.key = keep({key_at, static_cast<std::size_t>(key_end - key_at)});
                const char c = *p;
                if (c == '"') {
                    const char* const s = ++p;
                    bool escape = false;
                    const char* e = detail::string_stop(p, end, escape);
                    if (e == nullptr) return false;
                    if (!escape)
                        m.value = Value::string(keep({s, static_cast<std::size_t>(e - s)}));
                    else if ((e = escaped_string(s, e, end, m.value)) == nullptr)
                        return false;
                    p = e + 1;
                } else if (c == '-' || (c >= '0' && c <= '9')) {
                    const char* const s = p;
                    bool real = false;
                    if (const char* const e = detail::plain_number_end(p, end, real)) {
                        // Checked as it was scanned: no second pass for its shape.
                        p = e;
                        const std::string_view tok(s, static_cast<std::size_t>(e - s));
                        detail::NumberScan scan;
                        scan.shape =
                            real ? detail::NumberShape::Real : detail::NumberShape::Integer;
                        scan.int_digits = tok.size() - (*s == '-' ? 1 : 0);
                        m.value = real ? Value::number_text(keep(tok)) : number(tok, scan);
                    } else {
                        while (p < end && detail::is_number_char(*p))
                            ++p;
                        const std::string_view tok(s, static_cast<std::size_t>(p - s));
                        const detail::NumberScan scan = detail::scan_number(tok);
                        if (scan.shape == detail::NumberShape::Invalid) return false;
                        m.value = number(tok, scan);
                    }
                } else if (literal("true")) {
                    m.value = Value::boolean(true);
                } else if (literal("false")) {
                    m.value = Value::boolean(false);
                } else if (literal("null")) {
                    m.value = Value::null();
                } else {
                    return false; // a list, an object, or not JSON
                }
                skip_ws();
                if (p == end) return false;
                if (*p == '}') {
                    ++p;
                    break;
                }
                if (*p != ',') return false; // also what follows a literal or number directly
                ++p;
                skip_ws();
            }
        }
        skip_ws();
        if (p != end) return false;
        if (!guessed || index != guess.size()) {
            guess.clear();
            for (const Member& m : members)
                guess.add(m.key);
            guessed = false;
        }
        same_keys = guessed && guess_was_last;
        guess_is_last = true;
        out = object_from(0);
        return true;
    }

    /// flat_object() on the `size` bytes at `data`, unless the path is General or a recent miss
    /// leaves this document to simdjson (flat_skip); keeps the gap between tries.
    bool flat_first(const char* data, std::size_t size, Value& out) {
        if (!flat) return false;
        if (flat_skip > 0) {
            --flat_skip;
            return false;
        }
        if (flat_object(data, data + size, out)) {
            ++flat_reads;
            flat_gap = 0;
            return true;
        }
        members.clear();
        flat_gap = flat_gap == 0 ? 1 : std::min(flat_gap * 2, kMaxFlatGap);
        flat_skip = flat_gap;
        return false;
    }

    /// Where the text of a parse lies, and what may point into it.
    enum class Text {
        Copied, ///< anywhere: copied into buf first (parse)
        Padded, ///< padded where it is; what values keep of it is copied (parse_padded)
        Kept,   ///< padded, and kept alive with the values: nothing copied (parse_in_place)
    };

    /// The fast path: true with `out` set, or false when the text is not valid JSON.
    bool parse_fast(std::string_view text, Value& out, Text where) {
        values.clear();
        members.clear();
        same_keys = false;
        guess_was_last = guess_is_last;
        guess_is_last = false; // until the flat pass reads this document
        failed = false;
        sj_error = simdjson::SUCCESS;
        const char* data = text.data();
        std::size_t cap = text.size() + simdjson::SIMDJSON_PADDING;
        if (where == Text::Copied || data == nullptr) {
            load(text);
            data = buf.get();
            cap = buf_cap;
        }
        text_at = data;
        text_size = text.size();
        whole_copy = text.size() <= kWholeCopyMax;
        copy_at = where == Text::Kept && data == text.data() ? data : nullptr;
        if (flat_first(data, text.size(), out)) return true;
        escapes = std::memchr(data, '\\', text.size()) != nullptr;
        od::document doc;
        if (bad(sj.iterate(data, text.size(), cap).get(doc))) return false;
        od::json_type t;
        if (bad(doc.type().get(t))) return false;
        if (t == od::json_type::array || t == od::json_type::object) {
            od::value root;
            if (bad(doc.get_value().get(root))) return false;
            out = visit(root, 0);
            if (failed) return false;
            // Anything left after the root value is an error.
            const char* rest = nullptr;
            return doc.current_location().get(rest) == simdjson::OUT_OF_BOUNDS;
        }
        // A scalar document must be a single token (its raw text runs to the end).
        std::string_view raw;
        if (bad(doc.raw_json_token().get(raw))) return false;
        if (raw.data() + raw.size() != data + text.size()) return false;
        out = scalar(doc, t);
        return !failed;
    }
};

Parser::Parser(Path path) : impl_(std::make_unique<Impl>()) {
    impl_->flat = path == Path::FlatObjectsFirst;
}
Parser::~Parser() = default;

std::uint64_t Parser::flat_reads() const noexcept {
    return impl_->flat_reads;
}

bool Parser::same_keys_as_last() const noexcept {
    return impl_->same_keys;
}

static_assert(Parser::kPadding == simdjson::SIMDJSON_PADDING);

Result<Value> Parser::parse(std::string_view text, Arena& arena, ParseError* error) {
    impl_->arena = &arena;
    Value out;
    if (impl_->parse_fast(text, out, Impl::Text::Copied)) return out;
    return failed(text, error);
}

Result<Value> Parser::parse_padded(std::string_view text, Arena& arena, ParseError* error) {
    impl_->arena = &arena;
    Value out;
    if (impl_->parse_fast(text, out, Impl::Text::Padded)) return out;
    return failed(text, error);
}

Result<Value> Parser::parse_in_place(std::string_view text, Arena& arena, ParseError* error) {
    impl_->arena = &arena;
    Value out;
    if (impl_->parse_fast(text, out, Impl::Text::Kept)) return out;
    return failed(text, error);
}

Result<Value> Parser::failed(std::string_view text, ParseError* error) {
    std::optional<detail::Problem> problem = detail::diagnose(text);
    if (!problem) {
        // The validator saw nothing wrong but the fast parser did: keep its reason.
        std::string why = "invalid JSON";
        if (impl_->sj_error != simdjson::SUCCESS)
            why += std::string(" (") + simdjson::error_message(impl_->sj_error) + ")";
        problem = detail::Problem{0, std::move(why)};
    }
    ParseError e;
    e.message = std::move(problem->message);
    e.offset = problem->offset;
    detail::locate(text, e.offset, e.line, e.column);
    std::string msg = "line " + std::to_string(e.line) + ", column " + std::to_string(e.column) +
                      ": " + e.message;
    if (error) *error = std::move(e);
    return fail(ErrorKind::Data, std::move(msg));
}

} // namespace conveyor::json
