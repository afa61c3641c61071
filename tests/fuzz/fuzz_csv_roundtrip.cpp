// csv.write (plugins/csv/csv_write.*) against csv.read's record reader (csv_reader.*): records
// described by the input (the first bytes: delimiter, quote, header row or not, columns, rows
// per batch; then field after field: null, the empty string or text whose bytes lean towards
// delimiters, quotes, CR, LF and a UTF-8 BOM) are written by the stage's operator, as a
// pipeline runs it, to a file, which the reader reads back. Besides crashes and undefined
// behaviour it checks that nothing is lost or changed:
// - read with infer_types off, every record comes back with the same number of fields and the
//   same bytes in each (a null as the empty text, the header row as the names);
// - read with inference on, what tells null from the empty string does: a null is null and
//   the empty string a string, except the null of a record of one field, which csv.write writes
//   as "" so that the record is not an empty line (readers skip those).

#include "conveyor/core/batch.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "conveyor/recordio/csv_write.hpp"
#include "conveyor/stage/emitter.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <variant>
#include <vector>

namespace {

using conveyor::Value;
namespace csv = conveyor::recordio::csv;

/// A broken promise: says which (the crash report's stack has no line for an inlined check).
void check(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    std::abort();
}
#define CHECK(x) check((x), __LINE__)

struct Bytes {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
};

/// One field to write: nullopt is null.
using Field = std::optional<std::string>;

/// Text that leans towards the bytes CSV treats specially.
std::string text(Bytes& in, char delimiter, char quote) {
    const std::size_t len = in.byte() % 12;
    std::string s;
    for (std::size_t i = 0; i < len && in.n > 0; ++i) {
        const std::uint8_t b = in.byte();
        static constexpr char kBom[] = "\xEF\xBB\xBF";
        switch (b % 16) {
        case 0:
            s += delimiter;
            break;
        case 1:
            s += quote;
            break;
        case 2:
            s += '\r';
            break;
        case 3:
            s += '\n';
            break;
        case 4:
            s += "\r\n";
            break;
        case 5:
            s += kBom;
            break;
        case 6:
            s += ' ';
            break;
        case 7:
            s += '\0';
            break;
        default:
            s += static_cast<char>(b);
            break;
        }
    }
    return s;
}

Field field(Bytes& in, char delimiter, char quote) {
    switch (in.byte() % 4) {
    case 0:
        return std::nullopt;
    case 1:
        return std::string();
    default:
        return text(in, delimiter, quote);
    }
}

/// A directory of this process's own for the output (tmpfs when there is one: a fsync there
/// costs nothing), removed when the process exits normally.
class OutputDir {
public:
    OutputDir() {
        const std::filesystem::path base = std::filesystem::exists("/dev/shm")
                                               ? "/dev/shm"
                                               : std::filesystem::temp_directory_path();
        dir_ = base / ("conveyor-fuzz-csv-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "out.csv").string();
    }
    OutputDir(const OutputDir&) = delete;
    OutputDir& operator=(const OutputDir&) = delete;
    ~OutputDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::filesystem::path dir_;
    std::string path_;
};

const std::string& output_path() {
    static const OutputDir dir;
    return dir.path();
}

/// Reads `path` with the dialect; every record's fields as they came.
std::vector<std::vector<Value>> read_back(const std::string& path, char delimiter, char quote,
                                          bool infer, conveyor::Batch& keep) {
    auto file = conveyor::InputFile::open(path, nullptr);
    CHECK(file.ok());
    csv::ReaderConfig config;
    config.delimiter = delimiter;
    config.quote = quote;
    config.infer_types = infer;
    csv::CsvReader reader(std::move(*file), config);
    reader.attach(&keep);
    std::vector<std::vector<Value>> records;
    std::vector<Value> fields;
    for (;;) {
        auto more = reader.next_record(fields);
        if (!more.ok()) std::fprintf(stderr, "%s\n", more.error().to_string().c_str());
        CHECK(more.ok());
        if (!*more) break;
        records.push_back(fields);
    }
    return records;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Bytes in{data, size};
    const std::uint8_t dialect = in.byte();
    static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
    const char delimiter = kDelimiters[dialect & 3];
    const char quote = (dialect & 4) ? '\'' : '"';
    const bool headers = (dialect & 8) == 0;
    const std::size_t columns = 1 + (dialect >> 4) % 4;
    const std::size_t per_batch = 1 + in.byte() % 4;

    std::vector<std::string> names;
    for (std::size_t c = 0; c < columns; ++c)
        names.push_back(text(in, delimiter, quote));
    std::vector<std::vector<Field>> rows;
    while (in.n > 0 && rows.size() < 64) {
        std::vector<Field> row;
        for (std::size_t c = 0; c < columns; ++c)
            row.push_back(field(in, delimiter, quote));
        rows.push_back(std::move(row));
    }

    csv::CsvWriteConfig config;
    config.path = output_path();
    config.headers = headers;
    config.delimiter = delimiter;
    config.quote = quote;
    const std::unique_ptr<conveyor::Stage> stage = csv::make_csv_write_stage(config);
    const conveyor::SchemaRef schema = conveyor::make_schema(names);
    const std::vector<conveyor::SchemaRef> inputs{schema};
    conveyor::OpenContext ctx;
    ctx.stage_id = "save";
    ctx.input_schemas = inputs;
    auto opened = stage->open(ctx);
    CHECK(opened.ok());
    auto op = std::move(std::get<std::unique_ptr<conveyor::Operator>>(opened->op));
    conveyor::CollectingEmitter out;
    for (std::size_t r = 0; r < rows.size(); r += per_batch) {
        conveyor::Batch batch(schema);
        for (std::size_t k = r; k < rows.size() && k < r + per_batch; ++k) {
            std::vector<Value> row;
            for (const Field& f : rows[k])
                row.push_back(f ? Value::string(*f) : Value::null());
            batch.append_row(row);
        }
        CHECK(op->push(0, std::move(batch), out).ok());
    }
    CHECK(op->input_done(0, out).ok());
    CHECK(op->finish(out).ok());
    op.reset();

    // What should come back: the names (when written), then every row.
    std::vector<std::vector<Field>> expected;
    if (headers) expected.emplace_back(names.begin(), names.end());
    expected.insert(expected.end(), rows.begin(), rows.end());

    conveyor::Batch keep;
    const auto plain = read_back(config.path, delimiter, quote, false, keep);
    if (plain.size() != expected.size())
        std::fprintf(stderr, "wrote %zu records, read %zu\n", expected.size(), plain.size());
    CHECK(plain.size() == expected.size());
    for (std::size_t r = 0; r < plain.size(); ++r) {
        CHECK(plain[r].size() == columns);
        for (std::size_t c = 0; c < columns; ++c) {
            CHECK(plain[r][c].is_string());
            CHECK(plain[r][c].as_string() == expected[r][c].value_or(std::string()));
        }
    }
    const auto typed = read_back(config.path, delimiter, quote, true, keep);
    CHECK(typed.size() == expected.size());
    for (std::size_t r = headers ? 1 : 0; r < typed.size(); ++r) {
        for (std::size_t c = 0; c < columns; ++c) {
            const Field& f = expected[r][c];
            const Value& v = typed[r][c];
            if (!f) {
                if (columns == 1)
                    CHECK(v.is_string() && v.as_string().empty());
                else
                    CHECK(v.kind() == conveyor::Kind::Null);
            } else if (f->empty()) {
                CHECK(v.is_string() && v.as_string().empty());
            }
        }
    }
    return 0;
}
