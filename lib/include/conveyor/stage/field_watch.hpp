#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/obs/metrics.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

/// Watches, on input without a fixed schema (JSON), whether the fields a stage reads ever
/// appear: a misspelt field there is not an error (records may lack any field), it just makes
/// the stage treat every record as one without it (a filter tests a missing value, unnest.apply
/// drops the record). `consequence` says which, at the end of each warning. Warns once when a field
/// has not appeared in the first kEarly records, and again when the input ended without it (with
/// the fields that did appear, and a did-you-mean): the first warning is logged as it happens, the
/// last one is a stage warning the end-of-run summary gives (StageMetrics::warnings).
///
/// A path into objects or lists (`user.address.city`, `items[0].sku`) has appeared once a record
/// has a value there; until then the records that have its top-level field are looked into
/// (over a fixed schema too: a CSV field holds no object), and the warning says where the first
/// of them stops (`'user' has no 'adress' (did you mean 'address'?)`).
/// `fields` without repeats (the first of each spelling): what a stage reads in several places
/// (two expressions, a key and an aggregate) is watched, and warned about, once.
std::vector<expr::FieldPath> distinct_fields(std::vector<expr::FieldPath> fields);
/// The fields `operands` read (a field's or path's path, an expression's fields), each once.
std::vector<expr::FieldPath> fields_of(std::span<const expr::Operand> operands);

class FieldWatch {
public:
    static constexpr std::uint64_t kEarly = 1000;

    FieldWatch(std::string stage, std::vector<expr::FieldPath> fields, StageMetrics* metrics,
               std::string consequence);

    /// Notes the fields of `batch` (its schema: the union of its records' fields).
    void saw(const Batch& batch);
    /// The input ended: a stage warning for each field that never appeared.
    void finished() const;

private:
    /// One message per field not seen so far.
    [[nodiscard]] std::vector<std::string> unseen_messages(std::string_view when) const;

    std::string stage_;
    StageMetrics* metrics_;
    std::string consequence_;
    /// Looks for the unseen paths into objects or lists in `batch`'s records.
    void look_into(const Batch& batch);

    std::vector<expr::FieldPath> fields_;
    std::vector<char> seen_;
    std::size_t unseen_;
    std::vector<expr::ResolvedPath> resolved_; ///< per field, in the last schema
    std::vector<std::string> stops_at_; ///< per path: where the first record without it stops
    std::uint64_t records_ = 0;
    bool warned_early_ = false;
    std::vector<std::string> names_; ///< the input's fields so far (at most kMaxNames)
    const Schema* last_schema_ = nullptr;
    SchemaRef last_keep_;
};

} // namespace conveyor
