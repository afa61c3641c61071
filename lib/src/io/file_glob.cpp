#include "conveyor/io/file_glob.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <glob.h>
#include <numeric>
#include <sys/stat.h>

namespace conveyor {

namespace {

/// Owns what glob(3) allocated.
struct GlobResult {
    glob_t g{};
    GlobResult() = default;
    GlobResult(const GlobResult&) = delete;
    GlobResult& operator=(const GlobResult&) = delete;
    ~GlobResult() { globfree(&g); }
};

/// The first error glob(3) met reading a directory (on_glob_error stops it there).
thread_local std::string glob_error;

int on_glob_error(const char* path, int error) {
    // A directory that is not there matches nothing; one that cannot be read is an error.
    if (error == ENOENT || error == ENOTDIR) return 0;
    if (glob_error.empty()) glob_error = fmt::format("{}: {}", path, std::strerror(error));
    return 1; // stop
}

} // namespace

bool is_glob(std::string_view path) noexcept {
    return path.find_first_of("*?[") != std::string_view::npos;
}

Result<std::vector<MatchedFile>> expand_glob(const std::string& pattern) {
    std::vector<MatchedFile> out;
    struct stat st {};
    if (::stat(pattern.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        out.push_back({pattern, static_cast<std::uint64_t>(st.st_size)});
        return out;
    }
    GlobResult r;
    glob_error.clear();
    // Sorted below byte by byte: glob's own order follows the locale's collation.
    const int rc = ::glob(pattern.c_str(), GLOB_NOSORT, on_glob_error, &r.g);
    if (rc == GLOB_NOSPACE)
        return fail(ErrorKind::Runtime, "out of memory expanding the glob", pattern);
    if (rc == GLOB_ABORTED)
        return fail(ErrorKind::NoInput,
                    fmt::format("cannot read a directory the pattern goes through ({})",
                                glob_error.empty() ? "read error" : glob_error),
                    pattern);
    for (std::size_t i = 0; rc == 0 && i < r.g.gl_pathc; ++i) {
        const char* path = r.g.gl_pathv[i];
        if (::stat(path, &st) != 0 || S_ISDIR(st.st_mode)) continue;
        out.push_back({path, static_cast<std::uint64_t>(st.st_size)});
    }
    if (out.empty())
        return fail(ErrorKind::NoInput,
                    "no file matches this pattern (a glob: * ? [...]; check the directory and "
                    "the spelling)",
                    pattern);
    std::sort(out.begin(), out.end(),
              [](const MatchedFile& a, const MatchedFile& b) { return a.path < b.path; });
    return out;
}

std::vector<std::size_t> files_of_shard(const std::vector<MatchedFile>& files, ShardId shard) {
    std::vector<std::size_t> by_size(files.size());
    std::iota(by_size.begin(), by_size.end(), std::size_t{0});
    std::sort(by_size.begin(), by_size.end(), [&files](std::size_t a, std::size_t b) {
        if (files[a].size != files[b].size) return files[a].size > files[b].size;
        return files[a].path < files[b].path;
    });
    std::vector<std::uint64_t> load(std::max<std::uint32_t>(shard.count, 1), 0);
    std::vector<std::size_t> mine;
    for (const std::size_t f : by_size) {
        // The least loaded shard; min_element takes the first of equal ones.
        const auto least = std::min_element(load.begin(), load.end());
        *least += files[f].size;
        if (static_cast<std::uint32_t>(least - load.begin()) == shard.index) mine.push_back(f);
    }
    std::sort(mine.begin(), mine.end());
    return mine;
}

} // namespace conveyor
