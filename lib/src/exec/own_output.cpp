#include "conveyor/exec/own_output.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/io/file_glob.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fnmatch.h>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace conveyor {

namespace {

namespace fs = std::filesystem;

using FileId = std::pair<dev_t, ino_t>;

/// The regular file `path` names now (links followed), if any.
std::optional<FileId> regular_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return FileId{st.st_dev, st.st_ino};
}

/// `path` made absolute and normal, for comparing names (no link is followed).
std::string absolute_name(const std::string& path) {
    std::error_code ec;
    const fs::path p = fs::absolute(path, ec);
    return (ec ? fs::path(path) : p).lexically_normal().string();
}

/// What a source reads: its `path`, and the regular files it names now.
struct Input {
    const StageSpec* stage = nullptr;
    std::string path;
    bool glob = false;
    std::vector<FileId> files;
};

/// What a file sink (or the dead-letter queue: `stage` null) writes.
struct Output {
    const StageSpec* stage = nullptr;
    std::string path;
    bool append = false;
};

const std::string* string_option(const StageSpec& st, std::string_view key) {
    const OptionValue* v = st.config.find(key);
    return v && v->is_string() ? &v->as_string() : nullptr;
}

std::vector<Input> inputs_of(const PipelineSpec& p) {
    std::vector<Input> out;
    for (const StageSpec& st : p.stages) {
        const std::string* path = string_option(st, "path");
        if (!st.descriptor || st.descriptor->role != StageRole::Source || !path || *path == "-")
            continue;
        Input in{&st, *path, is_glob(*path), {}};
        if (in.glob) {
            // A pattern matching nothing is the source's own error, reported when it opens.
            if (Result<std::vector<MatchedFile>> files = expand_glob(*path); files)
                for (const MatchedFile& f : *files)
                    if (auto id = regular_file(f.path)) in.files.push_back(*id);
        } else if (auto id = regular_file(*path)) {
            in.files.push_back(*id);
        }
        out.push_back(std::move(in));
    }
    return out;
}

std::vector<Output> outputs_of(const PipelineSpec& p) {
    std::vector<Output> out;
    for (const StageSpec& st : p.stages) {
        const std::string* path = string_option(st, "path");
        // A split sink's files are named by its records; "-" is standard output.
        if (!st.descriptor || !st.descriptor->writes_files || !path || *path == "-" ||
            path->find("{{") != std::string::npos)
            continue;
        const OptionValue* append = st.config.find("append");
        out.push_back({&st, *path, append && append->is_bool() && append->as_bool()});
    }
    if (p.error_handling.dead_letter_enabled)
        out.push_back({nullptr, p.error_handling.dead_letter_path, false});
    return out;
}

/// Whether `out` is one of the files `in` reads, or would be once it exists.
bool reads(const Input& in, const Output& out) {
    if (auto id = regular_file(out.path))
        if (std::find(in.files.begin(), in.files.end(), *id) != in.files.end()) return true;
    if (!in.glob) return absolute_name(in.path) == absolute_name(out.path);
    return ::fnmatch(absolute_name(in.path).c_str(), absolute_name(out.path).c_str(),
                     FNM_PATHNAME | FNM_PERIOD) == 0;
}

Error reads_own_output(const Input& in, const Output& out) {
    std::string what;
    if (in.glob)
        what = fmt::format("'{}' is matched by the pattern '{}' that stage '{}' reads: every run "
                           "after the first would read the last one's output as input; write it "
                           "outside the pattern or narrow the pattern",
                           out.path, in.path, in.stage->id);
    else
        what = fmt::format("'{}' is also read by stage '{}': with append = true the records "
                           "written would be read back (the file grows while it is read); write "
                           "the output to another file",
                           out.path, in.stage->id);
    if (!out.stage)
        return Error(ErrorKind::Config, "[error_handling] dead_letter_queue path " + what);
    return Error(ErrorKind::Config, "path: " + what, {}, out.stage->id);
}

} // namespace

Status check_outputs_are_not_inputs(const PipelineSpec& pipeline) {
    const std::vector<Input> inputs = inputs_of(pipeline);
    if (inputs.empty()) return {};
    for (const Output& out : outputs_of(pipeline))
        for (const Input& in : inputs)
            if ((out.append || in.glob) && reads(in, out)) return reads_own_output(in, out);
    return {};
}

} // namespace conveyor
