#pragma once

// A file sink split over many files: one per distinct value of the `{{ field }}` placeholders
// in its path (`out/{{ country }}.csv`), and/or rolled to the next file once one holds
// max_records_per_file records or max_bytes_per_file bytes (`out/data-00001.csv`, ...). The
// format's own writer (csv.write, json.write) writes each file; this operator routes rows to
// them, keeping the records of each file in input order, and keeps at most max_open_files of
// them open (the least recently written is suspended: its descriptor closed and its buffers
// freed, its temporary file kept), so that 100k distinct values need no more descriptors or
// memory than a few hundred. Every file is committed with the run's other outputs: all of them
// or none.
//
// Checkpoints, for a split by size or record count (no placeholders, no append): the part being
// written with its writer's own checkpoint text (temporary file and length), and the processes
// whose temporary files hold the parts finished so far; `--resume` adopts them all and writes
// on. A split by value takes no checkpoints: its state would grow with the number of values.

#include "conveyor/core/result.hpp"
#include "conveyor/net/template.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace conveyor {

class BuildContext;

/// A file sink's splitting options (the initializers are the defaults).
struct SinkSplitting {
    std::optional<std::int64_t> max_records_per_file;
    std::optional<std::int64_t> max_bytes_per_file;
    std::int64_t max_open_files = 128;
};

/// Declarations of `max_records_per_file`, `max_bytes_per_file` and `max_open_files`.
OptionTable<SinkSplitting> sink_splitting_options();

/// How a sink's output is split; built when the pipeline is loaded.
struct SplitPlan {
    std::string path;                ///< as given
    std::optional<net::Template> by; ///< the path, when it has placeholders
    std::uint64_t max_records = 0;   ///< 0: no rolling by records
    std::uint64_t max_bytes = 0;     ///< 0: no rolling by size
    std::size_t max_open = 128;

    /// Nullopt (one plain file) when `path` has no placeholder and no limit is given; errors
    /// (a bad template, standard output, a placeholder outside the file's own name is fine but
    /// one making the path absolute is not) go to `ctx` under `path` or the option.
    static std::optional<SplitPlan> from(BuildContext& ctx, const std::string& path,
                                         const SinkSplitting& options);

    /// `path` with the part number inserted before the first extension:
    /// `out/data.csv.gz`, 3 -> `out/data-00003.csv.gz`.
    static std::string numbered(const std::string& path, std::uint64_t part);
};

/// Opens the format's writer for one file of a split sink: `ctx` is the stage's, with its own
/// metrics; the writer must not scan for stale temporary files (the split sink does, once
/// per directory).
using OpenFileWriter = std::function<Result<std::unique_ptr<Operator>>(const std::string& path,
                                                                       const OpenContext& ctx)>;

/// Resuming (ctx.resume), the files the checkpoint names are taken up again first: a text that
/// is not this output's, or a file that is gone, fails (saying `conveyor run --fresh` starts
/// over).
Result<std::unique_ptr<Operator>> make_split_sink(const SplitPlan& plan, const OpenContext& ctx,
                                                  OpenFileWriter open_file);

/// make_split_sink as a file sink stage's opening: rolled files take part in checkpoints; a
/// split by value does not (its state would grow with the number of values), nor appended
/// files (`append`: nothing to take up again).
Result<OpenedStage> open_split_stage(const SplitPlan& plan, bool append, const OpenContext& ctx,
                                     OpenFileWriter open_file);

/// The OpenFileWriter of a file sink stage `StageT` over `config` (path, split, split_member):
/// the same stage aimed at one file of the split.
template <class StageT, class Config>
OpenFileWriter split_file_writer(const Config& config) {
    return [config](const std::string& path,
                    const OpenContext& ctx) -> Result<std::unique_ptr<Operator>> {
        Config one = config;
        one.path = path;
        one.split.reset();
        one.split_member = true;
        auto opened = StageT(std::move(one)).open(ctx);
        if (!opened) return std::move(opened).error();
        return std::move(std::get<std::unique_ptr<Operator>>(opened->op));
    };
}

} // namespace conveyor
