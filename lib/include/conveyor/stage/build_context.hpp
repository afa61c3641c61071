#pragma once

#include "conveyor/core/diagnostic.hpp"
#include "conveyor/core/run_settings.hpp"
#include "conveyor/option/options.hpp"

#include <span>
#include <string>
#include <string_view>

namespace conveyor {

/// What a function's factory sees: the validated options and a place to report problems
/// that types alone cannot catch (e.g. `operator = "in"` needs a list value).
class BuildContext {
public:
    BuildContext(std::string_view stage_id, const Options& options, const GlobalSpec& global,
                 Diagnostics& diags, std::span<const std::string> inputs = {})
        : stage_id_(stage_id), options_(options), global_(global), diags_(diags), inputs_(inputs) {}

    [[nodiscard]] std::string_view stage_id() const noexcept { return stage_id_; }
    /// The stage's `inputs` as the file names them ("<stage>" or "<stage>.<output>").
    [[nodiscard]] std::span<const std::string> inputs() const noexcept { return inputs_; }
    [[nodiscard]] const Options& options() const noexcept { return options_; }
    [[nodiscard]] const GlobalSpec& global() const noexcept { return global_; }
    /// Reports a problem with option `key`, located where the key was written.
    void error(std::string_view key, std::string message);
    void warning(std::string_view key, std::string message);
    [[nodiscard]] bool failed() const noexcept { return failed_; }

private:
    std::string_view stage_id_;
    const Options& options_;
    const GlobalSpec& global_;
    Diagnostics& diags_;
    std::span<const std::string> inputs_;
    bool failed_ = false;
};

} // namespace conveyor
