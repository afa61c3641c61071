#include "sqlite_write.hpp"

#include "conveyor/core/batch.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/registry/table_sink_options.hpp"
#include "conveyor/stage/checkpoint_spacing.hpp"
#include "conveyor/stage/connection_check.hpp"
#include "conveyor/stage/table_progress.hpp"
#include "sqlite_db.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sqlite3.h>
#include <sys/stat.h>

namespace conveyor::plugins::sqlite {

namespace {

using WriteMode = TableWriteMode;
using CommitAt = TableCommit;

struct SqliteWriteOptions {
    std::string path;  ///< required
    std::string table; ///< required
    WriteMode mode = WriteMode::Append;
    std::optional<std::vector<std::string>> key;
    bool create_table = false;
    StringPairs columns; ///< table column = record field
    CommitAt commit = CommitAt::Checkpoint;
    std::int64_t commit_interval = 100000; ///< records between commits (checkpoints)
    std::string progress_table = "conveyor_progress";
};

/// The columns of `table` (empty: no such table).
Result<std::vector<std::string>> table_columns(SqliteDb& db, const std::string& table) {
    auto stmt = db.prepare("SELECT name FROM pragma_table_info(?1)");
    if (!stmt) return std::move(stmt).error();
    sqlite3_bind_text(stmt->get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
        out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0)));
    if (rc != SQLITE_DONE) return fail(db.error(rc));
    return out;
}

Status check_table(const SqliteWriteOptions& config, const std::vector<std::string>& cols,
                   const std::string& path) {
    auto has = [&](const std::string& c) {
        return std::find(cols.begin(), cols.end(), c) != cols.end();
    };
    auto error = [&](std::string m) { return Error(ErrorKind::Config, std::move(m), path); };
    if (cols.empty()) {
        if (config.create_table) return {};
        return error(fmt::format("table '{}' does not exist (create_table = true creates it from "
                                 "the first records)",
                                 config.table));
    }
    if (config.key)
        for (const std::string& k : *config.key)
            if (!has(k))
                return error(
                    fmt::format("key column '{}' is not a column of table '{}'", k, config.table));
    for (const auto& [column, field] : config.columns)
        if (!has(column))
            return error(
                fmt::format("columns: '{}' is not a column of table '{}'", column, config.table));
    return {};
}

