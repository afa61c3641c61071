#pragma once

// The loader's working state, shared by loader.cpp (reading the TOML into stage drafts,
// options and stages) and loader_graph.cpp (the checks of the graph they form: inputs,
// cycles, gathers, streaming, named outputs). Private to lib/src/config.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"
#include "sections.hpp"
#include "toml_util.hpp"

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::config {

inline std::string plural(std::size_t n, std::string_view word) {
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
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
    /// No two file sinks, nor a sink and the dead-letter queue, write one file
    /// (loader_outputs.cpp).
    void check_output_paths(const toml::table& root, const ErrorHandlingSpec& run_wide);

    LoadContext ctx_;
    std::string default_name_;
    const Registry& registry_;
    const LoadOptions& options_;
    std::vector<StageDraft> stages_;
    std::map<std::string, std::size_t, std::less<>> index_;  ///< id -> first stage with it
    std::vector<std::pair<std::size_t, std::size_t>> edges_; ///< producer -> consumer
};

} // namespace conveyor::config
