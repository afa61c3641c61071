#include "pg_read.hpp"

#include "conveyor/core/batch.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/stage/checkpoint_text.hpp"
#include "conveyor/stage/connection_check.hpp"
#include "pg_connection.hpp"
#include "pg_timeout_option.hpp"

#include <fmt/format.h>
#include <map>

namespace conveyor::plugins::postgres {

namespace {

constexpr std::string_view kCursor = "conveyor_read";

/// The decoders of a result's columns, from the catalog (one query for all their types).
Result<std::vector<PgDecoder>> decoders_for(PgConnection& conn, const PgResult& r,
                                            NumericAs numeric) {
    std::string oids = "{";
    for (int c = 0; c < r.columns(); ++c)
        oids += fmt::format("{}{}", c ? "," : "", r.type(c));
    oids += "}";
    const std::optional<std::string> param = oids;
    auto types = conn.query(
        "SELECT t.oid::int8, t.typcategory, t.typelem::int8, coalesce(e.typcategory, ' '), "
        "coalesce(e.typdelim, ',') FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem "
        "WHERE t.oid = ANY($1::oid[])",
        std::span(&param, 1));
    if (!types) return std::move(types).error();
    std::map<std::uint32_t, PgDecoder> by_oid;
    for (int i = 0; i < types->rows(); ++i) {
        const auto oid = static_cast<std::uint32_t>(std::stoul(std::string(types->value(i, 0))));
        const char category = types->value(i, 1).empty() ? ' ' : types->value(i, 1)[0];
        const auto elem = static_cast<std::uint32_t>(std::stoul(std::string(types->value(i, 2))));
        std::shared_ptr<const PgDecoder> element;
        if (category == 'A' && elem != 0) {
            const char elem_category = types->value(i, 3).empty() ? ' ' : types->value(i, 3)[0];
            element = std::make_shared<PgDecoder>(
                PgDecoder::for_type(elem, elem_category, nullptr, numeric));
        }
        PgDecoder d = PgDecoder::for_type(oid, category, std::move(element), numeric);
        if (!types->value(i, 4).empty()) d.delimiter = types->value(i, 4)[0];
        by_oid.emplace(oid, std::move(d));
    }
    std::vector<PgDecoder> out;
    for (int c = 0; c < r.columns(); ++c) {
        auto it = by_oid.find(r.type(c));
        out.push_back(it != by_oid.end() ? it->second
                                         : PgDecoder::for_type(r.type(c), ' ', nullptr, numeric));
    }
    return out;
}

/// The server's refusal of the query before it gave a row, with where in the query (see
/// at_query_position). A value it could not take there (a param not of its type, a constant
/// the plan computed) is the pipeline's to change, not bad input data.
Error query_error(Error e, std::string_view sql, std::size_t position, std::size_t prefix) {
    if (e.kind == ErrorKind::Data) {
        e.kind = ErrorKind::Config;
        e.message += " (in 'query' or its 'params')";
    }
    return at_query_position(std::move(e), sql, position, prefix);
}

/// The SELECT for `table`: every column, in primary key order when the table has one (so that
/// a resumed run reads the rows in the same order).
Result<std::string> table_query(PgConnection& conn, const std::string& table) {
    const std::optional<std::string> param = PgConnection::quote_name(table);
    auto keys = conn.query("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                           "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[]) WHERE "
                           "i.indrelid = $1::regclass AND i.indisprimary ORDER BY "
                           "array_position(i.indkey::int2[], a.attnum)",
                           std::span(&param, 1));
    if (!keys) return std::move(keys).error();
    std::string sql = "SELECT * FROM " + *param;
    for (int i = 0; i < keys->rows(); ++i)
        sql += fmt::format("{}{}", i ? ", " : " ORDER BY ",
                           PgConnection::quote_ident(keys->value(i, 0)));
    return sql;
}

class PgReadOperator final : public SourceOperator {
public:
    PgReadOperator(const PgReadConfig& config, PgConnection conn, const OpenContext& ctx)
        : config_(config), conn_(std::move(conn)),
          batch_size_(std::max<std::size_t>(1, ctx.batch_size)), run_(ctx.run) {}