/// A number written as an integer that no int64 holds (a 20-digit id).
bool integer_beyond_int64(const Value& v) noexcept {
    if (!v.has_number_text()) return false;
    std::string_view t = v.number_text();
    if (t.starts_with('-') || t.starts_with('+')) t.remove_prefix(1);
    return !t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string_view sqlite_type_for(Kind kind) {
    switch (kind) {
    case Kind::Bool:
        return "BOOLEAN";
    case Kind::Int:
        return "INTEGER";
    case Kind::Double:
        return "REAL";
    case Kind::Array:
    case Kind::Object:
        return "JSON";
    default:
        return "TEXT";
    }
}

class SqliteWriteOperator final : public Operator {
public:
    SqliteWriteOperator(const SqliteWriteOptions& config, SqliteDb db,
                        std::vector<std::string> columns, const OpenContext& ctx)
        : config_(config), db_(std::move(db)), columns_(std::move(columns)), stage_(ctx.stage_id),
          errors_(ctx.errors), run_context_(ctx.run), batch_mode_(ctx.mode == ExecutionMode::Batch),
          table_(SqliteDb::quote_ident(config.table)) {}

    Status start(const std::optional<std::string>& resume) {
        if (config_.commit == CommitAt::Checkpoint)
            CONVEYOR_TRY(
                db_.exec(fmt::format("CREATE TABLE IF NOT EXISTS {} (sink TEXT PRIMARY KEY, "
                                     "run TEXT NOT NULL, records INTEGER NOT NULL, "
                                     "updated_at TEXT NOT NULL)",
                                     SqliteDb::quote_ident(config_.progress_table))));
        std::optional<StoredProgress> in_db;
        if (config_.commit == CommitAt::Checkpoint &&
            (resume || config_.mode == WriteMode::Append)) {
            auto stmt = db_.prepare(fmt::format("SELECT run, records FROM {} WHERE sink = ?1",
                                                SqliteDb::quote_ident(config_.progress_table)));
            if (!stmt) return std::move(stmt).error();
            const std::string key = sink_key();
            sqlite3_bind_text(stmt->get(), 1, key.data(), static_cast<int>(key.size()),
                              SQLITE_STATIC);
            if (sqlite3_step(stmt->get()) == SQLITE_ROW)
                in_db = StoredProgress::from_row(
                    reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0)),
                    static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 1)));
        }
        if (resume) {
            auto journal = TableProgress::parse(*resume, "a sqlite.write checkpoint");
            if (!journal) return std::move(journal).error();
            auto skip = records_to_skip(
                *journal, in_db ? std::optional(in_db->progress) : std::nullopt, config_.table);
            if (!skip) return std::move(skip).error();
            run_ = journal->run;
            records_ = journal->records;
            skip_ = *skip;
        } else {
            if (config_.mode == WriteMode::Append)
                CONVEYOR_TRY(
                    check_fresh_append(in_db, config_.table, config_.progress_table, sink_key()));
            run_ = TableProgress::new_run();
        }
        CONVEYOR_TRY(db_.exec("BEGIN IMMEDIATE"));
        if (config_.mode == WriteMode::Replace && !resume && !columns_.empty())
            CONVEYOR_TRY(db_.exec("DELETE FROM " + table_));
        return {};
    }

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        std::size_t first = 0;
        if (skip_ > 0) {
            first = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, batch.rows()));
            skip_ -= first;
            records_ += first;
        }
        if (first == batch.rows()) return {};
        if (columns_.empty()) CONVEYOR_TRY(create_table(batch));
        auto m = mapping_for(batch.schema_ref());
        if (!m) return std::move(m).error();
        sqlite3_stmt* s = (*m)->insert.get();
        const std::vector<std::size_t>& source = (*m)->source;
        for (std::size_t r = first; r < batch.rows(); ++r) {
            const std::span<const Value> row = batch.row(r);
            for (std::size_t c = 0; c < source.size(); ++c)
                bind(s, static_cast<int>(c) + 1,
                     source[c] == Batch::npos ? Value::null() : row[source[c]]);
            const int rc = sqlite3_step(s);
            sqlite3_reset(s);
            if (rc == SQLITE_DONE) continue;
            Error e = db_.error(rc);
            if (e.kind != ErrorKind::Data) return std::move(e).in_stage(stage_);
            // Records carry no place in the input file: the sink's count is what it knows.
            Error error(ErrorKind::Data, "the database rejected the record: " + e.message,
                        fmt::format("{}, record {} of the stage's input", e.where,
                                    records_ + (r - first) + 1),
                        stage_);
            if (!errors_) return error;
            CONVEYOR_TRY(errors_->record_failed(batch.schema(), row, std::move(error)));
        }
        records_ += batch.rows() - first;
        return {};
    }

    Result<std::string> checkpoint(const Checkpoint& cp) override {
        if (Status s = commit(cp.durable, true); !s) return fail(std::move(s).error());
        return TableProgress{run_, records_}.to_text();
    }

    Status finish(Emitter&) override {
        // A batch run stopped by a signal commits nothing more (see postgres.write).
        if (batch_mode_ && run_context_ && run_context_->stop_requested()) {
            abort();
            return {};
        }
        return commit(true, false);
    }

    void abort() noexcept override { (void)db_.exec("ROLLBACK"); }

