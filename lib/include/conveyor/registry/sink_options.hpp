#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/io/compression.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/option/option_table.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

class BuildContext;

/// How a file sink writes: its `append`, `flush_interval_ms`, `fsync_interval_ms`,
/// `compression` and `compression_level` options (the initializers are the options' defaults).
struct SinkWriting {
    bool append = false;
    std::int64_t flush_interval_ms = 0;
    std::int64_t fsync_interval_ms = 1000;
    std::optional<Compression> compression;        ///< nullopt: as the path's extension says
    std::optional<std::int64_t> compression_level; ///< nullopt: the format's usual level
};

/// The declarations of SinkWriting's options, shared by every file sink, in this order:
/// `append` (file sinks add to the file in place, for streaming runs, instead of replacing it
/// when the run succeeds; `append_detail` says what is particular to the sink, e.g. its
/// header), `fsync_interval_ms` (how often appended data is made durable),
/// `flush_interval_ms` (how often a sink writing as records arrive writes its output out),
/// `compression` and `compression_level`.
/// A sink embeds them (OptionTable::embed); one that only streams picks flush_interval_ms.
OptionTable<SinkWriting> sink_writing_options(std::string_view append_detail);

/// Checks a sink's writing options for a sink writing `path`: append to standard output is an
/// error, an interval that cannot matter is a warning (fsync without append; flush without
/// append outside streaming mode), so are a compression the path's extension contradicts and
/// a level without compression; a level out of the format's range is an error.
void check_sink_writing(BuildContext& ctx, const SinkWriting& writing, const std::string& path);

/// The compression of a sink writing `path`: its `compression` option, else what the path's
/// extension names (`.gz`, `.zst`; none for standard output).
Compression sink_compression(const SinkWriting& writing, const std::string& path);

class SinkResume;

/// A file sink's output: taken up again from `resume` when given, else opened for appending or
/// created as `writing` says, and compressed as it says. Appending compressed records to a file
/// that holds something else (plain text, the other format) fails (CantCreate): the result
/// would be unreadable.
/// `remove_stale` as OutputFile::create's (false for the files of a split sink).
Result<OutputFile> open_sink_output(const std::string& path, const SinkWriting& writing,
                                    const SinkResume* resume, RunContext* run,
                                    bool remove_stale = true);

/// A file sink's checkpoint text (Operator::checkpoint, OpenContext::resume): one line of
/// compact JSON naming the sink, its target, where the output stands (OutputFile::Position)
/// and, after those, the sink's own state as `"name":value` members (`state`, without braces,
/// may be empty):
/// `{"sink":"csv.write","target":"out.csv","append":false,
///   "file":"./.out.csv.conveyor-4711-k3j5x0qa.tmp","length":812,"header_written":true,...}`
std::string sink_checkpoint_text(std::string_view sink, const std::string& target, bool append,
                                 const OutputFile::Position& at, std::string_view state);

/// A file sink's checkpoint text read back on `--resume`. Every failure is ErrorKind::Runtime
/// naming the target and saying that `conveyor run --fresh` starts over.
class SinkResume {
public:
    /// Fails when `text` is not JSON of that shape, or was written by another sink, for another
    /// target or with another `append`.
    static Result<SinkResume> parse(std::string_view sink, std::string_view text,
                                    const std::string& target, bool append);

    /// The output as it stood at the checkpoint, to write on (OutputFile::adopt).
    Result<OutputFile> adopt(RunContext* run) const;

    /// The sink's own state members; missing or of another type is an error.
    [[nodiscard]] Result<bool> get_bool(std::string_view name) const;
    [[nodiscard]] Result<std::string> get_string(std::string_view name) const;
    /// A count: an integer, not negative.
    [[nodiscard]] Result<std::uint64_t> get_count(std::string_view name) const;
    /// A list of strings, or nullopt for `null`.
    [[nodiscard]] Result<std::optional<std::vector<std::string>>>
    get_string_list(std::string_view name) const;

    /// A failure about this checkpoint: `what`, then how to start over.
    [[nodiscard]] Error error(std::string_view what) const;

    [[nodiscard]] const OutputFile::Position& position() const noexcept { return at_; }

private:
    Result<Value> member(std::string_view name, Kind kind) const;

    std::string target_;
    bool append_ = false;
    OutputFile::Position at_;
    std::shared_ptr<Arena> arena_; ///< owns what root_ points into
    Value root_;
};

} // namespace conveyor
