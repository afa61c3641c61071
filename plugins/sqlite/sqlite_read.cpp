#include "sqlite_read.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/option/option_value.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/stage/checkpoint_text.hpp"
#include "conveyor/stage/connection_check.hpp"
#include "sqlite_db.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace conveyor::plugins::sqlite {

namespace {

struct SqliteReadOptions {
    std::string path; ///< required
    std::optional<std::string> query;
    std::optional<std::string> table;
    OptionValue params;
};

struct SqliteReadConfig {
    std::string path;
    std::string query;
    std::vector<OptionValue> params;
};

/// How a column's values are read, from its declared type.
enum class Declared : std::uint8_t { Any, Bool, Json };

Declared declared_of(const char* decltype_text) {
    if (!decltype_text) return Declared::Any;
    std::string t = decltype_text;
    for (char& c : t)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (t == "BOOLEAN" || t == "BOOL") return Declared::Bool;
    if (t == "JSON" || t == "JSONB") return Declared::Json;
    return Declared::Any;
}

Status bind_params(SqliteDb& db, sqlite3_stmt* s, const std::vector<OptionValue>& params) {
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int at = static_cast<int>(i) + 1;
        const OptionValue& p = params[i];
        int rc = SQLITE_OK;
        if (p.is_null())
            rc = sqlite3_bind_null(s, at);
        else if (p.is_bool())
            rc = sqlite3_bind_int(s, at, p.as_bool() ? 1 : 0);
        else if (p.is_int())
            rc = sqlite3_bind_int64(s, at, p.as_int());
        else if (p.is_double())
            rc = sqlite3_bind_double(s, at, p.as_double());
        else
            rc = sqlite3_bind_text(s, at, p.as_string().data(),
                                   static_cast<int>(p.as_string().size()), SQLITE_TRANSIENT);
        if (rc != SQLITE_OK) return db.error(rc, "binding params");
    }
    return {};
}

class SqliteReadOperator final : public SourceOperator {
public:
    SqliteReadOperator(SqliteDb db, SqliteStmt stmt, SchemaRef schema,
                       std::vector<Declared> declared, const OpenContext& ctx,
                       std::uint64_t records)
        : db_(std::move(db)), stmt_(std::move(stmt)), schema_(std::move(schema)),
          declared_(std::move(declared)), batch_size_(std::max<std::size_t>(1, ctx.batch_size)),
          run_(ctx.run), records_(records) {}

    Result<bool> next(Emitter& out) override {
        if (done_ || (run_ && (run_->stop_requested() || run_->cancelled()))) return false;
        sqlite3_stmt* s = stmt_.get();
        Batch batch(schema_, batch_size_);
        Arena& arena = batch.arena();
        const int width = static_cast<int>(schema_->size());
        while (batch.rows() < batch_size_) {
            const int rc = sqlite3_step(s);
            if (rc == SQLITE_DONE) {
                done_ = true;
                break;
            }
            if (rc != SQLITE_ROW) return fail(db_.error(rc, "reading"));
            std::span<Value> row = batch.append_row();
            for (int c = 0; c < width; ++c) {
                Result<Value> v = column(s, c, arena);
                if (!v) return fail(std::move(v).error());
                row[c] = *v;
            }
        }
        records_ += batch.rows();
        if (!batch.empty()) out.emit(std::move(batch));
        if (done_) (void)db_.exec("COMMIT");
        return !done_;
    }

    Result<std::string> checkpoint(const Checkpoint&) override {
        return fmt::format("sqliteread1 records={}", records_);
    }

private:
    Result<Value> column(sqlite3_stmt* s, int c, Arena& arena) {
        switch (sqlite3_column_type(s, c)) {
        case SQLITE_NULL:
            return Value::null();
        case SQLITE_INTEGER: {
            const sqlite3_int64 i = sqlite3_column_int64(s, c);
            if (declared_[c] == Declared::Bool && (i == 0 || i == 1)) return Value::boolean(i == 1);
            return Value::integer(i);
        }
        case SQLITE_FLOAT:
            return Value::real(sqlite3_column_double(s, c));
        case SQLITE_BLOB: {
            // Bytes, not text: as hex after \x, as postgres.read gives bytea, rather than
            // bytes that are not UTF-8 (which JSON writers must replace).
            const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, c));
            const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, c));
            char* out = static_cast<char*>(arena.allocate(2 + 2 * n, 1));
            out[0] = '\\';
            out[1] = 'x';
            write_hex(out + 2, p, n);
            return Value::string(std::string_view(out, 2 + 2 * n));
        }
        default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
            const std::string_view text(p ? p : "",
                                        static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
            if (declared_[c] == Declared::Json) {
                Result<Value> v = parser_.parse(text, arena);
                if (v) return v;
            }
            return Value::string(arena.copy(text));
        }
        }
    }

    SqliteDb db_;
    SqliteStmt stmt_;
    SchemaRef schema_;
    std::vector<Declared> declared_;
    std::size_t batch_size_;
    RunContext* run_;
    std::uint64_t records_;
    bool done_ = false;
    json::Parser parser_;
};

