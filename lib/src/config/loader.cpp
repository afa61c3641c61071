#include "conveyor/config/loader.hpp"

#include "conveyor/core/suggest.hpp"
#include "conveyor/graph/dag.hpp"
#include "conveyor/registry/registry.hpp"
#include "expand.hpp"
#include "fan_in.hpp"
#include "loader_state.hpp"
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
#include <fmt/format.h>
#include <functional>
#include <map>
#include <memory>
#include <set>

namespace conveyor {

namespace config {

namespace {

const std::vector<std::string> kSections = {"pipeline", "global", "error_handling", "stages"};

/// "first", "second", ... for stages that have no id to name them by.
std::string ordinal(std::size_t n) {
    static const char* const kWords[] = {"first", "second",  "third",  "fourth", "fifth",
                                         "sixth", "seventh", "eighth", "ninth",  "tenth"};
    if (n >= 1 && n <= 10) return kWords[n - 1];
    return "#" + std::to_string(n);
}

/// The encoding a byte-order mark at the start of `text` names when it is not UTF-8's.
std::string_view other_encoding(std::string_view text) {
    if (text.starts_with(std::string_view("\xFF\xFE\0\0", 4))) return "UTF-32 LE";
    if (text.starts_with(std::string_view("\0\0\xFE\xFF", 4))) return "UTF-32 BE";
    if (text.starts_with("\xFF\xFE")) return "UTF-16 LE";
    if (text.starts_with("\xFE\xFF")) return "UTF-16 BE";
    return {};
}

/// What toml++ says, with what a newcomer most likely did and how to write it.
std::string toml_problem(std::string desc) {
    if (!desc.empty())
        desc[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(desc[0])));
    std::string hint;
    if (desc.find("'stages' as array-of-tables") != std::string::npos)
        hint = " (a [stages.config] table belongs to the [[stages]] entry above it: write "
               "[[stages]] with its id and function first, then its [stages.config])";
    else if (desc.find("existing table 'stages.") != std::string::npos)
        hint = " (each [[stages]] entry has one such table: is a [[stages]] line missing "
               "above this one?)";
    else if (desc.find("invalid utf-8") != std::string::npos)
        hint = " (a pipeline file is UTF-8: convert it, e.g. iconv -f latin1 -t utf-8)";
    return "invalid TOML: " + desc + hint;
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

/// `text` with control characters written as TOML writes them (\n, \t, \u0001).
std::string escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (u < 0x20 || u == 0x7f)
            out += fmt::format("\\u{:04X}", u);
        else
            out += c;
    }
    return out;
}

/// Parses `text` as TOML after checking the limits on size and nesting; reports the first
/// problem (the parser stops there) and returns nullopt on one.
std::optional<toml::table> parse_toml(std::string_view text, LoadContext& ctx) {
    if (const std::string_view encoding = other_encoding(text); !encoding.empty()) {
        ctx.error(SourceLocation{ctx.file, 1, 1}, {},
                  "the pipeline file is " + std::string(encoding) +
                      " (byte-order mark), not UTF-8: convert it with iconv -f " +
                      std::string(encoding.substr(0, 6)) + " -t UTF-8");
        return std::nullopt;
    }
    if (std::optional<LimitProblem> p = check_toml_limits(text)) {
        ctx.error(SourceLocation{ctx.file, p->line, p->column}, {}, std::move(p->message));
        return std::nullopt;
    }
    toml::parse_result parsed = toml::parse(text, std::string_view(ctx.file));
    if (!parsed) {
        const toml::parse_error& err = parsed.error();
        ctx.error(ctx.at(err.source()), {}, toml_problem(std::string(err.description())));
        return std::nullopt;
    }
    return std::move(parsed).table();
}

} // namespace

std::optional<std::string> Loader::getenv(std::string_view name) const {
    if (options_.getenv) return options_.getenv(name);
    const std::string key(name);
    if (const char* v = std::getenv(key.c_str())) return std::string(v);
    return std::nullopt;
}

void Loader::expand_variables(toml::table& root, GlobalSpec& global) {
    expand_pipeline_variables(ctx_, root, global,
                              [this](std::string_view name) { return getenv(name); });
}

void Loader::check_top_level(const toml::table& root) {
    for (const Entry& e : entries_in_file_order(root)) {
        const std::string key(e.key->str());
        if (std::find(kSections.begin(), kSections.end(), key) != kSections.end()) continue;
        const toml::node& v = *e.value;
        const bool table = v.is_table();
        const bool table_array = v.is_array_of_tables() && !v.as_array()->empty();
        std::string msg;
        if (table || table_array) {
            msg = table ? "unknown table [" + key + "]" : "unknown table [[" + key + "]]";
            if (const std::string_view home = home_section(key); table && !home.empty())
                // [variables], [dead_letter_queue]: a table of a fixed section.
                msg += " (did you mean [" + std::string(home) + "." + key + "]?)";
            else if (auto m = closest_match(key, kSections))
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
            if (in(pipeline_keys()))
                msg += " (it belongs in [pipeline])";
            else if (in(global_keys()))
                msg += " (it belongs in [global])";
            else if (in(error_handling_keys()))
                msg += " (it belongs in [error_handling])";
            else if (in(stage_keys()))
                msg += " (it belongs in a [[stages]] entry)";
            else
                msg += did_you_mean(key, kSections);
        }
        ctx_.error(ctx_.at(*e.key, v), {}, std::move(msg));
    }
}

