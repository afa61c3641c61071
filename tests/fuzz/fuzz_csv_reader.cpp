// csv.read's record reader (plugins/csv/csv_reader.*) on arbitrary bytes, with the dialect, type
// inference, block size and record size limit taken from the first bytes. Besides crashes and
// undefined behaviour it checks what the reader promises:
// - values stay valid for as long as their batch (blocks are kept alive, never reused under
//   them): every record is written out as JSON when read and again after the whole input;
// - what it produces is writable as JSON that parses back (inferred numbers keep their text,
//   which must be a JSON number);
// - lines only go forward, and no more bytes are consumed than the input holds (its decoded
//   text when it is gzip or zstd).

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "fuzz_input.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using conveyor::Value;

std::string to_json(const std::vector<Value>& fields) {
    const Value array = Value::array(fields.data(), static_cast<std::uint32_t>(fields.size()));
    std::string out;
    conveyor::json::append_value(out, array);
    return out;
}

/// A broken promise: says which (the crash report's stack has no line for an inlined check).
void check(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    std::abort();
}
#define CHECK(x) check((x), __LINE__)

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static conveyor::fuzz::MemoryFile memory;
    static conveyor::json::Parser parser;

    conveyor::fuzz::Knobs knobs(data, size);
    const std::uint8_t dialect = knobs.byte();
    const std::uint8_t blocks = knobs.byte();
    conveyor::recordio::csv::ReaderConfig config;
    static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
    config.delimiter = kDelimiters[dialect & 3];
    config.quote = (dialect & 4) ? '\'' : '"';
    config.infer_types = (dialect & 8) == 0;
    // Tiny blocks make records cross block boundaries; the default one is covered too.
    config.block_size =
        (blocks & 0x80) ? conveyor::recordio::csv::kDefaultBlockSize : (blocks & 0x3F) + 1;
    if (dialect & 0x10) config.max_record_bytes = 64;
    // As csv.read reads a file of one column: a blank line is a record.
    config.blank_lines_are_records = (dialect & 0x20) != 0;
    if (dialect & 0x40) config.comment = '#'; // csv.read's `comment`
    // quote = "": no field is quoted, so none can be left open.
    const bool quoting = (dialect & 0x80) == 0;
    if (!quoting) config.quote = conveyor::recordio::csv::kNoQuote;

    auto file = memory.open(data, size);
    if (!file) return 0;
    // Gzip and zstd input is decoded: the bounds below are on the text, not the archive.
    const std::uint64_t text_size = conveyor::fuzz::MemoryFile::text_size(*file, data, size);
    // A few hundred archive bytes can hold megabytes of text: read a byte at a time, decoding
    // it takes minutes under the sanitizers (a timeout of the harness, not of the reader).
    if (file->compression() != conveyor::Compression::None)
        config.block_size = std::max<std::size_t>(config.block_size, 64);
    conveyor::recordio::csv::CsvReader reader(std::move(*file), config);
    conveyor::Batch batch;
    reader.attach(&batch);
    std::vector<Value> fields;
    std::vector<std::vector<Value>> records;
    std::vector<std::string> texts;
    std::uint64_t last_line = 0;
    for (;;) {
        auto more = reader.next_record(fields);
        if (!more.ok()) {
            CHECK(quoting || !reader.unterminated());
            if (reader.unterminated()) {
                const std::string_view rest = reader.take_unterminated();
                CHECK(rest.size() <= text_size);
            }
            break;
        }
        if (!*more) break;
        CHECK(reader.record_line() > last_line);
        last_line = reader.record_line();
        CHECK(reader.bytes_consumed() <= text_size);
        CHECK(reader.last_record_text().size() <= text_size);
        texts.push_back(to_json(fields));
        conveyor::Arena arena;
        CHECK(parser.parse(texts.back(), arena).ok());
        records.push_back(fields);
    }
    for (std::size_t i = 0; i < records.size(); ++i)
        CHECK(to_json(records[i]) == texts[i]);
    return 0;
}