private:
    struct Mapping {
        SchemaRef schema;
        std::vector<std::size_t> source;
        SqliteStmt insert;
    };

    [[nodiscard]] std::string sink_key() const {
        return fmt::format("{}:{}", config_.table, stage_);
    }

    /// Commits with the progress row. In WAL mode with synchronous = NORMAL a commit is in the
    /// WAL file (survives a killed process) but not synced; a durable one (at most about once a
    /// second, and the last) also syncs that file, as synchronous = FULL would on every commit.
    Status commit(bool durable, bool again) {
        const bool finished = !again;
        std::string sql;
        if (config_.commit == CommitAt::Checkpoint)
            sql += fmt::format(
                "INSERT INTO {} (sink, run, records, updated_at) VALUES ({}, {}, {}, "
                "datetime('now')) ON CONFLICT (sink) DO UPDATE SET run = excluded.run, "
                "records = excluded.records, updated_at = excluded.updated_at; ",
                SqliteDb::quote_ident(config_.progress_table), SqliteDb::quote_literal(sink_key()),
                SqliteDb::quote_literal(StoredProgress::run_column(run_, finished)), records_);
        sql += "COMMIT";
        if (again) sql += "; BEGIN IMMEDIATE";
        if (Status s = db_.exec(sql); !s) return std::move(s).error().in_stage(stage_);
        if (durable) CONVEYOR_TRY(db_.sync_wal());
        return {};
    }

    void bind(sqlite3_stmt* s, int at, const Value& v) {
        switch (v.kind()) {
        case Kind::Absent:
        case Kind::Null:
            sqlite3_bind_null(s, at);
            return;
        case Kind::Bool:
            sqlite3_bind_int(s, at, v.as_bool() ? 1 : 0);
            return;
        case Kind::Int:
            sqlite3_bind_int64(s, at, v.as_int());
            return;
        case Kind::Double:
            if (integer_beyond_int64(v)) {
                // No double holds its digits: as text, a TEXT (or untyped) column keeps them,
                // and a numeric one converts it as it would the double.
                sqlite3_bind_text(s, at, v.number_text().data(),
                                  static_cast<int>(v.number_text().size()), SQLITE_STATIC);
                return;
            }
            sqlite3_bind_double(s, at, v.as_double());
            return;
        case Kind::String: {
            // An empty string's view may have no data pointer, which SQLite binds as NULL.
            const std::string_view text = v.as_string();
            sqlite3_bind_text(s, at, text.empty() ? "" : text.data(), static_cast<int>(text.size()),
                              SQLITE_STATIC);
            return;
        }
        case Kind::Array:
        case Kind::Object: {
            const std::string text = json::to_string(v);
            sqlite3_bind_text(s, at, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
            return;
        }
        }
    }

    Status create_table(const Batch& batch) {
        auto type_of = [&](std::optional<std::size_t> field) {
            if (field)
                for (std::size_t r = 0; r < batch.rows(); ++r) {
                    const Value& v = batch.at(r, *field);
                    if (!v.is_null() && !v.is_absent()) return sqlite_type_for(v.kind());
                }
            return sqlite_type_for(Kind::Null);
        };
        std::vector<std::string> defs;
        if (config_.columns.empty()) {
            for (std::size_t f = 0; f < batch.width(); ++f)
                defs.push_back(SqliteDb::quote_ident(batch.schema().name(f)) + " " +
                               std::string(type_of(f)));
        } else {
            for (const auto& [column, field] : config_.columns)
                defs.push_back(SqliteDb::quote_ident(column) + " " +
                               std::string(type_of(batch.schema().find(field))));
        }
        if (config_.key) {
            std::vector<std::string> keys;
            for (const std::string& k : *config_.key)
                keys.push_back(SqliteDb::quote_ident(k));
            defs.push_back(fmt::format("PRIMARY KEY ({})", fmt::join(keys, ", ")));
        }
        CONVEYOR_TRY(db_.exec(
            fmt::format("CREATE TABLE IF NOT EXISTS {} ({})", table_, fmt::join(defs, ", "))));
        auto cols = table_columns(db_, config_.table);
        if (!cols) return std::move(cols).error();
        columns_ = std::move(*cols);
        return {};
    }

    Result<const Mapping*> mapping_for(const SchemaRef& schema) {
        for (const Mapping& m : mappings_)
            if (m.schema == schema) return &m;
        Mapping m;
        m.schema = schema;
        std::vector<std::string> names;
        auto add = [&](const std::string& column, std::size_t field) -> Status {
            if (std::find(columns_.begin(), columns_.end(), column) == columns_.end())
                return Error(ErrorKind::Config,
                             fmt::format("records have field '{}', which is not a column of table "
                                         "'{}'; map the fields with 'columns' or choose them with "
                                         "select.apply",
                                         column, config_.table),
                             db_.path(), stage_);
            m.source.push_back(field);
            names.push_back(SqliteDb::quote_ident(column));
            return {};
        };
        if (config_.columns.empty()) {
            for (std::size_t f = 0; f < schema->size(); ++f)
                CONVEYOR_TRY(add(schema->name(f), f));
        } else {
            for (const auto& [column, field] : config_.columns)
                CONVEYOR_TRY(add(column, schema->find(field).value_or(Batch::npos)));
        }
        std::vector<std::string> marks(names.size(), "?");
        std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ({})", table_,
                                      fmt::join(names, ", "), fmt::join(marks, ", "));
        if (config_.mode == WriteMode::Upsert) {
            std::vector<std::string> keys;
            std::vector<std::string> sets;
            for (const std::string& k : *config_.key)
                keys.push_back(SqliteDb::quote_ident(k));
            for (const std::string& n : names) {
                if (std::find(keys.begin(), keys.end(), n) == keys.end())
                    sets.push_back(fmt::format("{0} = excluded.{0}", n));
            }
            for (const std::string& k : keys)
                if (std::find(names.begin(), names.end(), k) == names.end())
                    return Error(
                        ErrorKind::Config,
                        fmt::format(
                            "mode = \"upsert\": the records have no field for key column {}", k),
                        db_.path(), stage_);
            sql += fmt::format(" ON CONFLICT ({}) DO {}", fmt::join(keys, ", "),
                               sets.empty() ? std::string("NOTHING")
                                            : fmt::format("UPDATE SET {}", fmt::join(sets, ", ")));
        }
        auto stmt = db_.prepare(sql);
        if (!stmt) return fail(std::move(stmt).error().in_stage(stage_));
        m.insert = std::move(*stmt);
        mappings_.push_back(std::move(m));
        return &mappings_.back();
    }

    SqliteWriteOptions config_;
    SqliteDb db_;
    std::vector<std::string> columns_;
    std::string stage_;
    StageErrors* errors_;
    RunContext* run_context_;
    bool batch_mode_;
    std::string table_;
    std::vector<Mapping> mappings_;
    std::string run_;
    std::uint64_t records_ = 0;
    std::uint64_t skip_ = 0;
};

