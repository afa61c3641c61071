#include "conveyor/config/loader.hpp"

#include "conveyor/core/suggest.hpp"
#include "conveyor/graph/dag.hpp"
#include "conveyor/registry/registry.hpp"
#include "expand.hpp"
#include "fan_in.hpp"
#include "overrides.hpp"
#include "sections.hpp"
#include "sharding.hpp"
#include "stage_options.hpp"
#include "toml_limits.hpp"
#include "toml_util.hpp"
#include "variables.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>

namespace conveyor {

namespace {

namespace fs = std::filesystem;
using config::Entry;
using config::LoadContext;

const std::vector<std::string> kSections = {"pipeline", "global", "error_handling", "stages"};
const std::vector<std::string> kStageKeys = {"id",     "function",       "inputs", "description",
                                             "config", "error_handling", "buffer"};
/// Enough to show several independent cycles without flooding the report.
constexpr std::size_t kMaxCyclesReported = 10;

std::string plural(std::size_t n, std::string_view word) {
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

/// "first", "second", ... for stages that have no id to name them by.
std::string ordinal(std::size_t n) {
    static const char* const kWords[] = {"first", "second",  "third",  "fourth", "fifth",
                                         "sixth", "seventh", "eighth", "ninth",  "tenth"};
    if (n >= 1 && n <= 10) return kWords[n - 1];
    return "#" + std::to_string(n);
}

/// One `[[stages]]` entry while it is being checked.
struct StageDraft {
    const toml::table* table = nullptr;
    SourceLocation where;
    std::size_t number = 0; ///< 1-based position among the [[stages]] entries
    std::string id;         ///< empty when missing or invalid
    const toml::node* id_node = nullptr;
    std::string function;
    const toml::node* function_node = nullptr;
    const FunctionDescriptor* descriptor = nullptr;
    const toml::node* error_handling_node = nullptr; ///< [stages.error_handling]
    const toml::node* buffer_node = nullptr;         ///< [stages.buffer]
    std::optional<BufferSpec> buffer;
    ErrorHandlingSpec error_handling; ///< effective for this stage
    struct Input {
        std::string id; ///< the stage it reads
        const toml::node* node;
        std::string output;                                  ///< its named output read ("" = main)
        std::size_t producer = static_cast<std::size_t>(-1); ///< index of stage `id`, once known
    };
    std::vector<Input> inputs;
    const toml::node* inputs_node = nullptr;
    bool inputs_ok = true;
    const toml::table* config = nullptr;
    bool config_ok = true;
    std::string description;
    Options options;
    bool options_ok = false;
    std::shared_ptr<const Stage> stage;
    std::optional<std::size_t> fan_out; ///< gather.apply: the fan-out of its branches
};

class Loader {
public:
    Loader(std::string file, std::string default_name, const Registry& registry,
           const LoadOptions& options, Diagnostics& diags)
        : ctx_{std::move(file), diags, {}}, default_name_(std::move(default_name)),
          registry_(registry), options_(options) {}

    std::optional<PipelineSpec> load(std::string_view text);

private:
    std::optional<std::string> getenv(std::string_view name) const;
    void expand_variables(toml::table& root, GlobalSpec& global);
    void check_top_level(const toml::table& root);
    void read_stages(const toml::node* node, const GlobalSpec& global);
    void read_stage(const toml::table& table, StageDraft& draft, const GlobalSpec& global);
    void resolve_function(StageDraft& draft, const GlobalSpec& global);
    void check_inputs();
    void check_input_count(const StageDraft& s);
    void check_cycles();
    void check_gathers();
    /// Whether stage i's output comes in windows (see FunctionDescriptor::opens_windows).
    bool windowed(std::size_t i, std::vector<int>& memo) const;
    void check_streaming(const GlobalSpec& global);
    void check_stage_options();
    void build_stages(const GlobalSpec& global);
    void check_named_outputs();
    void warn_unused_outputs();

    LoadContext ctx_;
    std::string default_name_;
    const Registry& registry_;
    const LoadOptions& options_;
    std::vector<StageDraft> stages_;
    std::map<std::string, std::size_t, std::less<>> index_;  ///< id -> first stage with it
    std::vector<std::pair<std::size_t, std::size_t>> edges_; ///< producer -> consumer
};

std::optional<std::string> Loader::getenv(std::string_view name) const {
    if (options_.getenv) return options_.getenv(name);
    const std::string key(name);
    if (const char* v = std::getenv(key.c_str())) return std::string(v);
    return std::nullopt;
}

void Loader::expand_variables(toml::table& root, GlobalSpec& global) {
    config::expand_pipeline_variables(ctx_, root, global,
                                      [this](std::string_view name) { return getenv(name); });
}

void Loader::check_top_level(const toml::table& root) {
    for (const Entry& e : config::entries_in_file_order(root)) {
        const std::string key(e.key->str());
        if (std::find(kSections.begin(), kSections.end(), key) != kSections.end()) continue;
        const toml::node& v = *e.value;
        const bool table = v.is_table();
        const bool table_array = v.is_array_of_tables() && !v.as_array()->empty();
        std::string msg;
        if (table || table_array) {
            msg = table ? "unknown table [" + key + "]" : "unknown table [[" + key + "]]";
            if (auto m = closest_match(key, kSections))
                msg += *m == "stages" ? " (did you mean [[stages]]?)"
                                      : " (did you mean [" + *m + "]?)";
            else
                msg += " (a pipeline file has [pipeline], [global], [error_handling] and "
                       "[[stages]])";
        } else {
            msg = "unknown top-level key '" + key + "'";
            auto in = [&key](const std::vector<std::string>& keys) {
                return std::find(keys.begin(), keys.end(), key) != keys.end();
            };
            if (in(config::pipeline_keys()))
                msg += " (it belongs in [pipeline])";
            else if (in(config::global_keys()))
                msg += " (it belongs in [global])";
            else if (in(config::error_handling_keys()))
                msg += " (it belongs in [error_handling])";
            else if (in(kStageKeys))
                msg += " (it belongs in a [[stages]] entry)";
            else
                msg += did_you_mean(key, kSections);
        }
        ctx_.error(ctx_.at(*e.key, v), {}, std::move(msg));
    }
}

void Loader::resolve_function(StageDraft& draft, const GlobalSpec& global) {
    const toml::node& node = *draft.function_node;
    const std::string* name = config::read_string(ctx_, node, "'function'", draft.id);
    if (!name) return;
    draft.function = *name;
    draft.descriptor = registry_.find(*name);
    if (!draft.descriptor) {
        std::vector<std::string> names;
        for (std::string_view n : registry_.names())
            names.emplace_back(n);
        std::string hint = did_you_mean(*name, names);
        if (hint.empty()) hint = " (`conveyor list` shows every function)";
        ctx_.error(ctx_.at(node), draft.id, "unknown function '" + *name + "'" + hint);
        return;
    }
    const std::string& plugin = draft.descriptor->plugin;
    const PluginInfo* info = plugin.empty() ? nullptr : registry_.find_plugin(plugin);
    if (info && info->optional && global.plugins &&
        std::find(global.plugins->begin(), global.plugins->end(), plugin) ==
            global.plugins->end()) {
        ctx_.error(ctx_.at(node), draft.id,
                   "function '" + *name + "' belongs to plugin '" + plugin +
                       "', which is not enabled: add \"" + plugin + "\" to [global] plugins");
    }
}

void Loader::read_stage(const toml::table& table, StageDraft& draft, const GlobalSpec& global) {
    std::vector<Entry> unknown;
    const toml::node* description_node = nullptr;
    const toml::node* config_node = nullptr;
    for (const Entry& e : config::entries_in_file_order(table)) {
        const std::string_view key = e.key->str();
        if (key == "id")
            draft.id_node = e.value;
        else if (key == "function")
            draft.function_node = e.value;
        else if (key == "inputs")
            draft.inputs_node = e.value;
        else if (key == "description")
            description_node = e.value;
        else if (key == "config")
            config_node = e.value;
        else if (key == "error_handling")
            draft.error_handling_node = e.value;
        else if (key == "buffer")
            draft.buffer_node = e.value;
        else
            unknown.push_back(e);
    }
    // The id first: later messages about this stage name it.
    if (draft.id_node) {
        if (const std::string* id = config::read_string(ctx_, *draft.id_node, "'id'")) {
            if (id->empty())
                ctx_.error(ctx_.at(*draft.id_node), {}, "stage id must not be empty");
            else
                draft.id = *id;
        }
    } else {
        ctx_.error(draft.where, {},
                   "the " + ordinal(draft.number) +
                       " [[stages]] entry has no 'id' (every stage needs a unique id)");
    }

    if (description_node) {
        if (const std::string* s =
                config::read_string(ctx_, *description_node, "'description'", draft.id))
            draft.description = *s;
    }
    if (config_node) {
        draft.config = config_node->as_table();
        if (!draft.config) {
            draft.config_ok = false;
            ctx_.error(ctx_.at(*config_node), draft.id,
                       "'config' must be a table (write the options under [stages.config]), "
                       "not " +
                           config::describe(*config_node));
        }
    }

    if (draft.function_node)
        resolve_function(draft, global);
    else
        ctx_.error(draft.where, draft.id,
                   "missing 'function' (the function the stage runs, e.g. \"csv.read\")");

    if (draft.inputs_node) {
        const toml::node& node = *draft.inputs_node;
        if (const toml::array* arr = node.as_array()) {
            for (const toml::node& item : *arr) {
                const std::string* input =
                    config::read_string(ctx_, item, "each entry of 'inputs'", draft.id);
                if (!input) {
                    draft.inputs_ok = false;
                    continue;
                }
                draft.inputs.push_back({*input, &item});
            }
        } else {
            draft.inputs_ok = false;
            std::string msg =
                "'inputs' must be an array of stage ids, not " + config::describe(node);
            if (node.is_string())
                msg += " (write inputs = [" + config::quote(node.as_string()->get()) + "])";
            ctx_.error(ctx_.at(node), draft.id, std::move(msg));
        }
    }

    for (const Entry& e : unknown) {
        const std::string key(e.key->str());
        std::string hint;
        const FunctionDescriptor* fn = draft.descriptor;
        bool is_option = false;
        if (fn) {
            for (const OptionSpec& o : fn->options) {
                if (o.name == key) is_option = true;
                for (const std::string& a : o.aliases)
                    if (a == key) is_option = true;
            }
        }
        if (is_option)
            hint = ": options of '" + fn->name + "' go in [stages.config]";
        else if (!closest_match(key, kStageKeys) &&
                 std::find(config::global_keys().begin(), config::global_keys().end(), key) !=
                     config::global_keys().end())
            hint = " ([global] settings go in [global], before the first [[stages]])";
        config::report_unknown_key(ctx_, e, "[[stages]]", kStageKeys, draft.id, hint);
    }
}

void Loader::read_stages(const toml::node* node, const GlobalSpec& global) {
    if (!node) {
        ctx_.error(SourceLocation{ctx_.file, 0, 0}, {},
                   "the pipeline has no stages: add at least one [[stages]] table");
        return;
    }
    const toml::array* arr = node->as_array();
    if (!arr) {
        ctx_.error(ctx_.at(*node), {},
                   node->is_table()
                       ? std::string("stages are written as [[stages]] (an array of tables), "
                                     "not [stages]")
                       : "'stages' must be an array of tables ([[stages]]), not " +
                             config::describe(*node));
        return;
    }
    if (arr->empty()) {
        ctx_.error(ctx_.at(*node), {},
                   "the pipeline has no stages: add at least one [[stages]] table");
        return;
    }
    stages_.resize(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& item = *arr->get(i);
        StageDraft& draft = stages_[i];
        draft.number = i + 1;
        draft.where = ctx_.at(item);
        draft.table = item.as_table();
        if (!draft.table) {
            ctx_.error(ctx_.at(item), {},
                       "each stage must be a table ([[stages]]), not " + config::describe(item));
            continue;
        }
        read_stage(*draft.table, draft, global);
    }
}

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
        std::string path;
        for (std::size_t n : *cycle)
            path += stages_[n].id + " -> ";
        path += stages_[cycle->front()].id;
        const StageDraft& head = stages_[cycle->front()];
        ctx_.error(head.where, head.id, "stages form a cycle: " + path);
        const std::pair<std::size_t, std::size_t> closing{cycle->back(), cycle->front()};
        std::erase(edges, closing);
    }
}

void Loader::check_gathers() {
    std::vector<config::FanInNode> nodes(stages_.size());
    bool any = false;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const StageDraft& s = stages_[i];
        nodes[i].id = s.id;
        nodes[i].fn = s.descriptor;
        for (const StageDraft::Input& in : s.inputs)
            nodes[i].producers.push_back(in.producer);
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
        if (std::any_of(nodes.begin(), nodes.end(), [&](const config::FanInNode& n) {
                return std::any_of(n.producers.begin(), n.producers.end(),
                                   [&](std::size_t p) { return p >= stages_.size(); });
            }))
            return; // an unresolved input elsewhere: the walk could step off the graph
        config::FanOut f = config::find_fan_out(nodes, i);
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

void Loader::check_stage_options() {
    for (StageDraft& s : stages_) {
        if (!s.descriptor || !s.config_ok) continue;
        s.options_ok =
            config::validate_stage_options(ctx_, *s.descriptor, s.config, s.where, s.id, s.options);
    }
}

void Loader::build_stages(const GlobalSpec& global) {
    for (StageDraft& s : stages_) {
        if (!s.descriptor || !s.options_ok || s.id.empty()) continue;
        const FunctionDescriptor& fn = *s.descriptor;
        if (!fn.factory) {
            ctx_.error(s.where, s.id, "function '" + fn.name + "' cannot be built (no factory)");
            continue;
        }
        // An option that inherits a [global] key defaults to that key's value.
        for (const OptionSpec& o : fn.options)
            if (!o.inherits.empty() && !s.options.given(o.name))
                s.options.set(o.name, config::global_value(global, o.inherits),
                              s.options.location(o.name), false);
        std::vector<std::string> inputs;
        for (const StageDraft::Input& in : s.inputs)
            inputs.push_back(in.output.empty() ? in.id : in.id + "." + in.output);
        BuildContext build(s.id, s.options, global, ctx_.diags, inputs);
        std::unique_ptr<Stage> stage;
        // Plugin code is a library edge: a throwing factory becomes a diagnostic.
        try {
            stage = fn.factory(build);
        } catch (const std::exception& e) {
            ctx_.error(s.where, s.id, "building '" + fn.name + "' failed: " + e.what());
            continue;
        }
        if (!stage) {
            if (!build.failed())
                ctx_.error(s.where, s.id,
                           "function '" + fn.name +
                               "' could not build the stage (no reason given)");
            continue;
        }
        if (!build.failed()) s.stage = std::move(stage);
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

/// Parses `text` as TOML after checking the limits on size and nesting; reports the first
/// problem (the parser stops there) and returns nullopt on one.
std::optional<toml::table> parse_toml(std::string_view text, LoadContext& ctx) {
    if (std::optional<config::LimitProblem> p = config::check_toml_limits(text)) {
        ctx.error(SourceLocation{ctx.file, p->line, p->column}, {}, std::move(p->message));
        return std::nullopt;
    }
    toml::parse_result parsed = toml::parse(text, std::string_view(ctx.file));
    if (!parsed) {
        const toml::parse_error& err = parsed.error();
        std::string desc(err.description());
        if (!desc.empty())
            desc[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(desc[0])));
        ctx.error(ctx.at(err.source()), {}, "invalid TOML: " + desc);
        return std::nullopt;
    }
    return std::move(parsed).table();
}

std::optional<PipelineSpec> Loader::load(std::string_view text) {
    std::optional<toml::table> parsed = parse_toml(text, ctx_);
    if (!parsed) return std::nullopt;
    toml::table& root = *parsed;

    PipelineSpec spec;
    spec.file = ctx_.file;
    spec.name = default_name_;
    config::apply_overrides(ctx_, root, options_.overrides);
    expand_variables(root, spec.global);
    check_top_level(root);
    if (const toml::node* n = root.get("pipeline")) config::read_pipeline_section(ctx_, *n, spec);
    if (const toml::node* n = root.get("global"))
        config::read_global_section(ctx_, *n, registry_, spec.global);
    if (options_.executor_override) spec.global.executor = *options_.executor_override;
    spec.global.shard = options_.shard;
    // dag waits for each stage's whole output, which an endless source never finishes:
    // streaming pipelines run with the channel executor (what validate and --dry-run show).
    if (spec.global.execution_mode == ExecutionMode::Streaming &&
        spec.global.executor == ExecutorKind::Dag)
        spec.global.executor = ExecutorKind::Channel;
    if (const toml::node* n = root.get("error_handling"))
        config::read_error_handling_section(ctx_, *n, spec.error_handling);

    read_stages(root.get("stages"), spec.global);
    for (StageDraft& s : stages_) {
        s.error_handling = spec.error_handling;
        if (s.buffer_node) {
            s.buffer.emplace();
            config::read_buffer_section(ctx_, *s.buffer_node, *s.buffer, s.id.empty() ? "?" : s.id);
            if (s.descriptor && s.descriptor->role == StageRole::Source)
                ctx_.error(ctx_.at(*s.buffer_node), s.id,
                           "[stages.buffer] is the queue of a stage's input, and a source has "
                           "none (give the buffer to the stage that reads it)");
            else if (spec.global.executor == ExecutorKind::Dag)
                ctx_.warning(ctx_.at(*s.buffer_node), s.id,
                             "[stages.buffer] applies under executor = \"channel\" or "
                             "\"async\"; under \"dag\" every edge holds its stage's whole "
                             "output anyway (spilling to state_dir beyond its memory share)");
        }
        if (s.error_handling_node)
            config::read_error_handling_section(ctx_, *s.error_handling_node, s.error_handling,
                                                s.id.empty() ? "?" : s.id);
    }
    check_inputs();
    check_cycles();
    check_gathers();
    check_streaming(spec.global);
    check_stage_options();
    build_stages(spec.global);
    check_named_outputs();
    warn_unused_outputs();

    if (ctx_.diags.has_errors()) return std::nullopt;
    for (StageDraft& s : stages_) {
        StageSpec out;
        out.id = s.id;
        out.function = s.function;
        for (const StageDraft::Input& in : s.inputs) {
            out.inputs.push_back(in.id);
            out.input_outputs.push_back(in.output);
        }
        out.config = std::move(s.options);
        out.where = s.where;
        out.descriptor = s.descriptor;
        out.stage = std::move(s.stage);
        out.description = std::move(s.description);
        out.error_handling = s.error_handling;
        out.fan_out = s.fan_out;
        out.buffer = s.buffer;
        spec.stages.push_back(std::move(out));
    }
    if (!config::check_sharding(ctx_, spec)) return std::nullopt;
    return spec;
}

LoadResult load(std::string_view text, std::string label, std::string default_name,
                const Registry& registry, const LoadOptions& options) {
    LoadResult result;
    Loader loader(std::move(label), std::move(default_name), registry, options, result.diagnostics);
    result.pipeline = loader.load(text);
    result.diagnostics.sort();
    return result;
}

} // namespace

LoadResult load_pipeline_file(const std::string& path, const Registry& registry,
                              const LoadOptions& options) {
    std::string text;
    std::string problem;
    std::error_code ec;
    if (path == "-") {
        // `conveyor run -`: the pipeline comes from standard input (a heredoc, a generator).
        char buf[64 * 1024];
        std::size_t n = 0;
        while (text.size() <= kMaxPipelineFileBytes &&
               (n = std::fread(buf, 1, sizeof buf, stdin)) > 0)
            text.append(buf, n);
        if (std::ferror(stdin)) {
            problem = std::strerror(errno);
        } else {
            return load(text, "<stdin>", "stdin", registry, options);
        }
    } else if (fs::is_directory(path, ec)) {
        problem = "it is a directory";
    } else if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        // One byte past the limit is enough to refuse the file (a device or a huge file is
        // never read whole).
        char buf[64 * 1024];
        std::size_t n = 0;
        while (text.size() <= kMaxPipelineFileBytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
            text.append(buf, n);
        if (std::ferror(f)) problem = std::strerror(errno);
        std::fclose(f);
    } else {
        problem = std::strerror(errno);
    }
    if (!problem.empty()) {
        LoadResult result;
        result.failure = ErrorKind::NoInput;
        result.diagnostics.error({}, {}, "cannot read pipeline file '" + path + "': " + problem);
        return result;
    }
    return load(text, path, fs::path(path).stem().string(), registry, options);
}

LoadResult load_pipeline_text(std::string_view text, std::string file_label,
                              const Registry& registry, const LoadOptions& options) {
    std::string name = fs::path(file_label).stem().string();
    return load(text, std::move(file_label), std::move(name), registry, options);
}

Diagnostics check_toml_text(std::string_view text, std::string file_label) {
    Diagnostics diags;
    LoadContext ctx{std::move(file_label), diags, {}};
    parse_toml(text, ctx);
    return diags;
}

} // namespace conveyor
