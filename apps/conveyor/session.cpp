#include "session.hpp"

#include "commands.hpp"
#include "conveyor/obs/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <utility>

namespace conveyor::cli {

const Registry& builtin_registry() {
    static const Registry registry = [] {
        Registry r;
        register_builtin_plugins(r);
        return r;
    }();
    return registry;
}

void print_err(const std::string& s) {
    std::fputs(s.c_str(), stderr);
}

spdlog::level::level_enum pick_level(const std::optional<std::string>& flag, bool quiet,
                                     const std::string& fallback) {
    if (flag) return parse_log_level(*flag).value_or(spdlog::level::info);
    if (const char* env = std::getenv("CONVEYOR_LOG"); env && *env) {
        if (auto l = parse_log_level(env)) return *l;
        // Once a process (run picks its level again once the pipeline's log_level is known),
        // and on stderr: the logger is not set up yet, and its default writes to stdout.
        static bool warned = false;
        if (!std::exchange(warned, true))
            print_err(fmt::format("conveyor: warning: CONVEYOR_LOG='{}' is not a log level (one "
                                  "of {}); ignoring it\n",
                                  env, fmt::join(log_level_names(), ", ")));
    }
    if (quiet) return spdlog::level::warn;
    return parse_log_level(fallback).value_or(spdlog::level::info);
}

Loaded load(const std::string& file, const LoadOptions& options) {
    LoadResult r = load_pipeline_file(file, builtin_registry(), options);
    r.diagnostics.sort();
    // The first start printed the warnings already (huge_pages.cpp).
    if (!r.pipeline || !restarted_for_huge_pages()) print_err(r.diagnostics.to_string());
    Loaded out;
    if (!r.pipeline) {
        std::size_t errors = 0;
        for (const Diagnostic& d : r.diagnostics.all())
            errors += d.severity == Diagnostic::Severity::Error;
        if (errors > 1) print_err(fmt::format("conveyor: {} problems in {}\n", errors, file));
        out.exit_code = exit_code(r.failure);
        return out;
    }
    out.pipeline = std::move(r.pipeline);
    return out;
}

std::optional<ExecutorKind> executor_kind(const std::optional<std::string>& name) {
    if (!name) return std::nullopt;
    return parse_executor(*name);
}

void explain_input_paths(const PipelineSpec& p, const std::string& file, std::string_view label) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(file).parent_path();
    if (file == "-") return;
    std::error_code ec;
    for (const StageSpec& st : p.stages) {
        if (!st.descriptor || st.descriptor->role != StageRole::Source) continue;
        const OptionValue* path = st.config.find("path");
        if (!path || !path->is_string()) continue;
        const fs::path input(path->as_string());
        if (input != "-" && fs::is_directory(input, ec)) {
            print_err(fmt::format("{}: {}: stage '{}': {} is a directory, not a file: the "
                                  "run will stop there (exit 66); a glob such as {}/*.csv reads "
                                  "the files in it\n",
                                  st.config.location("path").to_string(), label, st.id,
                                  input.string(), input.string()));
            continue;
        }
        if (dir.empty() || input == "-" || input.is_absolute() || fs::exists(input, ec) ||
            !fs::exists(dir / input, ec))
            continue;
        print_err(fmt::format("{}: {}: stage '{}': {} is not in the current directory ({}), "
                              "but {} is: relative paths are relative to the current directory, "
                              "not to the pipeline file's (run from {}, or write the path from "
                              "here)\n",
                              st.config.location("path").to_string(), label, st.id, input.string(),
                              fs::current_path(ec).string(), (dir / input).string(), dir.string()));
    }
}

} // namespace conveyor::cli
