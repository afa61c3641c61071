// The loader's checks of the graph the stages form: every input names a stage (and an output
// it has), stages get the number of inputs their function takes, no cycles, gathers close
// the fan-outs they join, windowed stages only in streaming runs, named outputs used.

#include "conveyor/core/suggest.hpp"
#include "conveyor/graph/dag.hpp"
#include "fan_in.hpp"
#include "loader_state.hpp"

#include <algorithm>
#include <set>

namespace conveyor::config {

namespace {

/// Enough to show several independent cycles without flooding the report.
constexpr std::size_t kMaxCyclesReported = 10;

} // namespace

void Loader::check_inputs() {
    // Ids first, in file order, so duplicates name the first definition.
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        StageDraft& s = stages_[i];
        if (s.id.empty()) continue;
        auto [it, inserted] = index_.emplace(s.id, i);
        if (!inserted) {
            ctx_.error(ctx_.at(*s.id_node), s.id,
                       "duplicate stage id '" + s.id + "' (first defined at " +
                           stages_[it->second].where.to_string() + ")");
            continue;
        }
        ids.push_back(s.id);
    }

    for (std::size_t i = 0; i < stages_.size(); ++i) {
        StageDraft& s = stages_[i];
        // "router.big" reads output 'big' of stage 'router' unless a stage is named
        // "router.big" itself (ids may contain dots).
        for (StageDraft::Input& in : s.inputs) {
            const std::size_t dot = in.id.rfind('.');
            if (index_.count(in.id) || dot == std::string::npos || dot == 0 ||
                dot + 1 == in.id.size() || !index_.count(in.id.substr(0, dot)))
                continue;
            in.output = in.id.substr(dot + 1);
            in.id.resize(dot);
        }
        for (std::size_t k = 0; k < s.inputs.size(); ++k) {
            StageDraft::Input& in = s.inputs[k];
            if (!s.id.empty() && in.id == s.id) {
                ctx_.error(ctx_.at(*in.node), s.id, "stage lists itself in 'inputs'");
                continue;
            }
            // A second edge from the same stage would feed it every record twice.
            const auto first =
                std::find_if(s.inputs.begin(), s.inputs.begin() + k, [&in](const auto& other) {
                    return other.id == in.id && other.output == in.output;
                });
            if (first != s.inputs.begin() + k) {
                ctx_.error(ctx_.at(*in.node), s.id,
                           "input '" + in.id + "' is listed more than once in 'inputs' (first at " +
                               ctx_.at(*first->node).to_string() +
                               "); each listed stage's records would arrive once per listing");
                continue;
            }
            auto it = index_.find(in.id);
            if (it == index_.end()) {
                std::string msg = "input '" + in.id + "' is not the id of any stage";
                std::string hint = did_you_mean(in.id, ids);
                if (hint.empty() && !ids.empty() && ids.size() <= 12) {
                    hint = " (stages: ";
                    for (std::size_t j = 0; j < ids.size(); ++j)
                        hint += (j ? ", " : "") + ids[j];
                    hint += ")";
                }
                ctx_.error(ctx_.at(*in.node), s.id, msg + hint);
                continue;
            }
            in.producer = it->second;
            edges_.emplace_back(it->second, i);
        }
        check_input_count(s);
    }
}

void Loader::check_input_count(const StageDraft& s) {
    if (!s.descriptor || !s.inputs_ok) return;
    const FunctionDescriptor& fn = *s.descriptor;
    const std::size_t n = s.inputs.size();
    const SourceLocation where = s.inputs_node ? ctx_.at(*s.inputs_node) : s.where;
    const std::string who = "'" + fn.name + "'";
    if (fn.role == StageRole::Source) {
        if (n > 0)
            ctx_.error(where, s.id,
                       who + " is a source and reads no inputs, but 'inputs' lists " +
                           plural(n, "stage") + " (write inputs = [] or leave it out)");
        return;
    }
    const std::size_t min = std::max<std::size_t>(1, fn.min_inputs);
    if (n == 0) {
        ctx_.error(where, s.id,
                   who + " is a " + std::string(to_string(fn.role)) + " and needs " +
                       (min == 1 ? std::string("an input") : "at least " + plural(min, "input")) +
                       ": list the stages it reads in 'inputs', e.g. inputs = [\"load\"]");
    } else if (n < min) {
        ctx_.error(where, s.id,
                   who + " needs at least " + plural(min, "input") + ", but 'inputs' lists " +
                       std::to_string(n));
    } else if (n > fn.max_inputs) {
        ctx_.error(where, s.id,
                   who + " takes at most " + plural(fn.max_inputs, "input") +
                       ", but 'inputs' lists " + std::to_string(n));
    }
}

