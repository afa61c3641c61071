#pragma once

// `--tap STAGE[:N]` and `--keep-intermediate DIR`: look at the records leaving a stage while the
// run goes on, without changing what flows downstream. The executor hands every batch of an
// observed stage to Taps::on_batch (RunOptions::observer) before moving it on; Taps serialises
// the records right there, on the stage's thread: memory stays bounded (one batch of text), and
// a slow disk slows that stage as a full channel would.

#include "conveyor/core/result.hpp"
#include "conveyor/obs/batch_observer.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace conveyor {
class RunContext;
}

namespace conveyor::obs {

struct TapRequest {
    std::string stage;
    std::uint64_t limit = 10; ///< records printed, then the tap goes quiet
};

/// Parses "STAGE" or "STAGE:N" (N >= 1; default 10). The stage is checked later, against the
/// pipeline. Fails with Usage.
Result<TapRequest> parse_tap(std::string_view text);

/// A file name for a stage's intermediate output: the id with every byte outside
/// [A-Za-z0-9._-] replaced by '_' (and a leading '.' too), plus ".jsonl".
std::string intermediate_file_name(std::string_view stage_id);

class Taps final : public BatchObserver {
public:
    /// `taps` print the first N records of their stage to stderr, one JSON line each:
    ///   {"tap":"STAGE","n":1,"record":{...}}
    /// `keep_dir` (when set) receives every listed stage's output as DIR/<stage>.jsonl, written
    /// to temporary files renamed into place by finish(). `stages` lists the stages that may be
    /// kept (the CLI passes the ones that emit records: every stage but the sinks).
    static Result<std::unique_ptr<Taps>> create(std::vector<TapRequest> taps,
                                                std::optional<std::string> keep_dir,
                                                const std::vector<std::string>& stages,
                                                RunContext* run);
    ~Taps() override;

    [[nodiscard]] bool observes(std::string_view stage_id) const override;
    void on_batch(std::string_view stage_id, const Batch& batch) override;

    /// Makes the intermediate files visible, whatever the run's outcome: what a failed run's
    /// stages produced before the failure is what one wants to look at. Returns the first write
    /// error (the file concerned is then left out and the error names it).
    Status finish();

    struct StageTap;

private:
    Taps() = default;
    std::unordered_map<std::string, std::unique_ptr<StageTap>> stages_;
};

} // namespace conveyor::obs
