// The loader's check that no two file sinks (FunctionDescriptor::writes_files), nor a sink and
// the dead-letter queue, write one file: each writes a temporary file renamed into place when
// the run commits, so one would replace the other's output, silently, whichever came last.

#include "loader_state.hpp"

#include <filesystem>
#include <sys/stat.h>

namespace conveyor::config {

namespace {

namespace fs = std::filesystem;

/// The file `path` names, for comparing (relative paths are relative to the current directory);
/// empty for what two sinks may share: standard output, a device or a FIFO (/dev/null).
/// Symbolic links are followed (a sink writes through a link into its target), and a file that
/// exists is known by its inode, so a link or a hard link to another sink's file is that file.
std::string written_file(const std::string& path) {
    if (path.empty() || path == "-") return {};
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return {};
        if (S_ISREG(st.st_mode))
            return "inode " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    if (ec) p = path;
    fs::path resolved = fs::weakly_canonical(p, ec);
    if (ec) resolved = p;
    return resolved.lexically_normal().string();
}

} // namespace

void Loader::check_output_paths(const toml::table& root, const ErrorHandlingSpec& run_wide) {
    std::map<std::string, std::size_t> writer; // file -> first stage writing it
    std::string dead_letters;
    if (run_wide.dead_letter_enabled) dead_letters = written_file(run_wide.dead_letter_path);
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const StageDraft& s = stages_[i];
        if (!s.descriptor || !s.descriptor->writes_files || !s.options_ok) continue;
        const OptionValue* path = s.options.find("path");
        if (!path || !path->is_string()) continue;
        const std::string file = written_file(path->as_string());
        if (file.empty()) continue;
        const SourceLocation where = s.options.location("path");
        if (file == dead_letters) {
            const toml::node* dlq = root.at_path("error_handling.dead_letter_queue.path").node();
            ctx_.error(where, s.id,
                       "path '" + path->as_string() + "' is the dead-letter queue's file" +
                           (dlq ? " (" + ctx_.at(*dlq).to_string() + ")" : std::string()) +
                           ": one would replace the other; give each its own file");
        }
        auto [first, inserted] = writer.emplace(file, i);
        if (inserted) continue;
        const StageDraft& other = stages_[first->second];
        ctx_.error(where, s.id,
                   "path '" + path->as_string() + "' is also written by stage '" + other.id +
                       "' (" + other.options.location("path").to_string() +
                       "): one output would replace the other; give each sink its own file");
    }
}

} // namespace conveyor::config
