#include "pg_write.hpp"

#include "conveyor/core/batch.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/stage/checkpoint_spacing.hpp"
#include "conveyor/stage/connection_check.hpp"
#include "conveyor/stage/table_progress.hpp"
#include "pg_connection.hpp"
#include "pg_loader.hpp"
#include "pg_timeout_option.hpp"
#include "pg_values.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace conveyor::plugins::postgres {

namespace {

constexpr std::string_view kStaging = "pg_temp.conveyor_stage";

struct TableColumn {
    std::string name;
    PgColumnKind kind = PgColumnKind::Plain;
};

/// The columns of `table` in order; empty when there is no such table.
Result<std::vector<TableColumn>> table_columns(PgConnection& conn, const std::string& table) {
    const std::optional<std::string> name = PgConnection::quote_name(table);
    auto r = conn.query("SELECT a.attname, t.typcategory, t.typname FROM pg_attribute a JOIN "
                        "pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass($1) AND "
                        "a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                        std::span(&name, 1));
    if (!r) return std::move(r).error();
    std::vector<TableColumn> out;
    for (int i = 0; i < r->rows(); ++i) {
        TableColumn c{std::string(r->value(i, 0))};
        if (r->value(i, 1) == "A")
            c.kind = PgColumnKind::Array;
        else if (r->value(i, 2) == "json" || r->value(i, 2) == "jsonb")
            c.kind = PgColumnKind::Json;
        else if (r->value(i, 2) == "int2" || r->value(i, 2) == "int4" || r->value(i, 2) == "int8")
            c.kind = PgColumnKind::Integer;
        else if (r->value(i, 2) == "timestamp")
            c.kind = PgColumnKind::Timestamp;
        out.push_back(std::move(c));
    }
    return out;
}

const TableColumn* find_column(const std::vector<TableColumn>& cols, std::string_view name) {
    for (const TableColumn& c : cols)
        if (c.name == name) return &c;
    return nullptr;
}

/// What `validate --connect` checks beyond the table's shape: that the role may do what the
/// run will (insert, and update for upsert, truncate for replace; create the table or the
/// progress table when they are not there), which would otherwise fail the run at its first
/// rows. `table_exists`: the target table is there.
Status check_privileges(PgConnection& conn, const PgWriteConfig& config, bool table_exists) {
    auto check = [&](const std::string& sql, std::optional<std::string> param,
                     const std::string& what) -> Status {
        const bool has_param = param.has_value();
        const std::optional<std::string> params[] = {std::move(param)};
        auto r =
            conn.query(sql, std::span<const std::optional<std::string>>(params, has_param ? 1 : 0));
        if (!r) return std::move(r).error();
        if (r->rows() == 0 || r->is_null(0, 0) || r->value(0, 0) != "f") return {};
        auto who = conn.query("SELECT current_user");
        const std::string role = who && who->rows() > 0 ? std::string(who->value(0, 0)) : "?";
        return Error(ErrorKind::Config,
                     fmt::format("role '{}' may not {} (the run would fail at its first rows; "
                                 "GRANT it, or connect as another role)",
                                 role, what),
                     conn.target().to_string());
    };
    const std::string create_sql = "SELECT has_schema_privilege(current_schema(), 'CREATE')";
    if (table_exists) {
        std::vector<std::string> needed = {"INSERT"};
        if (config.mode == WriteMode::Upsert) needed.push_back("UPDATE");
        if (config.mode == WriteMode::Replace) needed.push_back("TRUNCATE");
        for (const std::string& p : needed)
            CONVEYOR_TRY(check("SELECT has_table_privilege(to_regclass($1), '" + p + "')",
                               PgConnection::quote_name(config.table),
                               fmt::format("{} on table '{}'", p, config.table)));
    } else if (config.create_table) {
        CONVEYOR_TRY(check(create_sql, std::nullopt,
                           fmt::format("create table '{}' (CREATE on its schema)", config.table)));
    }
    if (config.commit != CommitAt::Checkpoint) return {};
    const std::optional<std::string> progress = PgConnection::quote_name(config.progress_table);
    auto exists = conn.query("SELECT to_regclass($1) IS NOT NULL", std::span(&progress, 1));
    if (!exists) return std::move(exists).error();
    if (exists->rows() > 0 && exists->value(0, 0) == "t") {
        for (const char* p : {"SELECT", "INSERT", "UPDATE"})
            CONVEYOR_TRY(check(
                std::string("SELECT has_table_privilege(to_regclass($1), '") + p + "')", progress,
                fmt::format("{} on the progress table '{}'", p, config.progress_table)));
        return {};
    }
    return check(create_sql, std::nullopt,
                 fmt::format("create the progress table '{}' (CREATE on its schema)",
                             config.progress_table));
}

std::string sink_key(const PgWriteConfig& config, std::string_view stage) {
    return fmt::format("{}:{}", config.table, stage);
}

/// Checks what the pipeline names against the table (exists, or create_table; the key and the
/// mapped columns are its columns): Config errors.
Status check_table(const PgWriteConfig& config, const std::vector<TableColumn>& cols,
                   const PgTarget& target) {
    auto error = [&](std::string message) {
        return Error(ErrorKind::Config, std::move(message), target.to_string());
    };
    if (cols.empty()) {
        if (config.create_table) return {};
        return error(fmt::format("table '{}' does not exist (create_table = true creates it from "
                                 "the first records)",
                                 config.table));
    }
    for (const std::string& k : config.key)
        if (!find_column(cols, k))
            return error(
                fmt::format("key column '{}' is not a column of table '{}'", k, config.table));
    for (const auto& [column, field] : config.columns)
        if (!find_column(cols, column))
            return error(
                fmt::format("columns: '{}' is not a column of table '{}'", column, config.table));
    return {};
}

class PgWriteOperator final : public Operator {
public:
    PgWriteOperator(const PgWriteConfig& config, PgConnection conn,
                    std::vector<TableColumn> columns, const OpenContext& ctx)
        : config_(config), conn_(std::move(conn)), loader_(conn_), columns_(std::move(columns)),
          stage_(ctx.stage_id), errors_(ctx.errors), run_context_(ctx.run),
          batch_mode_(ctx.mode == ExecutionMode::Batch),
          quoted_table_(PgConnection::quote_name(config.table)) {}

    /// Starts the first transaction: a fresh run (`resume` empty) gets a new run token and, for
    /// replace, empties the table; a resumed one skips what the database has beyond the
    /// journal's checkpoint.
    Status start(const std::optional<std::string>& resume) {
        if (config_.commit == CommitAt::Checkpoint && !progress_table_exists()) {
            CONVEYOR_TRY(conn_.exec(fmt::format(
                "CREATE TABLE IF NOT EXISTS {} (sink text PRIMARY KEY, run text NOT NULL, records "
                "bigint NOT NULL, updated_at timestamptz NOT NULL)",
                PgConnection::quote_name(config_.progress_table))));
        }
        std::optional<StoredProgress> in_db;
        if (config_.commit == CommitAt::Checkpoint &&
            (resume || config_.mode == WriteMode::Append)) {
            const std::optional<std::string> key = sink_key(config_, stage_);
            auto row = conn_.query(fmt::format("SELECT run, records FROM {} WHERE sink = $1",
                                               PgConnection::quote_name(config_.progress_table)),
                                   std::span(&key, 1));
            if (!row) return std::move(row).error();
            if (row->rows() == 1)
                in_db = StoredProgress::from_row(row->value(0, 0),
                                                 std::stoull(std::string(row->value(0, 1))));
        }
        if (resume) {
            auto journal = TableProgress::parse(*resume, "a postgres.write checkpoint");
            if (!journal) return std::move(journal).error();
            auto skip = records_to_skip(
                *journal, in_db ? std::optional(in_db->progress) : std::nullopt, config_.table);
            if (!skip) return std::move(skip).error();
            run_ = journal->run;
            records_ = journal->records;
            skip_ = *skip;
        } else {
            if (config_.mode == WriteMode::Append)
                CONVEYOR_TRY(check_fresh_append(in_db, config_.table, config_.progress_table,
                                                sink_key(config_, stage_)));
            run_ = TableProgress::new_run();
        }
        CONVEYOR_TRY(conn_.exec("BEGIN"));
        if (config_.mode == WriteMode::Replace && !resume && !columns_.empty())
            CONVEYOR_TRY(conn_.exec("TRUNCATE " + quoted_table_));
        return {};
    }

    /// Whether the progress table is there already: CREATE TABLE IF NOT EXISTS needs CREATE
    /// on the schema even then, which a role that may only write the tables lacks.
    bool progress_table_exists() {
        const std::optional<std::string> name = PgConnection::quote_name(config_.progress_table);
        auto r = conn_.query("SELECT to_regclass($1) IS NOT NULL", std::span(&name, 1));
        return r && r->rows() > 0 && r->value(0, 0) == "t";
    }

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        std::size_t first = 0;
        if (skip_ > 0) {
            // Committed by the interrupted run after the journal's checkpoint.
            first = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, batch.rows()));
            skip_ -= first;
            records_ += first;
        }
        if (first == batch.rows()) return {};
        // Rows of another shape go in a COPY of their own.
        if (loader_.open() && mappings_[pending_mapping_].schema != batch.schema_ref())
            CONVEYOR_TRY(flush());
        if (columns_.empty()) CONVEYOR_TRY(create_table(batch));
        auto m = mapping_for(batch.schema_ref());
        if (!m) return std::move(m).error();
        const Mapping& map = mappings_[*m];
        if (!loader_.open()) {
            CONVEYOR_TRY(loader_.begin("", map.copy_sql, map.merge_sql));
            pending_mapping_ = *m;
        }
        const std::size_t from = buf_.size();
        const auto b = static_cast<std::uint32_t>(pending_.size());
        for (std::size_t r = first; r < batch.rows(); ++r) {
            const std::span<const Value> row = batch.row(r);
            for (std::size_t c = 0; c < map.source.size(); ++c) {
                if (c) buf_.push_back('\t');
                const std::size_t src = map.source[c];
                append_copy_field(buf_, src == Batch::npos ? Value::null() : row[src], map.kinds[c],
                                  scratch_);
            }
            buf_.push_back('\n');
            ends_.push_back(buf_.size());
            rows_.emplace_back(b, static_cast<std::uint32_t>(r));
        }
        bases_.push_back(records_ - first);
        records_ += batch.rows() - first;
        pending_.push_back(std::move(batch));
        // The server takes the rows in while the next ones are made; the COPY ends (the rows
        // kept for a rejected row's retry are let go) at a checkpoint or when this many wait.
        CONVEYOR_TRY(loader_.send(std::string_view(buf_).substr(from)));
        if (buf_.size() >= kFlushBytes || rows_.size() >= kFlushRows) CONVEYOR_TRY(flush());
        return {};
    }

    Result<std::string> checkpoint(const Checkpoint& cp) override {
        if (Status s = flush(); !s) return fail(std::move(s).error());
        // A commit that survives a kill of conveyor (the server has it) but, between durable
        // checkpoints, not necessarily a crash of the server's machine.
        std::string sql = loader_.take_pending();
        if (!cp.durable) sql += "SET LOCAL synchronous_commit = off; ";
        sql += progress_sql(false) + "; COMMIT; BEGIN; ";
        // The next rows' COPY starts in the same round trip (its start confirms the commit).
        Status s = mappings_.empty() ? conn_.exec(sql)
                                     : loader_.begin(sql, mappings_[pending_mapping_].copy_sql,
                                                     mappings_[pending_mapping_].merge_sql);
        if (!s) return fail(std::move(s).error().in_stage(stage_));
        return TableProgress{run_, records_}.to_text();
    }

    Status finish(Emitter&) override {
        if (stopped_in_batch_mode()) {
            // A batch run stopped by a signal commits nothing more: what came after its last
            // checkpoint is rolled back, as file outputs are, and --resume writes it.
            abort();
            return {};
        }
        CONVEYOR_TRY(flush());
        std::string sql = loader_.take_pending();
        if (config_.commit == CommitAt::Checkpoint) sql += progress_sql(true) + "; ";
        sql += "COMMIT";
        if (Status s = conn_.exec(sql); !s) return std::move(s).error().in_stage(stage_);
        return {};
    }

    void abort() noexcept override {
        loader_.abandon();
        if (conn_.ok()) (void)conn_.exec("ROLLBACK");
    }

