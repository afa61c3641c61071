#include "conveyor/stage/field_watch.hpp"

#include "conveyor/core/suggest.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace conveyor {

namespace {
/// Fields named in a warning at most (and remembered for it).
constexpr std::size_t kMaxNames = 50;

/// Where `path` stops in `top`, the value of its top-level field (which has no value at the
/// whole path): "'order' has no 'itms' (did you mean 'items'?)", "'id' is not an object",
/// "'lists' has 2 elements".
std::string where_it_stops(const expr::FieldPath& path, const expr::ResolvedPath& where, Value at) {
    const auto steps = path.steps();
    std::string walked;
    for (std::size_t i = 0; i < where.next_step; ++i)
        walked += (i ? "." : "") + steps[i].key;
    for (std::size_t i = where.next_step; i < steps.size(); ++i) {
        const expr::PathStep& step = steps[i];
        if (step.is_index) {
            if (at.kind() != Kind::Array) return "'" + walked + "' is not a list";
            const auto items = at.as_array();
            const std::optional<std::size_t> k = expr::item_at(step.index, items.size());
            if (!k)
                return fmt::format("'{}' has {} element{}", walked, items.size(),
                                   items.size() == 1 ? "" : "s");
            at = items[*k];
            walked += fmt::format("[{}]", step.index);
            continue;
        }
        const Value* member = at.find(step.key);
        if (member == nullptr) {
            if (at.kind() != Kind::Object) return "'" + walked + "' is not an object";
            std::vector<std::string> keys;
            for (const Member& m : at.as_object())
                keys.emplace_back(m.key);
            return "'" + walked + "' has no '" + step.key + "'" + did_you_mean(step.key, keys);
        }
        at = *member;
        walked += "." + step.key;
    }
    return "'" + walked + "' has no value";
}
} // namespace

std::vector<expr::FieldPath> distinct_fields(std::vector<expr::FieldPath> fields) {
    std::vector<expr::FieldPath> out;
    std::vector<std::string> texts;
    for (expr::FieldPath& f : fields) {
        std::string t = f.text();
        if (std::find(texts.begin(), texts.end(), t) != texts.end()) continue;
        texts.push_back(std::move(t));
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<expr::FieldPath> fields_of(std::span<const expr::Operand> operands) {
    std::vector<expr::FieldPath> read;
    for (const expr::Operand& o : operands) {
        if (const expr::FieldPath* p = o.path()) {
            read.push_back(*p);
        } else if (const expr::Expression* e = o.expression()) {
            const auto fields = e->fields();
            read.insert(read.end(), fields.begin(), fields.end());
        }
    }
    return distinct_fields(std::move(read));
}

FieldWatch::FieldWatch(std::string stage, std::vector<expr::FieldPath> fields,
                       StageMetrics* metrics, std::string consequence)
    : stage_(std::move(stage)), metrics_(metrics), consequence_(std::move(consequence)),
      fields_(std::move(fields)), seen_(fields_.size(), 0), unseen_(fields_.size()),
      resolved_(fields_.size()), stops_at_(fields_.size()) {}

void FieldWatch::saw(const Batch& batch) {
    if (unseen_ == 0 || batch.rows() == 0) return;
    records_ += batch.rows();
    const Schema& schema = batch.schema();
    if (&schema != last_schema_) { // a new set of fields: look again
        last_schema_ = &schema;
        last_keep_ = batch.schema_ref();
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (seen_[i]) continue;
            resolved_[i] = expr::resolve(fields_[i], schema);
            // A path into the field's value has appeared only when a record has a value there.
            if (!resolved_[i].found() || resolved_[i].next_step < fields_[i].steps().size())
                continue;
            seen_[i] = 1;
            --unseen_;
        }
        for (const std::string& n : schema.names())
            if (names_.size() < kMaxNames &&
                std::find(names_.begin(), names_.end(), n) == names_.end())
                names_.push_back(n);
    }
    look_into(batch);
    if (!warned_early_ && unseen_ > 0 && records_ >= kEarly) {
        warned_early_ = true;
        for (const std::string& m :
             unseen_messages(fmt::format("in the first {} records", records_)))
            spdlog::warn("stage '{}': {}", stage_, m);
    }
}

void FieldWatch::look_into(const Batch& batch) {
    for (std::size_t i = 0; i < fields_.size() && unseen_ > 0; ++i) {
        const expr::ResolvedPath& where = resolved_[i];
        if (seen_[i] || !where.found() || where.next_step >= fields_[i].steps().size()) continue;
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const auto row = batch.row(r);
            if (!expr::lookup(fields_[i], where, row).is_absent()) {
                seen_[i] = 1;
                --unseen_;
                break;
            }
            // A record without the top-level field says nothing about the rest of the path.
            if (stops_at_[i].empty() && !row[where.column].is_absent())
                stops_at_[i] = where_it_stops(fields_[i], where, row[where.column]);
        }
    }
}

void FieldWatch::finished() const {
    if (unseen_ == 0 || records_ == 0) return;
    for (const std::string& m :
         unseen_messages(fmt::format("in the whole input ({} records)", records_)))
        warn_at_end(metrics_, fmt::format("stage '{}'", stage_), m);
}

std::vector<std::string> FieldWatch::unseen_messages(std::string_view when) const {
    std::string seen;
    for (std::size_t i = 0; i < names_.size(); ++i)
        seen += (i ? ", " : "") + names_[i];
    std::vector<std::string> out;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        if (seen_[i]) continue;
        const std::string name = fields_[i].text();
        if (!stops_at_[i].empty())
            out.push_back(fmt::format("no record has a value at '{}' {} (in the first record "
                                      "that lacks it, {}); {}",
                                      name, when, stops_at_[i], consequence_));
        else
            out.push_back(fmt::format("field '{}' did not appear {} (fields seen: {}){}; {}", name,
                                      when, seen, did_you_mean(name, names_), consequence_));
    }
    return out;
}

} // namespace conveyor