class SqliteWriteStage final : public Stage, public ConnectionCheck, public CheckpointSpacing {
public:
    explicit SqliteWriteStage(SqliteWriteOptions config) : config_(std::move(config)) {}

    [[nodiscard]] std::uint64_t min_checkpoint_interval() const override {
        return config_.commit == CommitAt::Checkpoint
                   ? static_cast<std::uint64_t>(config_.commit_interval)
                   : 0;
    }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        // Without create_table a database that is not there cannot have the table: say so
        // before opening it, which would leave an empty database file behind.
        struct stat st {};
        if (!config_.create_table && ::stat(config_.path.c_str(), &st) != 0 && errno == ENOENT)
            return fail(Error(ErrorKind::Config,
                              fmt::format("no such SQLite database, so no table '{}' "
                                          "(create_table = true creates both from the first "
                                          "records)",
                                          config_.table),
                              config_.path, std::string(ctx.stage_id)));
        auto db = SqliteDb::open(config_.path, true, ctx.stage_id, ctx.run);
        if (!db) return std::move(db).error();
        auto cols = table_columns(*db, config_.table);
        if (!cols) return fail(std::move(cols).error().in_stage(ctx.stage_id));
        if (Status s = check_table(config_, *cols, config_.path); !s)
            return fail(std::move(s).error().in_stage(ctx.stage_id));
        auto op =
            std::make_unique<SqliteWriteOperator>(config_, std::move(*db), std::move(*cols), ctx);
        if (Status s = op->start(ctx.resume); !s)
            return fail(std::move(s).error().in_stage(ctx.stage_id));
        OpenedStage opened(std::unique_ptr<Operator>(std::move(op)), nullptr);
        opened.checkpoints = config_.commit == CommitAt::Checkpoint;
        return opened;
    }

    [[nodiscard]] Status check_connection() const override {
        auto db = SqliteDb::open(config_.path, false, "");
        if (!db) {
            // A database file that is not there yet is created by the run.
            if (db.error().kind == ErrorKind::NoInput && config_.create_table) return {};
            return std::move(db).error();
        }
        auto cols = table_columns(*db, config_.table);
        if (!cols) return std::move(cols).error();
        return check_table(config_, *cols, config_.path);
    }

private:
    SqliteWriteOptions config_;
};

const OptionTable<SqliteWriteOptions>& sqlite_write_options() {
    static const auto table = [] {
        OptionTable<SqliteWriteOptions> t;
        t.add("path", &SqliteWriteOptions::path,
              {.description = "The SQLite database file (created when missing; WAL mode).",
               .required = true,
               .min_length = 1});
        add_table_sink_options(t, "its name",
                               "INTEGER, REAL, BOOLEAN, TEXT, JSON for lists and objects");
        return t;
    }();
    return table;
}

std::unique_ptr<Stage> build_sqlite_write(BuildContext& ctx, const SqliteWriteOptions& o) {
    check_table_sink(ctx, o.mode, o.key, o.create_table, o.columns);
    if (ctx.failed()) return nullptr;
    return std::make_unique<SqliteWriteStage>(o);
}

} // namespace

FunctionDescriptor sqlite_write_descriptor() {
    FunctionDescriptor fn;
    fn.name = "sqlite.write";
    fn.role = StageRole::Sink;
    fn.commits_at_checkpoints = true;
    fn.min_inputs = 1;
    fn.max_inputs = kUnboundedInputs;
    fn.summary = "Write records into a SQLite table (append, upsert, replace)";
    fn.description =
        "Inserts with prepared statements in transactions on a WAL database, committed at each "
        "checkpoint of the run and at its end together with a progress row, so that --resume "
        "after a kill neither loses nor repeats a row. A record SQLite rejects (a constraint, a "
        "STRICT column's type) is a record error with SQLite's message, handled by the stage's "
        "error strategy while the other rows are kept. Booleans are 1/0, lists and objects JSON "
        "text.";
    fn.options = sqlite_write_options().specs();
    fn.factory = bind_options(sqlite_write_options(), build_sqlite_write);
    return fn;
}

} // namespace conveyor::plugins::sqlite