void Loader::check_cycles() {
    // Dag::find_cycle reports one cycle; cutting its closing edge and looking again finds the
    // others, so every independent cycle is reported at once.
    std::vector<std::pair<std::size_t, std::size_t>> edges = edges_;
    for (std::size_t reported = 0; reported < kMaxCyclesReported; ++reported) {
        Dag dag(stages_.size());
        for (auto [from, to] : edges)
            dag.add_edge(from, to);
        std::optional<std::vector<std::size_t>> cycle = dag.find_cycle();
        if (!cycle || cycle->empty()) return;
        // Start at the stage written first, so the report is stable and easy to find.
        auto first = std::min_element(cycle->begin(), cycle->end());
        std::rotate(cycle->begin(), first, cycle->end());
        // A long cycle (a generated file) shows its ends, not a line of thousands of ids.
        constexpr std::size_t kShown = 10;
        std::string path;
        for (std::size_t i = 0; i < cycle->size(); ++i) {
            if (cycle->size() > 2 * kShown && i == kShown) {
                path += "... (" + std::to_string(cycle->size() - 2 * kShown) + " more) -> ";
                i = cycle->size() - kShown;
            }
            path += stages_[(*cycle)[i]].id + " -> ";
        }
        path += stages_[cycle->front()].id;
        // Located at the input that closes it (head reads the last stage of the cycle).
        const StageDraft& head = stages_[cycle->front()];
        SourceLocation at = head.where;
        for (const StageDraft::Input& in : head.inputs)
            if (in.producer == cycle->back() && in.node) at = ctx_.at(*in.node);
        ctx_.error(at, head.id, "stages form a cycle: " + path);
        const std::pair<std::size_t, std::size_t> closing{cycle->back(), cycle->front()};
        std::erase(edges, closing);
    }
}

void Loader::check_gathers() {
    std::vector<FanInNode> nodes(stages_.size());
    bool any = false;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const StageDraft& s = stages_[i];
        nodes[i].id = s.id;
        nodes[i].fn = s.descriptor;
        for (const StageDraft::Input& in : s.inputs) {
            nodes[i].producers.push_back(in.producer);
            nodes[i].outputs.push_back(in.output);
        }
        any = any || (s.descriptor && s.descriptor->gathers);
    }
    if (!any) return;
    // Only stages whose inputs all resolved (a missing one is reported already).
    auto resolved = [&](const StageDraft& s) {
        return s.inputs_ok && !s.inputs.empty() &&
               std::all_of(s.inputs.begin(), s.inputs.end(), [&](const StageDraft::Input& in) {
                   return in.producer < stages_.size();
               });
    };
    std::vector<std::vector<std::size_t>> through(stages_.size()); ///< per gather: its branches
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        StageDraft& s = stages_[i];
        if (!s.descriptor || !s.descriptor->gathers || !resolved(s)) continue;
        if (std::any_of(nodes.begin(), nodes.end(), [&](const FanInNode& n) {
                return std::any_of(n.producers.begin(), n.producers.end(),
                                   [&](std::size_t p) { return p >= stages_.size(); });
            }))
            return; // an unresolved input elsewhere: the walk could step off the graph
        FanOut f = find_fan_out(nodes, i);
        const SourceLocation where = s.inputs_node ? ctx_.at(*s.inputs_node) : s.where;
        if (!f.stage) {
            ctx_.error(where, s.id, f.error);
            continue;
        }
        s.fan_out = f.stage;
        for (const auto& b : f.branches)
            through[i].insert(through[i].end(), b.begin(), b.end());
    }
    // A branch may not pass through another gather's fan-out: that stage numbers its records
    // afresh, and this gather would no longer recognise its own.
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        if (!stages_[i].fan_out) continue;
        for (std::size_t j = 0; j < stages_.size(); ++j) {
            if (j == i || !stages_[j].fan_out) continue;
            const std::size_t other = *stages_[j].fan_out;
            if (other == *stages_[i].fan_out) continue;
            if (std::find(through[i].begin(), through[i].end(), other) == through[i].end())
                continue;
            const StageDraft& s = stages_[i];
            ctx_.error(s.inputs_node ? ctx_.at(*s.inputs_node) : s.where, s.id,
                       "a branch of this gather passes through '" + stages_[other].id +
                           "', the fan-out of gather '" + stages_[j].id +
                           "', which numbers records afresh: gather the inner fan-out first "
                           "and feed its output on, or fan out from '" +
                           stages_[other].id + "' for both");
            break;
        }
    }
}

bool Loader::windowed(std::size_t i, std::vector<int>& memo) const {
    if (memo[i] >= 0) return memo[i] != 0;
    memo[i] = 0; // also what a stage on a cycle gets (reported already)
    const StageDraft& s = stages_[i];
    bool w = false;
    if (s.descriptor && s.descriptor->opens_windows) {
        w = true;
    } else if (s.descriptor && s.descriptor->role == StageRole::Transform && !s.inputs.empty()) {
        w = std::all_of(s.inputs.begin(), s.inputs.end(), [&](const StageDraft::Input& in) {
            return in.producer < stages_.size() && windowed(in.producer, memo);
        });
    }
    memo[i] = w ? 1 : 0;
    return w;
}

