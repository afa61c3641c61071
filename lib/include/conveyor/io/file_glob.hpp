#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/core/run_settings.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

/// Whether a source's `path` is a glob: it holds `*`, `?` or `[` (in any component). A path
/// without them names one file, as always.
bool is_glob(std::string_view path) noexcept;

/// One file a glob matched.
struct MatchedFile {
    std::string path;
    std::uint64_t size = 0; ///< bytes on disk (compressed or not), for partition = "files"
};

/// The files `pattern` matches (POSIX glob(3): `*`, `?`, `[...]` in any component; a leading
/// dot is matched only by a dot, as in the shell), directories left out, sorted by path byte
/// by byte (not by locale), so every process reading the same directory gets the same list.
/// A pattern that is also the name of an existing file (`data[1].csv`) names that file only.
/// NoInput naming the pattern when nothing matches, or a directory cannot be read.
Result<std::vector<MatchedFile>> expand_glob(const std::string& pattern);

/// The files shard `shard` reads under partition = "files", as indexes into `files` in
/// ascending order (path order when `files` is sorted). Every shard computes the same
/// assignment from the same list: files by size descending (equal sizes by path), each to the
/// shard with the fewest bytes so far (equal loads: the lowest index). Shards may get none.
std::vector<std::size_t> files_of_shard(const std::vector<MatchedFile>& files, ShardId shard);

} // namespace conveyor
