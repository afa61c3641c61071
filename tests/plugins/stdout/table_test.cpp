// stdout.write's table: columns aligned by the width characters take on a terminal.

#include "conveyor/core/batch.hpp"
#include "table.hpp"

#include <gtest/gtest.h>

namespace conveyor::plugins::stdout_sink {
namespace {

Batch batch_of(std::vector<std::string> names, const std::vector<std::vector<std::string>>& rows) {
    Batch b(make_schema(std::move(names)));
    for (const auto& row : rows) {
        std::vector<Value> values;
        for (const std::string& s : row)
            values.push_back(Value::string(b.arena().copy(s)));
        b.append_row(values);
    }
    return b;
}

TEST(StdoutTable, WideCharactersTakeTwoColumnsAndCombiningMarksNone) {
    std::vector<Batch> batches;
    // "日本" is 2 characters but 4 columns; "Zoe\u0301" (e + combining acute) is 3 columns.
    batches.push_back(batch_of({"name", "x"}, {{"日本", "a"}, {"Zoe\xCC\x81", "b"}, {"ab", "c"}}));
    EXPECT_EQ(render_table(batches, 3), "name  x\n"
                                        "----  -\n"
                                        "日本  a\n"
                                        "Zoe\xCC\x81   b\n"
                                        "ab    c\n"
                                        "(3 records)\n");
}

TEST(StdoutTable, LongWideCellsAreCutByColumns) {
    std::vector<Batch> batches;
    batches.push_back(batch_of({"v"}, {{"日本語のテキスト"}}));
    // At most 10 columns: three wide characters (6) and "..." (3); a fourth would make 11.
    EXPECT_EQ(render_table(batches, 1, 10), "v\n---------\n日本語...\n(1 record)\n");
}

TEST(StdoutTable, NoRecordsIsOnlyTheCount) {
    EXPECT_EQ(render_table({}, 0), "(0 records)\n");
}

} // namespace
} // namespace conveyor::plugins::stdout_sink
