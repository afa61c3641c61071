#include "conveyor/stage/field_watch.hpp"

#include "conveyor/core/suggest.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace conveyor {

namespace {
/// Fields named in a warning at most (and remembered for it).
constexpr std::size_t kMaxNames = 50;
} // namespace

FieldWatch::FieldWatch(std::string stage, std::vector<expr::FieldPath> fields,
                       StageMetrics* metrics, std::string consequence)
    : stage_(std::move(stage)), metrics_(metrics), consequence_(std::move(consequence)),
      fields_(std::move(fields)), seen_(fields_.size(), 0), unseen_(fields_.size()) {}

void FieldWatch::saw(const Batch& batch) {
    if (unseen_ == 0 || batch.rows() == 0) return;
    records_ += batch.rows();
    const Schema& schema = batch.schema();
    if (&schema != last_schema_) { // a new set of fields: look again
        last_schema_ = &schema;
        last_keep_ = batch.schema_ref();
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (seen_[i] || !expr::resolve(fields_[i], schema).found()) continue;
            seen_[i] = 1;
            --unseen_;
        }
        for (const std::string& n : schema.names())
            if (names_.size() < kMaxNames &&
                std::find(names_.begin(), names_.end(), n) == names_.end())
                names_.push_back(n);
    }
    if (!warned_early_ && unseen_ > 0 && records_ >= kEarly) {
        warned_early_ = true;
        for (const std::string& m :
             unseen_messages(fmt::format("in the first {} records", records_)))
            spdlog::warn("stage '{}': {}", stage_, m);
    }
}

void FieldWatch::finished() const {
    if (unseen_ == 0 || records_ == 0) return;
    for (const std::string& m :
         unseen_messages(fmt::format("in the whole input ({} records)", records_))) {
        if (metrics_)
            metrics_->warnings().note(m, {});
        else
            spdlog::warn("stage '{}': {}", stage_, m);
    }
}

std::vector<std::string> FieldWatch::unseen_messages(std::string_view when) const {
    std::string seen;
    for (std::size_t i = 0; i < names_.size(); ++i)
        seen += (i ? ", " : "") + names_[i];
    std::vector<std::string> out;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        if (seen_[i]) continue;
        const std::string name = fields_[i].text();
        out.push_back(fmt::format("field '{}' did not appear {} (fields seen: {}){}; {}", name,
                                  when, seen, did_you_mean(name, names_), consequence_));
    }
    return out;
}

} // namespace conveyor
