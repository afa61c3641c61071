#include "conveyor/registry/table_sink_options.hpp"

#include "conveyor/stage/build_context.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor {

void check_table_sink(BuildContext& ctx, TableWriteMode mode,
                      const std::optional<std::vector<std::string>>& key, bool create_table,
                      const StringPairs& columns) {
    if (mode == TableWriteMode::Upsert && (!key || key->empty()))
        ctx.error("key", "mode = \"upsert\" needs 'key', the columns of a unique key");
    if (key && mode != TableWriteMode::Upsert && !create_table)
        ctx.error("key", "'key' is for mode = \"upsert\" (or a primary key with create_table)");
    if (key && !columns.empty())
        for (const std::string& k : *key)
            if (std::none_of(columns.begin(), columns.end(),
                             [&](const auto& c) { return c.first == k; }))
                ctx.error("key", fmt::format("key column '{}' is not among 'columns'", k));
}

} // namespace conveyor