void Loader::check_streaming(const GlobalSpec& global) {
    if (global.execution_mode != ExecutionMode::Streaming) return;
    // A stage that needs its whole input can run in a stream only per window: after
    // window.apply (perhaps through transforms that pass the windows on), on every input.
    std::vector<int> memo(stages_.size(), -1);
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const StageDraft& s = stages_[i];
        if (!s.descriptor || !s.descriptor->needs_whole_input || !s.inputs_ok) continue;
        const std::string who = "function '" + s.function + "'";
        const SourceLocation where = s.function_node ? ctx_.at(*s.function_node) : s.where;
        if (s.inputs.size() > 1 && !windowed(i, memo)) {
            std::string unwindowed;
            for (const StageDraft::Input& in : s.inputs)
                if (in.producer >= stages_.size() || !windowed(in.producer, memo))
                    unwindowed += (unwindowed.empty() ? "'" : ", '") + in.id + "'";
            ctx_.error(where, s.id,
                       who +
                           " needs its whole input before it emits anything, so with "
                           "execution_mode = \"streaming\" it runs once per window, which "
                           "needs a window.apply before every input (not before " +
                           unwindowed +
                           "); the inputs' windows are paired by window_start (or use "
                           "\"batch\")");
        } else if (s.inputs.size() == 1 && !windowed(i, memo)) {
            ctx_.error(where, s.id,
                       who + " needs its whole input before it emits anything, so it cannot "
                             "run with execution_mode = \"streaming\" (use \"batch\" or remove "
                             "the stage) unless a window.apply comes before it: then it runs "
                             "once per window");
        }
    }
}

namespace {

std::string list_outputs(const std::string& stage, const std::vector<NamedOutput>& outputs) {
    std::string s;
    for (std::size_t k = 0; k < outputs.size(); ++k)
        s += (k ? ", " : "") + stage + "." + outputs[k].name;
    return s;
}

} // namespace

void Loader::check_named_outputs() {
    for (StageDraft& s : stages_) {
        for (StageDraft::Input& in : s.inputs) {
            if (in.producer >= stages_.size() || !stages_[in.producer].stage) continue;
            const Stage& from = *stages_[in.producer].stage;
            const std::vector<NamedOutput> outputs = from.named_outputs();
            if (in.output.empty()) {
                if (from.has_main_output()) continue;
                ctx_.error(ctx_.at(*in.node), s.id,
                           "stage '" + in.id +
                               "' sends its records to named outputs only: read one of them, "
                               "e.g. inputs = [\"" +
                               (outputs.empty() ? in.id : in.id + "." + outputs.front().name) +
                               "\"] (outputs: " + list_outputs(in.id, outputs) + ")");
                continue;
            }
            const bool known = std::any_of(outputs.begin(), outputs.end(),
                                           [&](const auto& o) { return o.name == in.output; });
            if (known) continue;
            if (outputs.empty()) {
                ctx_.error(ctx_.at(*in.node), s.id,
                           "input '" + in.id + "." + in.output + "': stage '" + in.id +
                               "' has no named outputs (write inputs = [\"" + in.id + "\"])");
                continue;
            }
            std::vector<std::string> names;
            for (const NamedOutput& o : outputs)
                names.push_back(o.name);
            ctx_.error(ctx_.at(*in.node), s.id,
                       "input '" + in.id + "." + in.output + "': stage '" + in.id +
                           "' has no output '" + in.output + "'" + did_you_mean(in.output, names) +
                           " (outputs: " + list_outputs(in.id, outputs) + ")");
        }
    }
}

void Loader::warn_unused_outputs() {
    std::vector<bool> consumed(stages_.size(), false);
    std::vector<std::vector<std::string>> read(stages_.size()); // named outputs read
    for (const StageDraft& s : stages_)
        for (const StageDraft::Input& in : s.inputs) {
            if (in.producer >= stages_.size()) continue;
            if (in.output.empty())
                consumed[in.producer] = true;
            else
                read[in.producer].push_back(in.output);
        }
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const StageDraft& s = stages_[i];
        if (s.id.empty() || !s.descriptor || s.descriptor->role == StageRole::Sink) continue;
        const bool main = !s.stage || s.stage->has_main_output();
        if (main && !consumed[i] && read[i].empty())
            ctx_.warning(s.where, s.id,
                         "output of stage '" + s.id +
                             "' is not used: no stage lists it in 'inputs'");
        if (!s.stage) continue;
        for (const NamedOutput& o : s.stage->named_outputs()) {
            if (o.may_go_unread ||
                std::find(read[i].begin(), read[i].end(), o.name) != read[i].end())
                continue;
            ctx_.warning(s.where, s.id,
                         "output '" + s.id + "." + o.name +
                             "' is not read by any stage: the records sent to it are dropped");
        }
    }
}

} // namespace conveyor::config
