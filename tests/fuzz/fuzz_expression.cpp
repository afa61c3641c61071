// Expressions as a user (or an attacker writing a pipeline) could write them: compile whatever
// the bytes say, and when it compiles, evaluate it against a record with every kind of value.
// A crash, a sanitizer report or unbounded recursion is a bug; errors are expected.

#include "conveyor/expr/expression.hpp"
#include "conveyor/format/json_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace {

struct Fixture {
    conveyor::Arena arena;
    conveyor::SchemaRef schema;
    std::vector<conveyor::Value> row;

    Fixture() {
        conveyor::json::Parser parser;
        auto v = parser.parse(R"({"a": 1, "b": -2.5, "s": "Hello, World", "n": null, "t": true,
            "list": [1, "x", null, [2]], "obj": {"k": {"z": "deep"}}, "ts": "2024-05-01T12:00:00Z",
            "big": 9223372036854775807, "num_text": "42"})",
                              arena);
        std::vector<std::string> names;
        for (const conveyor::Member& m : v->as_object()) {
            names.emplace_back(m.key);
            row.push_back(m.value);
        }
        schema = conveyor::make_schema(std::move(names));
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fixture;
    if (size > 4096) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto compiled = conveyor::expr::Expression::compile(text);
    if (!compiled) return 0;
    (void)compiled->check_fields(*fixture.schema);
    conveyor::expr::Evaluator evaluator(*compiled);
    evaluator.bind(fixture.schema);
    conveyor::Arena scratch;
    (void)evaluator.eval(fixture.row, scratch);
    (void)evaluator.test(fixture.row, scratch);
    return 0;
}
