#pragma once
// reshape.wide_to_long and reshape.long_to_wide (Miller's `reshape`): their options and the
// stages they build.

#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::plugins::reshape {

/// reshape.wide_to_long's options: which fields become records (`columns`, or every field but
/// `id_columns`), and the two fields that receive each one's name and value.
struct WideToLongOptions {
    std::vector<std::string> columns;
    std::vector<std::string> id_columns;
    std::string key_column = "key";
    std::string value_column = "value";
    bool skip_nulls = false;
};

/// reshape.long_to_wide's options: the field whose values name the new fields, and the field
/// holding their values.
struct LongToWideOptions {
    std::string key_column = "key";
    std::string value_column = "value";
};

std::unique_ptr<Stage> make_wide_to_long(WideToLongOptions options);
std::unique_ptr<Stage> make_long_to_wide(LongToWideOptions options);

} // namespace conveyor::plugins::reshape
