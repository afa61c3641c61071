// Numbers written with no digit before or after the point (.5, -.5, 5.), as Miller, DuckDB,
// pandas and Python read them: CSV type inference makes them numbers, arithmetic and
// comparisons read them, csv.write keeps their text and json.write writes valid JSON.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;

TEST(RelaxedNumbers, CsvReadsThemAsNumbersAndEveryWriterWritesThemValidly) {
    test::TempDir dir;
    dir.write("in.csv", "id,amount\n1,.5\n2,-.5\n3,5.\n4,\"1,50\"\n5,0.25\n6,inf\n");
    for (const std::string executor : {"dag", "channel", "async"}) {
        dir.write("p.toml",
                  "[global]\nexecutor = \"" + executor + "\"\n" +
                      stage_toml("in", "csv.read", "", "path = \"in.csv\"") +
                      stage_toml("big", "filter.apply", "\"in\"", "expression = \"amount > .4\"") +
                      stage_toml("m", "map.apply", "\"in\"",
                                 "columns = { twice = \"if(is_string(amount), null, amount * 2)\" "
                                 "}") +
                      stage_toml("j", "json.write", "\"m\"", "path = \"out.jsonl\"") +
                      stage_toml("c", "csv.write", "\"m\"", "path = \"out.csv\"") +
                      stage_toml("f", "json.write", "\"big\"", "path = \"big.jsonl\""));
        test::ProcessOptions o;
        o.cwd = dir.path();
        auto r = test::run_conveyor({"run", "-q", "p.toml"}, o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
                  "{\"id\":1,\"amount\":0.5,\"twice\":1.0}\n"
                  "{\"id\":2,\"amount\":-0.5,\"twice\":-1.0}\n"
                  "{\"id\":3,\"amount\":5.0,\"twice\":10.0}\n"
                  "{\"id\":4,\"amount\":\"1,50\",\"twice\":null}\n"
                  "{\"id\":5,\"amount\":0.25,\"twice\":0.5}\n"
                  "{\"id\":6,\"amount\":\"inf\",\"twice\":null}\n")
            << executor;
        EXPECT_EQ(test::read_file(dir.file("out.csv")),
                  "id,amount,twice\n1,.5,1.0\n2,-.5,-1.0\n3,5.,10.0\n4,\"1,50\",\n5,0.25,0.5\n"
                  "6,inf,\n")
            << executor;
        EXPECT_EQ(test::read_file(dir.file("big.jsonl")),
                  "{\"id\":1,\"amount\":0.5}\n{\"id\":3,\"amount\":5.0}\n")
            << executor;
    }
}

} // namespace
} // namespace conveyor
