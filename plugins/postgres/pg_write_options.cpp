#include "pg_write.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor::plugins::postgres {

namespace {

const OptionTable<PgWriteOptions>& pg_write_options() {
    static const auto table =
        OptionTable<PgWriteOptions>()
            .add("dsn", &PgWriteOptions::dsn,
                 {.description = "libpq connection string or URI, usually \"${DATABASE_URL}\" "
                                 "(messages name its host and database, never its password).",
                  .required = true,
                  .min_length = 1,
                  .example = "\"${DATABASE_URL}\""})
            .add("table", &PgWriteOptions::table,
                 {.description = "The table to write (schema.table; names as written, "
                                 "case-sensitive).",
                  .required = true,
                  .min_length = 1})
            .add_choice("mode", &PgWriteOptions::mode,
                        {{"append", WriteMode::Append},
                         {"upsert", WriteMode::Upsert},
                         {"replace", WriteMode::Replace}},
                        {.description = "append: add the rows; upsert: insert or update by "
                                        "'key' (the last record of a key wins); replace: empty "
                                        "the table in the run's first transaction, then add."})
            .add("key", &PgWriteOptions::key,
                 {.description = "The columns of the unique key for mode = \"upsert\" (a primary "
                                 "key or unique index on exactly them).",
                  .example = "[\"id\"]"})
            .add("create_table", &PgWriteOptions::create_table,
                 {.description = "Create the table when it does not exist, from the first "
                                 "records (integer bigint, number double precision, boolean, "
                                 "text, lists and objects jsonb; primary key 'key')."})
            .add("columns", &PgWriteOptions::columns,
                 {.description = "Table column = record field: write only these columns, from "
                                 "these fields (default: every field into the column of its "
                                 "name).",
                  .example = "{ customer_id = \"id\", full_name = \"name\" }"})
            .add_choice("commit", &PgWriteOptions::commit,
                        {{"checkpoint", CommitAt::Checkpoint}, {"end", CommitAt::End}},
                        {.description = "checkpoint: commit at each checkpoint of the run "
                                        "([global] checkpoint_interval) and at its end, with a "
                                        "progress row, so that --resume continues exactly; end: "
                                        "one transaction for the whole run (all or nothing; the "
                                        "run takes no checkpoints)."})
            .add("commit_interval", &PgWriteOptions::commit_interval,
                 {.description = "Records between commits (commit = \"checkpoint\"): the run "
                                 "takes its checkpoints at least this far apart, the larger of "
                                 "this and [global] checkpoint_interval. A commit costs the "
                                 "database a round trip or two; a kill repeats at most this many "
                                 "records' work.",
                  .min = 1})
            .add("progress_table", &PgWriteOptions::progress_table,
                 {.description = "Where the sink's progress row lives (created when missing).",
                  .min_length = 1});
    return table;
}

std::unique_ptr<Stage> build_pg_write(BuildContext& ctx, const PgWriteOptions& o) {
    PgWriteConfig config;
    config.dsn = o.dsn;
    config.table = o.table;
    config.mode = o.mode;
    if (o.key) config.key = *o.key;
    if (config.mode == WriteMode::Upsert && config.key.empty())
        ctx.error("key", "mode = \"upsert\" needs 'key', the columns of a unique key");
    if (config.mode != WriteMode::Upsert && o.key && !o.create_table)
        ctx.error("key", "'key' is for mode = \"upsert\" (or a primary key with create_table)");
    config.create_table = o.create_table;
    config.columns = o.columns;
    for (const std::string& k : config.key) {
        if (!config.columns.empty() && std::none_of(config.columns.begin(), config.columns.end(),
                                                    [&](const auto& c) { return c.first == k; }))
            ctx.error("key", fmt::format("key column '{}' is not among 'columns'", k));
    }
    config.commit = o.commit;
    config.commit_interval = o.commit_interval;
    config.progress_table = o.progress_table;
    if (ctx.failed()) return nullptr;
    return make_pg_write_stage(std::move(config));
}

} // namespace

FunctionDescriptor pg_write_descriptor() {
    FunctionDescriptor fn;
    fn.name = "postgres.write";
    fn.role = StageRole::Sink;
    fn.min_inputs = 1;
    fn.max_inputs = kUnboundedInputs;
    fn.summary = "Load records into a PostgreSQL table (append, upsert, replace)";
    fn.description =
        "Loads with COPY FROM STDIN (upsert: COPY into a temporary staging table, then INSERT "
        "... ON CONFLICT), in a transaction committed at each checkpoint of the run and at its "
        "end together with a progress row, so that --resume after a kill neither loses nor "
        "repeats a row. A record the database rejects (a value not of its column's type, a "
        "constraint) is a record error with the server's message, handled by the stage's error "
        "strategy (dead letter, continue, stop) while the other rows are kept. Values: null is "
        "NULL, lists go into array columns as arrays and elsewhere as JSON, objects as JSON; "
        "json/jsonb columns get JSON text of any value.";
    fn.options = pg_write_options().specs();
    fn.factory = bind_options(pg_write_options(), build_pg_write);
    return fn;
}

} // namespace conveyor::plugins::postgres
