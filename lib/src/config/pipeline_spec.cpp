#include "conveyor/config/pipeline_spec.hpp"

#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <unistd.h>

namespace conveyor {

std::string StageSpec::input_label(std::size_t k) const {
    if (k < input_outputs.size() && !input_outputs[k].empty())
        return inputs[k] + "." + input_outputs[k];
    return inputs[k];
}

namespace {

/// The option name an error's text starts with: "columns" in "columns: ..." and in
/// "aggregations[0].column: ..." (a part of it before the colon, with no space); empty when the
/// text starts otherwise.
std::string_view leading_option(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && (std::isalnum(static_cast<unsigned char>(text[n])) || text[n] == '_'))
        ++n;
    if (n == 0 || n == text.size()) return {};
    if (text[n] == ':') return text.substr(0, n);
    if (text[n] != '[' && text[n] != '.') return {};
    const std::size_t colon = text.find(": ", n);
    if (colon == std::string_view::npos ||
        text.substr(n, colon - n).find(' ') != std::string_view::npos)
        return {};
    return text.substr(0, n);
}

} // namespace

SourceLocation StageSpec::location_of(const Error& e) const {
    const std::string text = e.where.empty() ? e.message : e.where + ": " + e.message;
    const std::string_view name = leading_option(text);
    // Only an option the file gave has a line of its own (a default has none).
    if (!name.empty() && config.given(name)) return config.location(name);
    return where;
}

const StageSpec* PipelineSpec::find_stage(std::string_view id) const {
    for (const StageSpec& s : stages)
        if (s.id == id) return &s;
    return nullptr;
}

std::uint64_t PipelineSpec::memory_limit() const {
    if (global.memory_limit != 0) return global.memory_limit;
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0
               ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 4
               : std::uint64_t{1} << 30;
}

namespace {

/// Whether the dag executor materialises some edge of `p`: at a fork or a join, and around
/// a stage that runs on the I/O thread (dag_executor.cpp, plan_steps).
bool materialises_edges(const PipelineSpec& p) {
    if (p.global.executor != ExecutorKind::Dag) return false;
    std::map<std::string_view, std::size_t> consumers;
    for (const StageSpec& s : p.stages) {
        if (s.inputs.size() > 1 || (s.descriptor && s.descriptor->asynchronous)) return true;
        for (const std::string& in : s.inputs)
            if (++consumers[in] > 1) return true;
    }
    return false;
}

/// Holders of a share of memory_limit: each stage that holds its input or may hold records
/// (Stage::may_hold_records), and the materialised edges together.
std::size_t memory_holders(const PipelineSpec& p) {
    std::size_t holders = materialises_edges(p) ? 1 : 0;
    for (const StageSpec& s : p.stages)
        holders += (s.descriptor && s.descriptor->needs_whole_input) ||
                           (s.stage && s.stage->may_hold_records())
                       ? 1
                       : 0;
    return holders;
}

} // namespace

std::uint64_t PipelineSpec::memory_share() const {
    return memory_limit() / std::max<std::size_t>(1, memory_holders(*this));
}

bool PipelineSpec::holds_data() const {
    return memory_holders(*this) != 0;
}

bool PipelineSpec::buffers_edges() const {
    return materialises_edges(*this);
}

std::uint64_t PipelineSpec::edge_share() const {
    if (global.max_buffered_bytes != 0) return global.max_buffered_bytes;
    return memory_share();
}

std::optional<std::uint64_t> PipelineSpec::consumers_take_at_most(std::size_t i) const {
    std::optional<std::uint64_t> most;
    bool any = false;
    for (const StageSpec& c : stages)
        for (std::size_t k = 0; k < c.inputs.size(); ++k) {
            if (c.inputs[k] != stages[i].id) continue;
            const bool main = k >= c.input_outputs.size() || c.input_outputs[k].empty();
            const auto n = c.stage && main && c.inputs.size() == 1 ? c.stage->takes_at_most()
                                                                   : std::optional<std::uint64_t>();
            if (!n) return std::nullopt;
            most = any ? std::max(*most, *n) : *n;
            any = true;
        }
    return most;
}

} // namespace conveyor