class SqliteReadStage final : public Stage, public ConnectionCheck {
public:
    explicit SqliteReadStage(SqliteReadConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        std::uint64_t skip = 0;
        if (ctx.resume) {
            auto t = CheckpointText::parse(*ctx.resume, "sqliteread1", {"records"},
                                           "a sqlite.read checkpoint");
            if (!t) return std::move(t).error();
            auto n = t->number("records");
            if (!n) return std::move(n).error();
            skip = *n;
        }
        auto db = SqliteDb::open(config_.path, false, ctx.stage_id, ctx.run);
        if (!db) return std::move(db).error();
        // One snapshot for the whole read.
        CONVEYOR_TRY(db->exec("BEGIN"));
        auto stmt = db->prepare(config_.query);
        if (!stmt) return fail(std::move(stmt).error().in_stage(ctx.stage_id));
        sqlite3_stmt* s = stmt->get();
        CONVEYOR_TRY(bind_params(*db, s, config_.params));
        std::vector<std::string> names;
        std::vector<Declared> declared;
        for (int c = 0; c < sqlite3_column_count(s); ++c) {
            names.emplace_back(sqlite3_column_name(s, c));
            declared.push_back(declared_of(sqlite3_column_decltype(s, c)));
        }
        for (std::uint64_t i = 0; i < skip; ++i) {
            const int rc = sqlite3_step(s);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) return fail(db->error(rc, "reading"));
        }
        // A name the result repeats ("SELECT 1 AS a, 2 AS a") gets a suffix, as a CSV header's.
        SchemaRef schema = make_schema(recordio::csv::normalise_header(std::move(names)));
        auto op = std::make_unique<SqliteReadOperator>(std::move(*db), std::move(*stmt), schema,
                                                       std::move(declared), ctx, skip);
        OpenedStage opened(std::unique_ptr<SourceOperator>(std::move(op)), std::move(schema));
        opened.fixed_schema = true;
        opened.checkpoints = true;
        return opened;
    }

    [[nodiscard]] Status check_connection() const override {
        auto db = SqliteDb::open(config_.path, false, "");
        if (!db) return std::move(db).error();
        auto stmt = db->prepare(config_.query); // a missing table or column fails here
        if (!stmt) return std::move(stmt).error();
        return {};
    }

private:
    SqliteReadConfig config_;
};

const OptionTable<SqliteReadOptions>& sqlite_read_options() {
    static const auto table =
        OptionTable<SqliteReadOptions>()
            .add("path", &SqliteReadOptions::path,
                 {.description = "The SQLite database file.", .required = true, .min_length = 1})
            .add("query", &SqliteReadOptions::query,
                 {.description = "The SELECT to read; ?1, ?2, ... (or ?) are bound to 'params'. "
                                 "Give it an ORDER BY for --resume to continue at the right row.",
                  .example = "\"SELECT id, name FROM users WHERE country = ? ORDER BY id\""})
            .add("table", &SqliteReadOptions::table,
                 {.description = "Read every column of this table, in rowid order; instead of "
                                 "'query'."})
            .add("params", &SqliteReadOptions::params,
                 {.description = "Values bound to the parameters of 'query' (never put into its "
                                 "text).",
                  .example = "[\"DE\", 100]"});
    return table;
}

std::unique_ptr<Stage> build_sqlite_read(BuildContext& ctx, const SqliteReadOptions& o) {
    SqliteReadConfig config;
    config.path = o.path;
    if (o.query.has_value() == o.table.has_value())
        ctx.error(o.query ? "table" : "query", "give either 'query' or 'table'");
    if (o.query) config.query = *o.query;
    if (o.table) config.query = "SELECT * FROM " + SqliteDb::quote_ident(*o.table);
    if (!o.params.is_null()) {
        if (!o.params.is_list() || o.table) {
            ctx.error("params", "'params' is a list of values for the parameters of 'query'");
        } else {
            for (const OptionValue& p : o.params.as_list()) {
                if (p.is_list() || p.is_table())
                    ctx.error("params", "each of 'params' is a string, number or boolean");
                config.params.push_back(p);
            }
        }
    }
    if (ctx.failed()) return nullptr;
    return std::make_unique<SqliteReadStage>(std::move(config));
}

} // namespace

FunctionDescriptor sqlite_read_descriptor() {
    FunctionDescriptor fn;
    fn.name = "sqlite.read";
    fn.role = StageRole::Source;
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.summary = "Read the rows of a SQLite query or table";
    fn.description =
        "Reads the rows of 'query' (parameters bound, never interpolated) or of 'table' from "
        "a SQLite database file, in one read transaction. INTEGER and REAL are numbers, TEXT "
        "strings (BLOBs their bytes as text), NULL null; columns declared BOOLEAN give "
        "true/false and JSON nested values. A missing file exits 66; a missing table or column "
        "78.";
    fn.options = sqlite_read_options().specs();
    fn.factory = bind_options(sqlite_read_options(), build_sqlite_read);
    return fn;
}

} // namespace conveyor::plugins::sqlite
