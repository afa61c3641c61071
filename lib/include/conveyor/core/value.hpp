#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace conveyor {

/// The kinds a value can have. JSON-compatible, plus `Absent`: a field that a record does not
/// have at all (heterogeneous JSON input). Writers omit absent fields; comparisons treat them
/// like null.
enum class Kind : std::uint8_t { Absent, Null, Bool, Int, Double, String, Array, Object };

std::string_view to_string(Kind kind) noexcept;

struct Member;

/// A 16-byte, trivially copyable value. Strings, arrays and objects do not own their memory:
/// they point into storage co-owned by the Batch that holds the value (an Arena or an input
/// buffer). Copying a Value into another batch therefore requires that batch to share the
/// storage (Batch::share_storage_of).
///
/// A Double may carry the exact text it was read from (CSV "0.0460", JSON "1.0"); writers emit
/// that text verbatim and as_double() parses it on demand, so a number read and written again
/// keeps its spelling and costs nothing when nobody looks at it.
class Value {
public:
    constexpr Value() noexcept : kind_(Kind::Absent), text_(0), size_(0), u_{.i = 0} {}

    static constexpr Value absent() noexcept { return Value{}; }
    static constexpr Value null() noexcept { return Value{Kind::Null}; }
    static constexpr Value boolean(bool b) noexcept {
        Value v{Kind::Bool};
        v.u_.b = b;
        return v;
    }
    static constexpr Value integer(std::int64_t i) noexcept {
        Value v{Kind::Int};
        v.u_.i = i;
        return v;
    }
    static constexpr Value real(double d) noexcept {
        Value v{Kind::Double};
        v.u_.d = d;
        return v;
    }
    /// A double known by its text: a finite decimal number, usually in JSON's grammar, also
    /// as CSV allows it (".5", "-.5", "5."). Writers of JSON check it and write such text from
    /// its value (0.5); csv.write keeps it as written.
    static Value number_text(std::string_view text) noexcept {
        Value v{Kind::Double};
        v.text_ = 1;
        v.size_ = static_cast<std::uint32_t>(text.size());
        v.u_.s = text.data();
        return v;
    }
    /// The caller guarantees `s` lives in storage the holding batch co-owns.
    static Value string(std::string_view s) noexcept {
        Value v{Kind::String};
        v.size_ = static_cast<std::uint32_t>(s.size());
        v.u_.s = s.data();
        return v;
    }
    static Value array(const Value* items, std::uint32_t n) noexcept {
        Value v{Kind::Array};
        v.size_ = n;
        v.u_.a = items;
        return v;
    }
    static Value object(const Member* members, std::uint32_t n) noexcept {
        Value v{Kind::Object};
        v.size_ = n;
        v.u_.o = members;
        return v;
    }

    [[nodiscard]] constexpr Kind kind() const noexcept { return kind_; }
    [[nodiscard]] constexpr bool is_absent() const noexcept { return kind_ == Kind::Absent; }
    /// True for null and absent: "no value".
    [[nodiscard]] constexpr bool is_null() const noexcept {
        return kind_ == Kind::Null || kind_ == Kind::Absent;
    }
    [[nodiscard]] constexpr bool is_number() const noexcept {
        return kind_ == Kind::Int || kind_ == Kind::Double;
    }
    [[nodiscard]] constexpr bool is_string() const noexcept { return kind_ == Kind::String; }

    [[nodiscard]] constexpr bool as_bool() const noexcept { return u_.b; }
    [[nodiscard]] constexpr std::int64_t as_int() const noexcept { return u_.i; }
    /// The numeric value of an Int or Double (parsing number text when needed).
    [[nodiscard]] double as_double() const noexcept;
    [[nodiscard]] std::string_view as_string() const noexcept { return {u_.s, size_}; }
    [[nodiscard]] std::span<const Value> as_array() const noexcept { return {u_.a, size_}; }
    [[nodiscard]] std::span<const Member> as_object() const noexcept;

    /// Doubles read from text keep it; writers print it as is.
    [[nodiscard]] bool has_number_text() const noexcept { return kind_ == Kind::Double && text_; }
    [[nodiscard]] std::string_view number_text() const noexcept { return {u_.s, size_}; }

    /// Looks up a member of an object value by key (linear; objects are small).
    [[nodiscard]] const Value* find(std::string_view key) const noexcept;

private:
    constexpr explicit Value(Kind k) noexcept : kind_(k), text_(0), size_(0), u_{.i = 0} {}

    Kind kind_;
    std::uint8_t text_;
    std::uint32_t size_;
    union {
        bool b;
        std::int64_t i;
        double d;
        const char* s;
        const Value* a;
        const Member* o;
    } u_;
};

static_assert(sizeof(Value) == 16);

struct Member {
    std::string_view key;
    Value value;
};

inline std::span<const Member> Value::as_object() const noexcept {
    return {u_.o, size_};
}

/// Asks the CPU to bring the first bytes of a string's or a number text's storage into cache
/// (a hint: nothing for other values); for loops that will read them a few rows later.
inline void prefetch_text(const Value& v) noexcept {
    if (v.is_string())
        __builtin_prefetch(v.as_string().data());
    else if (v.has_number_text())
        __builtin_prefetch(v.number_text().data());
}

/// Deep structural equality as JSON sees it: numbers compare by value (1 == 1.0),
/// absent equals null.
bool json_equal(const Value& a, const Value& b) noexcept;

} // namespace conveyor
