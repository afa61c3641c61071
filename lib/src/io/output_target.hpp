#pragma once

// What OutputFile (output_file.cpp) finds out about a target before it writes: what the path
// is (links followed), the directory it goes into, and the temporary files a killed run left
// beside it. Private to lib/src/io.

#include "conveyor/core/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>

namespace conveyor {
class TempFiles;  // core/run_context.hpp
class RunContext; // core/run_context.hpp
} // namespace conveyor

namespace conveyor::output_target {

/// A CantCreate error for `path`: `what` and errno's text (with a hint for too many open
/// files).
Failure cant_create(const std::string& path, const std::string& what, int err);

/// Eight random letters and digits, for temporary file names.
std::string random_suffix();

/// `.<base>.conveyor-`: how the names of `base`'s temporary files start.
std::string temp_prefix(const std::string& base);

/// Temporary files of this target left by a run that was killed (kill -9 gives no chance to
/// clean up): `.<name>.conveyor-<pid>-<random>.tmp` whose process no longer exists. `keep`
/// (a file name in `dir`) is spared: a resumed run writes on in the killed run's file; so are
/// the file names in `keep_names` (unique: each holds a pid and a random part). An empty
/// `base`: the temporary files of every target.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& base,
                              const std::string& keep = {},
                              const std::unordered_set<std::string>* keep_names = nullptr);

/// `path` with symbolic links in its last component followed to the file they finally name,
/// which may not exist yet (a dangling link names the file to create).
Result<std::string> follow_links(const std::string& path);

/// The descriptor of this process that `path` names through /proc's links to open descriptors
/// (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`, also reached through links of
/// one's own), or nullopt. Such a path is the descriptor the caller handed over (`>> log`), not
/// the file behind it: opened by name that file would be written from its start, and replaced
/// by a rename it would lose what the caller wrote there before and after the run.
std::optional<int> descriptor_named(const std::string& path);

/// Opens the FIFO `path` for writing: waits, as open(2) does, until a reader opens it, but
/// stops waiting when `run` (if not null) is stopped or cancelled (a signal), which fails with
/// Cancelled. The descriptor returned blocks on writes, as open(2)'s does.
Result<int> open_fifo_writer(const std::string& path, const RunContext* run);

/// What an output path (links followed) holds before it is written.
enum class Existing : std::uint8_t {
    Nothing, ///< to be created
    Regular,
    Special, ///< a character device or a FIFO: written directly
};

/// What `path` is, links followed; anything but a regular file, a character device or a FIFO
/// is refused.
Result<Existing> existing_kind(const std::string& path);

/// The directory an output file goes into, created if missing; fails when `path` names a
/// directory (ends with a separator). The directories it creates are added to `created`
/// (when not null): a run that fails removes them again.
Result<std::filesystem::path> prepare_directory(const std::string& path, TempFiles* created);

} // namespace conveyor::output_target