void Loader::resolve_function(StageDraft& draft, const GlobalSpec& global) {
    const toml::node& node = *draft.function_node;
    const std::string* name = read_string(ctx_, node, "'function'", draft.id);
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
    for (const Entry& e : entries_in_file_order(table)) {
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
        if (const std::string* id = read_string(ctx_, *draft.id_node, "'id'")) {
            if (id->empty())
                ctx_.error(ctx_.at(*draft.id_node), {}, "stage id must not be empty");
            else if (has_control_character(*id))
                // It would break every message, --tap and --set line that names the stage.
                ctx_.error(ctx_.at(*draft.id_node), {},
                           "stage id \"" + escaped(*id) +
                               "\" holds a control character (a line break, a tab): write it "
                               "without");
            else
                draft.id = *id;
        }
    } else {
        ctx_.error(draft.where, {},
                   "the " + ordinal(draft.number) +
                       " [[stages]] entry has no 'id' (every stage needs a unique id)");
    }

    if (description_node) {
        if (const std::string* s = read_string(ctx_, *description_node, "'description'", draft.id))
            draft.description = *s;
    }
    if (config_node) {
        draft.config = config_node->as_table();
        if (!draft.config) {
            draft.config_ok = false;
            ctx_.error(ctx_.at(*config_node), draft.id,
                       "'config' must be a table (write the options under [stages.config]), "
                       "not " +
                           describe(*config_node));
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
                    read_string(ctx_, item, "each entry of 'inputs'", draft.id);
                if (input && has_control_character(*input))
                    ctx_.error(ctx_.at(item), draft.id,
                               "input \"" + escaped(*input) +
                                   "\" holds a control character (a line break, a tab), which "
                                   "no stage id has");
                if (!input || has_control_character(*input)) {
                    draft.inputs_ok = false;
                    continue;
                }
                draft.inputs.push_back({*input, &item});
            }
        } else {
            draft.inputs_ok = false;
            std::string msg = "'inputs' must be an array of stage ids, not " + describe(node);
            if (node.is_string())
                msg += " (write inputs = [" + quote(node.as_string()->get()) + "])";
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
        else if (!closest_match(key, stage_keys()) &&
                 std::find(global_keys().begin(), global_keys().end(), key) != global_keys().end())
            hint = " ([global] settings go in [global], before the first [[stages]])";
        report_unknown_key(ctx_, e, "[[stages]]", stage_keys(), draft.id, hint);
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
                             describe(*node));
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
                       "each stage must be a table ([[stages]]), not " + describe(item));
            continue;
        }
        read_stage(*draft.table, draft, global);
    }
}

void Loader::check_stage_options() {
    for (StageDraft& s : stages_) {
        if (!s.descriptor || !s.config_ok) continue;
        s.options_ok =
            validate_stage_options(ctx_, *s.descriptor, s.config, s.where, s.id, s.options);
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
                s.options.set(o.name, global_value(global, o.inherits), s.options.location(o.name),
                              false);
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

std::optional<PipelineSpec> Loader::load(std::string_view text) {
    std::optional<toml::table> parsed = parse_toml(text, ctx_);
    if (!parsed) return std::nullopt;
    toml::table& root = *parsed;

    PipelineSpec spec;
    spec.file = ctx_.file;
    spec.name = default_name_;
    apply_overrides(ctx_, root, options_.overrides);
    expand_variables(root, spec.global);
    check_top_level(root);
    if (const toml::node* n = root.get("pipeline")) read_pipeline_section(ctx_, *n, spec);
    if (const toml::node* n = root.get("global"))
        read_global_section(ctx_, *n, registry_, spec.global);
    if (options_.executor_override) spec.global.executor = *options_.executor_override;
    spec.global.shard = options_.shard;
    // dag waits for each stage's whole output, which an endless source never finishes:
    // streaming pipelines run with the channel executor (what validate and --dry-run show).
    if (spec.global.execution_mode == ExecutionMode::Streaming &&
        spec.global.executor == ExecutorKind::Dag)
        spec.global.executor = ExecutorKind::Channel;
    if (const toml::node* n = root.get("error_handling"))
        read_error_handling_section(ctx_, *n, spec.error_handling);

    read_stages(root.get("stages"), spec.global);
    for (StageDraft& s : stages_) {
        s.error_handling = spec.error_handling;
        if (s.buffer_node) {
            s.buffer.emplace();
            read_buffer_section(ctx_, *s.buffer_node, *s.buffer, s.id.empty() ? "?" : s.id);
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
            read_error_handling_section(ctx_, *s.error_handling_node, s.error_handling,
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
    check_output_paths(root, spec.error_handling);

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
    if (!check_sharding(ctx_, spec)) return std::nullopt;
    return spec;
}

} // namespace config

namespace {

namespace fs = std::filesystem;
using config::LoadContext;
using config::Loader;

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
            // `conveyor run - <&-` (a cron line without its heredoc): say what is missing.
            problem = errno == EBADF ? "standard input is closed (give the pipeline on it, "
                                       "e.g. `conveyor run - < p.toml`, or name its file)"
                                     : std::strerror(errno);
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
        // Located at the file, as the compilers and the other messages about it are:
        // "nope.toml: error: cannot read the pipeline file: No such file or directory".
        SourceLocation at;
        at.file = path == "-" ? "<stdin>" : path;
        result.diagnostics.error(at, {}, "cannot read the pipeline file: " + problem);
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
    config::parse_toml(text, ctx);
    return diags;
}

} // namespace conveyor
