#pragma once

// Where a gather.apply's branches come from: the fan-out stage its inputs descend from through
// stages that keep each record's lineage (FunctionDescriptor::keeps_lineage).

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace conveyor {
struct FunctionDescriptor;
}

namespace conveyor::config {

/// One stage of the pipeline as the fan-in check sees it.
struct FanInNode {
    std::string id;
    const FunctionDescriptor* fn = nullptr; ///< null when the function is unknown
    std::vector<std::size_t> producers;     ///< per input, the producing stage's index
    std::vector<std::string> outputs;       ///< per input, the named output read ("" = main)
};

/// The fan-out of gather stage `gather`'s branches, or why there is none.
struct FanOut {
    std::optional<std::size_t> stage;
    std::string error; ///< when `stage` is empty: the message, naming the stages
    /// Per input of the gather: the stages between the fan-out and the gather (the branch),
    /// nearest the gather first.
    std::vector<std::vector<std::size_t>> branches;
};

FanOut find_fan_out(std::span<const FanInNode> nodes, std::size_t gather);

} // namespace conveyor::config
