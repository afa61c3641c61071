#include "pg_timeout_option.hpp"
#include "pg_write.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor::plugins::postgres {

namespace {

const OptionTable<PgWriteOptions>& pg_write_options() {
    static const auto table = [] {
        OptionTable<PgWriteOptions> t;
        t.add("dsn", &PgWriteOptions::dsn,
              {.description = "libpq connection string or URI, usually \"${DATABASE_URL}\" "
                              "(messages name its host and database, never its password).",
               .required = true,
               .min_length = 1,
               .example = "\"${DATABASE_URL}\""});
        add_table_sink_options(
            t, "schema.table; names as written, case-sensitive",
            "integer bigint, number double precision (numeric for integers beyond int64), "
            "boolean, text, "
            "lists and objects jsonb");
        add_timeout_option(t);
        return t;
    }();
    return table;
}

std::unique_ptr<Stage> build_pg_write(BuildContext& ctx, const PgWriteOptions& o) {
    PgWriteConfig config;
    config.dsn = o.dsn;
    config.table = o.table;
    config.mode = o.mode;
    if (o.key) config.key = *o.key;
    check_table_sink(ctx, o.mode, o.key, o.create_table, o.columns);
    config.create_table = o.create_table;
    config.columns = o.columns;
    config.commit = o.commit;
    config.commit_interval = o.commit_interval;
    config.progress_table = o.progress_table;
    config.timeout = o.timeout;
    if (ctx.failed()) return nullptr;
    return make_pg_write_stage(std::move(config));
}

} // namespace

FunctionDescriptor pg_write_descriptor() {
    FunctionDescriptor fn;
    fn.name = "postgres.write";
    fn.role = StageRole::Sink;
    fn.commits_at_checkpoints = true;
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
