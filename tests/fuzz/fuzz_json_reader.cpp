// json.read's two halves on arbitrary bytes: the splitter (plugins/json/json_splitter.*) that cuts
// a records array or JSON lines into record texts across blocks, and the parser
// (lib/src/format/json_parser.cpp) that turns each text into Values, then the batch builder that
// gathers records into batches. The first byte picks the format and block size; with its top bit
// set the whole rest is given to the parser alone, as one document. Besides crashes and undefined
// behaviour it checks that what the parser accepts is written back as JSON that parses to the
// same text again (a value read and written keeps its meaning), and that located positions stay
// inside the input, and that the parser's two paths (its flat-object scan and simdjson) agree.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/recordio/json_batch_builder.hpp"
#include "conveyor/recordio/json_splitter.hpp"
#include "fuzz_input.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace json = conveyor::json;
using conveyor::recordio::json::BatchBuilder;
using conveyor::recordio::json::JsonFormat;
using conveyor::recordio::json::JsonSplitter;

/// A broken promise: says which (the crash report's stack has no line for an inlined check).
void check(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    std::abort();
}
#define CHECK(x) check((x), __LINE__)

/// Parses `text`; when it is valid, its JSON writing must parse again and be written the same.
/// The parser's general path (simdjson alone) must read it the same way, or fail the same way.
conveyor::Result<conveyor::Value> parse_and_round_trip(json::Parser& parser, std::string_view text,
                                                       conveyor::Arena& arena) {
    static json::Parser general(json::Parser::Path::General);
    json::ParseError error;
    auto value = parser.parse(text, arena, &error);
    conveyor::Arena general_arena;
    json::ParseError general_error;
    const auto by_general = general.parse(text, general_arena, &general_error);
    CHECK(by_general.ok() == value.ok());
    if (!value.ok()) {
        CHECK(error.offset <= text.size());
        CHECK(error.line >= 1 && error.column >= 1);
        CHECK(general_error.offset == error.offset && general_error.message == error.message);
        return value;
    }
    CHECK(json::to_string(*by_general) == json::to_string(*value));
    const std::string once = json::to_string(*value);
    conveyor::Arena again_arena;
    auto again = parser.parse(once, again_arena);
    CHECK(again.ok());
    CHECK(json::to_string(*again) == once);
    return value;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static conveyor::fuzz::MemoryFile memory;
    static json::Parser parser;

    conveyor::fuzz::Knobs knobs(data, size);
    const std::uint8_t mode = knobs.byte();
    if (mode & 0x80) {
        conveyor::Arena arena;
        (void)parse_and_round_trip(
            parser, std::string_view(reinterpret_cast<const char*>(data), size), arena);
        return 0;
    }

    const JsonFormat format = (mode & 1) ? JsonFormat::Jsonl : JsonFormat::Records;
    // Tiny blocks make records span many reads; the last choice is json.read's usual size.
    std::size_t block_size = (mode & 0x40) ? std::size_t{1} << 16 : ((mode >> 1) & 0x1F) + 1;
    auto file = memory.open(data, size);
    if (!file) return 0;
    // Gzip and zstd input is decoded: the bounds below are on the text, not the archive.
    const std::uint64_t text_size = conveyor::fuzz::MemoryFile::text_size(*file, data, size);
    // A few hundred archive bytes can hold megabytes of text: read a byte at a time, decoding
    // it takes minutes under the sanitizers (a timeout of the harness, not of the splitter).
    if (file->compression() != conveyor::Compression::None)
        block_size = std::max<std::size_t>(block_size, 64);
    JsonSplitter splitter(std::move(*file), format, block_size, nullptr);
    BatchBuilder builder;
    // Records are also parsed where they lie, their buffer held by the batch (as json.read's
    // chunks do): each must still read the same after every read that came after it.
    std::vector<conveyor::Batch> batches;
    std::vector<std::pair<conveyor::Value, std::string>> kept;
    std::uint64_t last_line = 1;
    for (;;) {
        std::string_view text;
        auto status = splitter.next(text);
        if (!status.ok() || *status != JsonSplitter::Status::Record) break;
        CHECK(text.size() <= text_size);
        const JsonSplitter::Position at = splitter.locate(text.data());
        CHECK(at.line >= last_line && at.column >= 1);
        last_line = at.line;
        auto value = parse_and_round_trip(parser, text, builder.arena());
        if (!value.ok() || value->kind() != conveyor::Kind::Object) continue;
        auto in_place = parser.parse_in_place(text, builder.arena());
        CHECK(in_place.ok());
        builder.hold(splitter.buffer(), text.size());
        kept.emplace_back(*in_place, json::to_string(*value));
        if (!builder.add(*in_place)) {
            batches.push_back(builder.build(true));
            CHECK(builder.add(*in_place));
        }
        const JsonSplitter::Mark mark = splitter.mark();
        CHECK(mark.offset <= text_size && mark.line >= at.line);
    }
    batches.push_back(builder.build(false));
    for (const auto& [value, text] : kept)
        CHECK(json::to_string(value) == text);
    return 0;
}