private:
    static constexpr std::size_t kFlushBytes = std::size_t{4} << 20;
    static constexpr std::size_t kFlushRows = 20000;

    /// Ends the open COPY; a row the database rejects goes to the stage's error strategy with
    /// the record it came from.
    Status flush() {
        if (!loader_.open()) return {};
        Status s = loader_.end(buf_, ends_, [&](std::size_t i, const Error& e) -> Status {
            const auto [b, r] = rows_[i];
            // Records carry no place in the input file: the sink's count is what it knows.
            Error error(
                ErrorKind::Data, "the database rejected the record: " + e.message,
                fmt::format("{}, record {} of the stage's input", e.where, bases_[b] + r + 1),
                stage_);
            if (!errors_) return error;
            return errors_->record_failed(pending_[b].schema(), pending_[b].row(r),
                                          std::move(error));
        });
        buf_.clear();
        ends_.clear();
        rows_.clear();
        pending_.clear();
        bases_.clear();
        if (!s) return std::move(s).error().in_stage(stage_);
        return {};
    }

    struct Mapping {
        SchemaRef schema;
        std::vector<std::size_t> source; ///< per written column: the field, or npos
        std::vector<PgColumnKind> kinds;
        std::string copy_sql;
        std::string merge_sql;
    };

    [[nodiscard]] bool stopped_in_batch_mode() const noexcept {
        return batch_mode_ && run_context_ && run_context_->stop_requested();
    }

    /// The progress row's upsert; `finished` at the run's last commit.
    [[nodiscard]] std::string progress_sql(bool finished) const {
        return fmt::format("INSERT INTO {} (sink, run, records, updated_at) VALUES ({}, {}, {}, "
                           "now()) ON CONFLICT (sink) DO UPDATE SET run = EXCLUDED.run, records "
                           "= EXCLUDED.records, updated_at = EXCLUDED.updated_at",
                           PgConnection::quote_name(config_.progress_table),
                           PgConnection::quote_literal(sink_key(config_, stage_)),
                           PgConnection::quote_literal(StoredProgress::run_column(run_, finished)),
                           records_);
    }

    /// create_table: the table, from the first batch's fields and values (the first non-null
    /// value of a column gives its type, text when all are null; a number column is one that
    /// holds every number of the batch: bigint, double precision, or numeric for an integer
    /// beyond int64, which a double would round).
    Status create_table(const Batch& batch) {
        std::vector<std::string> defs;
        auto type_of = [&](std::size_t field) -> std::string_view {
            Kind first = Kind::Null;
            bool doubles = false;
            bool beyond_int64 = false;
            for (std::size_t r = 0; r < batch.rows(); ++r) {
                const Value& v = batch.at(r, field);
                if (v.is_null() || v.is_absent()) continue;
                if (first == Kind::Null) first = v.kind();
                if (v.kind() != Kind::Double) continue;
                doubles = true;
                beyond_int64 = beyond_int64 || is_integer_text(v);
            }
            if (first != Kind::Int && first != Kind::Double) return sql_type_for(first);
            if (beyond_int64) return "numeric";
            return sql_type_for(doubles ? Kind::Double : Kind::Int);
        };
        if (config_.columns.empty()) {
            for (std::size_t f = 0; f < batch.width(); ++f)
                defs.push_back(PgConnection::quote_ident(batch.schema().name(f)) + " " +
                               std::string(type_of(f)));
        } else {
            for (const auto& [column, field] : config_.columns) {
                const auto f = batch.schema().find(field);
                defs.push_back(PgConnection::quote_ident(column) + " " +
                               std::string(f ? type_of(*f) : sql_type_for(Kind::Null)));
            }
        }
        if (!config_.key.empty()) {
            std::vector<std::string> keys;
            for (const std::string& k : config_.key)
                keys.push_back(PgConnection::quote_ident(k));
            defs.push_back(fmt::format("PRIMARY KEY ({})", fmt::join(keys, ", ")));
        }
        CONVEYOR_TRY(
            conn_.exec(fmt::format("{}CREATE TABLE IF NOT EXISTS {} ({})", loader_.take_pending(),
                                   quoted_table_, fmt::join(defs, ", "))));
        auto cols = table_columns(conn_, config_.table);
        if (!cols) return std::move(cols).error();
        columns_ = std::move(*cols);
        return {};
    }

    /// The index in mappings_ of how records of `schema` are written.
    Result<std::size_t> mapping_for(const SchemaRef& schema) {
        for (std::size_t i = 0; i < mappings_.size(); ++i)
            if (mappings_[i].schema == schema) return i;
        Mapping m;
        m.schema = schema;
        std::vector<std::string> names;
        auto add = [&](const std::string& column, std::size_t field) -> Status {
            const TableColumn* col = find_column(columns_, column);
            if (!col)
                return Error(ErrorKind::Config,
                             fmt::format("records have field '{}', which is not a column of "
                                         "table '{}'; map the fields with 'columns' or choose "
                                         "them with select.apply",
                                         column, config_.table),
                             conn_.target().to_string(), stage_);
            m.source.push_back(field);
            m.kinds.push_back(col->kind);
            names.push_back(PgConnection::quote_ident(column));
            return {};
        };
        if (config_.columns.empty()) {
            for (std::size_t f = 0; f < schema->size(); ++f)
                CONVEYOR_TRY(add(schema->name(f), f));
        } else {
            for (const auto& [column, field] : config_.columns)
                CONVEYOR_TRY(add(column, schema->find(field).value_or(Batch::npos)));
        }
        const std::string list = fmt::format("{}", fmt::join(names, ", "));
        if (config_.mode != WriteMode::Upsert) {
            m.copy_sql = fmt::format("COPY {} ({}) FROM STDIN", quoted_table_, list);
        } else {
            CONVEYOR_TRY(upsert_sql(m, names, list));
        }
        mappings_.push_back(std::move(m));
        return mappings_.size() - 1;
    }

    /// The staging table (once per connection) and the merge from it: the last record of a
    /// key wins.
    Status upsert_sql(Mapping& m, const std::vector<std::string>& names, const std::string& list) {
        std::vector<std::string> keys;
        for (const std::string& k : config_.key) {
            const std::string q = PgConnection::quote_ident(k);
            if (std::find(names.begin(), names.end(), q) == names.end())
                return Error(ErrorKind::Config,
                             fmt::format("mode = \"upsert\": the records have no field for key "
                                         "column '{}'",
                                         k),
                             conn_.target().to_string(), stage_);
            keys.push_back(q);
        }
        std::vector<std::string> sets;
        for (const std::string& n : names)
            if (std::find(keys.begin(), keys.end(), n) == keys.end())
                sets.push_back(fmt::format("{0} = EXCLUDED.{0}", n));
        if (!staging_) {
            CONVEYOR_TRY(conn_.exec(fmt::format(
                "{}CREATE TEMP TABLE IF NOT EXISTS conveyor_stage (LIKE {} INCLUDING DEFAULTS); "
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS conveyor_seq bigserial",
                loader_.take_pending(), quoted_table_, kStaging)));
            staging_ = true;
        }
        const std::string key_list = fmt::format("{}", fmt::join(keys, ", "));
        m.copy_sql = fmt::format("COPY {} ({}) FROM STDIN", kStaging, list);
        m.merge_sql =
            fmt::format("INSERT INTO {0} ({1}) SELECT DISTINCT ON ({2}) {1} FROM {3} ORDER BY {2}, "
                        "conveyor_seq DESC ON CONFLICT ({2}) DO {4}; TRUNCATE {3}",
                        quoted_table_, list, key_list, kStaging,
                        sets.empty() ? std::string("NOTHING")
                                     : fmt::format("UPDATE SET {}", fmt::join(sets, ", ")));
        return {};
    }

    PgWriteConfig config_;
    PgConnection conn_;
    PgLoader loader_;
    std::vector<TableColumn> columns_;
    std::string stage_;
    StageErrors* errors_;
    RunContext* run_context_;
    bool batch_mode_;
    std::string quoted_table_;
    std::vector<Mapping> mappings_;
    bool staging_ = false;
    std::string run_;
    std::uint64_t records_ = 0; ///< records handed to the sink (this run and those resumed)
    std::uint64_t skip_ = 0;
    // Rows gathered for the next COPY: their text (row i ends at ends_[i]), where each came
    // from (batch in pending_, row) and how they are written (mappings_[pending_mapping_]).
    std::string buf_;
    std::vector<std::size_t> ends_;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> rows_;
    std::vector<Batch> pending_;
    std::vector<std::uint64_t> bases_; ///< per batch in pending_: the records before it
    std::size_t pending_mapping_ = 0;
    std::string scratch_;
};

