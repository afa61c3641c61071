#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/schema.hpp"

#include <span>
#include <string>
#include <vector>

namespace conveyor {

/// How a stage that sets fields (map.apply, running.apply) reshapes records of one schema: the
/// output schema, where each output column comes from (an input column, or Batch::npos for a
/// new one), and where each set field goes. A field already there keeps its position; new
/// ones are appended in order.
struct ColumnLayout {
    SchemaRef schema; ///< null when the input schema already has every field
    std::vector<std::size_t> source;
    std::vector<std::size_t> target; ///< per set field
    bool same_schema = false;

    /// Reshapes `batch` (of the schema the layout was made for) to the output schema.
    void apply(Batch& batch) const {
        if (!same_schema) batch.remap_columns(schema, source);
    }
};

ColumnLayout layout_setting(const Schema& in, std::span<const std::string> fields);

} // namespace conveyor
