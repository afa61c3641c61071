#pragma once

// The options every database sink shares (postgres.write, sqlite.write), declared once: which
// table, how records land in it (append, upsert by key, replace), whether conveyor creates it,
// which fields go to which columns, and when the rows commit.

#include "conveyor/option/option_table.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

class BuildContext;

enum class TableWriteMode : std::uint8_t { Append, Upsert, Replace };
/// When the run's rows become visible: at each checkpoint of the run (resumable), or only at
/// its end (all or nothing; the run then takes no checkpoints).
enum class TableCommit : std::uint8_t { Checkpoint, End };

/// Adds `table`, `mode`, `key`, `create_table`, `columns`, `commit`, `commit_interval` and
/// `progress_table` to `t`, filling the members of those names of the sink's options struct
/// `C` (whose initializers are the defaults). `table_names` says how this database names a
/// table, `column_types` how create_table types the columns.
template <class C>
void add_table_sink_options(OptionTable<C>& t, std::string_view table_names,
                            std::string_view column_types) {
    t.add("table", &C::table,
          {.description = "The table to write (" + std::string(table_names) + ").",
           .required = true,
           .min_length = 1})
        .add_choice("mode", &C::mode,
                    {{"append", TableWriteMode::Append},
                     {"upsert", TableWriteMode::Upsert},
                     {"replace", TableWriteMode::Replace}},
                    {.description = "append: add the rows; upsert: insert or update by 'key' "
                                    "(the last record of a key wins); replace: empty the table "
                                    "in the run's first transaction, then add."})
        .add("key", &C::key,
             {.description = "The columns of the unique key for mode = \"upsert\" (a primary "
                             "key or unique index on exactly them).",
              .example = "[\"id\"]"})
        .add("create_table", &C::create_table,
             {.description = "Create the table when it does not exist, from the first records (" +
                             std::string(column_types) + "; primary key 'key')."})
        .add("columns", &C::columns,
             {.description = "Table column = record field: write only these columns, from these "
                             "fields (default: every field into the column of its name).",
              .example = "{ customer_id = \"id\", full_name = \"name\" }"})
        .add_choice("commit", &C::commit,
                    {{"checkpoint", TableCommit::Checkpoint}, {"end", TableCommit::End}},
                    {.description = "checkpoint: commit at each checkpoint of the run ([global] "
                                    "checkpoint_interval) and at its end, with a progress row, "
                                    "so that --resume continues exactly; end: one transaction "
                                    "for the whole run (all or nothing; the run takes no "
                                    "checkpoints)."})
        .add("commit_interval", &C::commit_interval,
             {.description = "Records between commits (commit = \"checkpoint\"): the run takes "
                             "its checkpoints at least this far apart, the larger of this and "
                             "[global] checkpoint_interval. A commit costs the database a round "
                             "trip or two; a kill repeats at most this many records' work.",
              .min = 1})
        .add("progress_table", &C::progress_table,
             {.description = "Where the sink's progress row lives (created when missing).",
              .min_length = 1});
}

/// What the types cannot say about those options, reported on `ctx`: upsert needs a key, a
/// key is for upsert (or the primary key of a created table), key columns must be written.
void check_table_sink(BuildContext& ctx, TableWriteMode mode,
                      const std::optional<std::vector<std::string>>& key, bool create_table,
                      const StringPairs& columns);

} // namespace conveyor