class PgWriteStage final : public Stage, public ConnectionCheck, public CheckpointSpacing {
public:
    explicit PgWriteStage(PgWriteConfig config) : config_(std::move(config)) {}

    [[nodiscard]] std::uint64_t min_checkpoint_interval() const override {
        return config_.commit == CommitAt::Checkpoint
                   ? static_cast<std::uint64_t>(config_.commit_interval)
                   : 0;
    }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (ctx.resume && config_.commit == CommitAt::End)
            return fail(Error(ErrorKind::Config, "commit = \"end\" takes no checkpoints",
                              config_.table, std::string(ctx.stage_id)));
        auto conn =
            PgConnection::open(config_.dsn, ctx.stage_id, waits_of(ctx.run, config_.timeout));
        if (!conn) return std::move(conn).error();
        auto cols = table_columns(*conn, config_.table);
        if (!cols) return fail(std::move(cols).error().in_stage(ctx.stage_id));
        if (Status s = check_table(config_, *cols, conn->target()); !s)
            return fail(std::move(s).error().in_stage(ctx.stage_id));
        auto op =
            std::make_unique<PgWriteOperator>(config_, std::move(*conn), std::move(*cols), ctx);
        if (Status s = op->start(ctx.resume); !s)
            return fail(std::move(s).error().in_stage(ctx.stage_id));
        OpenedStage opened(std::unique_ptr<Operator>(std::move(op)), nullptr);
        opened.checkpoints = config_.commit == CommitAt::Checkpoint;
        return opened;
    }

    [[nodiscard]] Status check_connection() const override {
        auto conn = PgConnection::open(config_.dsn, "", waits_of(nullptr, config_.timeout));
        if (!conn) return std::move(conn).error();
        auto cols = table_columns(*conn, config_.table);
        if (!cols) return std::move(cols).error();
        CONVEYOR_TRY(check_table(config_, *cols, conn->target()));
        return check_privileges(*conn, config_, !cols->empty());
    }

private:
    PgWriteConfig config_;
};

} // namespace

std::unique_ptr<Stage> make_pg_write_stage(PgWriteConfig config) {
    return std::make_unique<PgWriteStage>(std::move(config));
}

} // namespace conveyor::plugins::postgres