    /// Starts the transaction and the cursor, skips `skip` rows, fetches the first rows (which
    /// give the columns).
    Status start(std::uint64_t skip) {
        std::string sql = config_.query;
        if (!config_.table.empty()) {
            auto q = table_query(conn_, config_.table);
            if (!q) return std::move(q).error();
            sql = std::move(*q);
        }
        CONVEYOR_TRY(conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
        const std::string declare = fmt::format("DECLARE {} NO SCROLL CURSOR FOR ", kCursor);
        auto declared = conn_.query(declare + sql, config_.params);
        if (!declared)
            return query_error(std::move(declared).error(), sql, conn_.last_error_position(),
                               declare.size());
        if (skip > 0) CONVEYOR_TRY(conn_.exec(fmt::format("MOVE FORWARD {} IN {}", skip, kCursor)));
        records_ = skip;
        CONVEYOR_TRY(fetch(false)); // the catalog is asked below, before the next FETCH goes
        std::vector<std::string> names;
        for (int c = 0; c < rows_.columns(); ++c)
            names.emplace_back(rows_.name(c));
        // A name the result repeats ("SELECT 1 AS a, 2 AS a") gets a suffix, as a CSV header's.
        schema_ = make_schema(recordio::csv::normalise_header(std::move(names)));
        auto decoders = decoders_for(conn_, rows_, config_.numeric);
        if (!decoders) return std::move(decoders).error();
        decoders_ = std::move(*decoders);
        if (!done_) CONVEYOR_TRY(fetch_ahead());
        return {};
    }

    [[nodiscard]] const SchemaRef& schema() const noexcept { return schema_; }

    Result<bool> next(Emitter& out) override {
        if (row_ >= rows_.rows()) {
            if (done_ || (run_ && (run_->stop_requested() || run_->cancelled()))) return finish();
            CONVEYOR_TRY(fetch());
            if (rows_.rows() == 0) return finish();
        }
        const int n = static_cast<int>(
            std::min<std::size_t>(batch_size_, static_cast<std::size_t>(rows_.rows() - row_)));
        Batch batch(schema_, static_cast<std::size_t>(n));
        // Text and numbers point into the fetched rows, which the batch keeps.
        batch.keep_alive(rows_.owner());
        Arena& arena = batch.arena();
        const int width = rows_.columns();
        for (int r = row_; r < row_ + n; ++r) {
            std::span<Value> values = batch.append_row();
            for (int c = 0; c < width; ++c) {
                const std::string_view text = rows_.value(r, c);
                if (text.empty() && rows_.is_null(r, c)) {
                    values[c] = Value::null();
                    continue;
                }
                Result<Value> v = decoders_[c].decode(text, arena, parser_, true);
                if (!v) return fail(std::move(v).error());
                values[c] = *v;
            }
        }
        row_ += n;
        records_ += static_cast<std::uint64_t>(n);
        out.emit(std::move(batch));
        return true;
    }

    Result<std::string> checkpoint(const Checkpoint&) override {
        return fmt::format("pgread1 records={}", records_);
    }

    void abort() noexcept override {}

private:
    /// The next rows. The FETCH after them is sent at once, so that the server produces them
    /// while these are decoded (one FETCH in flight at a time).
    Status fetch(bool ahead = true) {
        if (!in_flight_) CONVEYOR_TRY(conn_.send(fetch_sql()));
        auto r = conn_.receive();
        in_flight_ = false;
        if (!r) return std::move(r).error();
        rows_ = std::move(*r);
        row_ = 0;
        if (rows_.rows() < config_.fetch_size)
            done_ = true;
        else if (ahead)
            CONVEYOR_TRY(fetch_ahead());
        return {};
    }

    Status fetch_ahead() {
        CONVEYOR_TRY(conn_.send(fetch_sql()));
        in_flight_ = true;
        return {};
    }

    [[nodiscard]] std::string fetch_sql() const {
        return fmt::format("FETCH FORWARD {} FROM {}", config_.fetch_size, kCursor);
    }

    Result<bool> finish() {
        rows_ = PgResult();
        if (in_flight_) {
            // Stopped early: the FETCH sent ahead is not needed.
            auto r = conn_.receive();
            in_flight_ = false;
            if (!r) return std::move(r).error();
        }
        CONVEYOR_TRY(conn_.exec("COMMIT"));
        return false;
    }

    PgReadConfig config_;
    PgConnection conn_;
    std::size_t batch_size_;
    RunContext* run_;
    SchemaRef schema_;
    std::vector<PgDecoder> decoders_;
    json::Parser parser_;
    PgResult rows_;
    int row_ = 0;
    bool done_ = false;
    bool in_flight_ = false; ///< a FETCH was sent and its rows not received yet
    std::uint64_t records_ = 0;
};

class PgReadStage final : public Stage, public ConnectionCheck {
public:
    explicit PgReadStage(PgReadConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        std::uint64_t skip = 0;
        if (ctx.resume) {
            auto t = CheckpointText::parse(*ctx.resume, "pgread1", {"records"},
                                           "a postgres.read checkpoint");
            if (!t) return std::move(t).error();
            auto n = t->number("records");
            if (!n) return std::move(n).error();
            skip = *n;
        }
        auto conn =
            PgConnection::open(config_.dsn, ctx.stage_id, waits_of(ctx.run, config_.timeout));
        if (!conn) return std::move(conn).error();
        auto op = std::make_unique<PgReadOperator>(config_, std::move(*conn), ctx);
        if (Status s = op->start(skip); !s)
            return fail(std::move(s).error().in_stage(ctx.stage_id));
        SchemaRef schema = op->schema();
        OpenedStage opened(std::unique_ptr<SourceOperator>(std::move(op)), std::move(schema));
        opened.fixed_schema = true;
        opened.checkpoints = true;
        return opened;
    }

