#pragma once

#include "conveyor/core/value.hpp"

#include <string_view>

/// The empty string of an unquoted empty CSV field read without type inference ("bare
/// empty"). It is the empty string to everything else (JSON writes ""), but csv.write writes
/// it back as an empty field, as it was, rather than as `""` (which it writes for the empty
/// string so that a reader with inference tells it from null): `a,,b` read with
/// infer_types = false stays `a,,b`. The mark is the address of the (static) storage the value
/// views, so it survives copies of the value and costs nothing. A value rebuilt from its text
/// loses it: spill files (exec/spill.hpp) note which fields of a record carried it.
namespace conveyor {

namespace detail {
/// The storage bare_empty() points at: its address is the mark, it holds no text.
extern const char kBareEmpty[1];
} // namespace detail

inline Value bare_empty() noexcept {
    return Value::string(std::string_view(detail::kBareEmpty, 0));
}
inline bool is_bare_empty(const Value& v) noexcept {
    return v.is_string() && v.as_string().data() == detail::kBareEmpty;
}

} // namespace conveyor