    [[nodiscard]] Status check_connection() const override {
        auto conn = PgConnection::open(config_.dsn, "", waits_of(nullptr, config_.timeout));
        if (!conn) return std::move(conn).error();
        std::string sql = config_.query;
        if (!config_.table.empty()) {
            auto q = table_query(*conn, config_.table);
            if (!q) return std::move(q).error();
            sql = std::move(*q);
        }
        // Planned, not run: a missing table or column is reported without reading a row.
        std::vector<std::optional<std::string>> params = config_.params;
        auto r = conn->query("EXPLAIN " + sql, params);
        if (!r)
            return query_error(std::move(r).error(), sql, conn->last_error_position(),
                               std::string_view("EXPLAIN ").size());
        return {};
    }

private:
    PgReadConfig config_;
};

const OptionTable<PgReadOptions>& pg_read_options() {
    static const auto table = [] {
        auto t =
            OptionTable<PgReadOptions>()
                .add("dsn", &PgReadOptions::dsn,
                     {.description = "libpq connection string or URI, usually \"${DATABASE_URL}\" "
                                     "(messages name its host and database, never its password).",
                      .required = true,
                      .min_length = 1,
                      .example = "\"${DATABASE_URL}\""})
                .add("query", &PgReadOptions::query,
                     {.description =
                          "The SELECT to read; $1, $2, ... are bound to 'params'. Give it "
                          "an ORDER BY for --resume to continue at the right row.",
                      .example = "\"SELECT id, name FROM users WHERE country = $1 ORDER BY id\""})
                .add("table", &PgReadOptions::table,
                     {.description = "Read every column of this table (schema.table), in primary "
                                     "key order; instead of 'query'."})
                .add("params", &PgReadOptions::params,
                     {.description = "Values bound to $1, $2, ... of 'query' (never put into its "
                                     "text).",
                      .example = "[\"DE\", 100]"})
                .add("fetch_size", &PgReadOptions::fetch_size,
                     {.description = "Rows fetched from the server per round trip (memory stays "
                                     "bounded by it).",
                      .min = 1,
                      .max = 1000000})
                .add_choice("numeric", &PgReadOptions::numeric,
                            {{"auto", NumericAs::Auto},
                             {"number", NumericAs::Number},
                             {"string", NumericAs::String}},
                            {.description =
                                 "numeric columns: auto (a number when a double holds it "
                                 "exactly, i.e. 15 significant digits, else a string), "
                                 "number (always, keeping the server's digits) or "
                                 "string."});
        add_timeout_option(t);
        return t;
    }();
    return table;
}

std::unique_ptr<Stage> build_pg_read(BuildContext& ctx, const PgReadOptions& o) {
    PgReadConfig config;
    config.dsn = o.dsn;
    if (o.query.has_value() == o.table.has_value())
        ctx.error(o.query ? "table" : "query", "give either 'query' or 'table'");
    if (o.query) config.query = *o.query;
    if (o.table) {
        config.table = *o.table;
        if (config.table.empty()) ctx.error("table", "'table' is empty");
    }
    if (!o.params.is_null()) {
        if (!o.params.is_list()) {
            ctx.error("params", "'params' is a list of values for $1, $2, ...");
        } else {
            if (o.table) ctx.error("params", "'params' are bound to 'query'; 'table' takes none");
            for (const OptionValue& p : o.params.as_list()) {
                if (p.is_null())
                    config.params.emplace_back();
                else if (p.is_string())
                    config.params.emplace_back(p.as_string());
                else if (p.is_bool())
                    config.params.emplace_back(p.as_bool() ? "true" : "false");
                else if (p.is_int())
                    config.params.emplace_back(std::to_string(p.as_int()));
                else if (p.is_double())
                    config.params.emplace_back(fmt::format("{}", p.as_double()));
                else
                    ctx.error("params", "each of 'params' is a string, number or boolean");
            }
        }
    }
    config.fetch_size = o.fetch_size;
    config.numeric = o.numeric;
    config.timeout = o.timeout;
    if (ctx.failed()) return nullptr;
    return std::make_unique<PgReadStage>(std::move(config));
}

} // namespace

FunctionDescriptor pg_read_descriptor() {
    FunctionDescriptor fn;
    fn.name = "postgres.read";
    fn.role = StageRole::Source;
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.summary = "Read the rows of a PostgreSQL query or table";
    fn.description =
        "Streams the rows of 'query' (parameters bound, never interpolated) or of 'table' "
        "through a server-side cursor, 'fetch_size' rows at a time, in one read-only snapshot. "
        "Types: integers and floats are numbers; numeric a number when a double holds it "
        "exactly (else a string; see 'numeric'); bool true/false; date, timestamp and "
        "timestamptz ISO 8601 text (timestamptz in UTC with Z); json and jsonb nested values; "
        "arrays lists; NULL null; everything else its text. Connection failures exit 75 with "
        "the host and the server's message; authentication, unknown tables and columns 78.";
    fn.options = pg_read_options().specs();
    fn.factory = bind_options(pg_read_options(), build_pg_read);
    return fn;
}

} // namespace conveyor::plugins::postgres
