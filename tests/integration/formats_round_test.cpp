// Data formats through the binary, as a user meets them: what a round trip (csv -> csv,
// json -> json, csv -> json -> csv) must leave alone, and compressed files as gzip -d takes
// them. Compared with what Miller (mlr 6) keeps; data_round_test, miller_jobs_test,
// relaxed_numbers_test and compression_test cover the rest.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

/// `reader` of `in` (with `read_config`) -> `writer` of `out`, run; the result.
test::ProcessResult convert(const test::TempDir& dir, const std::string& reader,
                            const std::string& in, const std::string& read_config,
                            const std::string& writer, const std::string& out) {
    const std::string file = dir.write(
        "convert.toml", stage_toml("in", reader, "", "path = \"" + in + "\"\n" + read_config) +
                            stage_toml("out", writer, "\"in\"", "path = \"" + out + "\""));
    return test::run_conveyor({"run", "-q", file});
}

TEST(FormatsRound, CsvReadWithoutInferenceWritesEmptyFieldsBackAsTheyWere) {
    // `mlr --csv cat` keeps `a,,b` as it is; read as text, conveyor wrote every empty field
    // back quoted (`a,"",b`), changing the bytes of every row with an empty field.
    test::TempDir dir;
    const std::string csv = "id,code,empty,quoted,last\n"
                            "1,007,,\"\",\n"
                            ",, 5 ,1.50,\"\"\n"
                            "3,\"a,b\",,x,\n";
    const std::string in = dir.write("in.csv", csv);
    auto r = convert(dir, "csv.read", in, "infer_types = false", "csv.write", dir.file("out.csv"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), csv);

    // Both kinds of empty field are the empty string to the other writers (as Miller has it).
    r = convert(dir, "csv.read", in, "infer_types = false", "json.write", dir.file("out.jsonl"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"id\":\"1\",\"code\":\"007\",\"empty\":\"\",\"quoted\":\"\",\"last\":\"\"}\n"
              "{\"id\":\"\",\"code\":\"\",\"empty\":\" 5 \",\"quoted\":\"1.50\",\"last\":\"\"}\n"
              "{\"id\":\"3\",\"code\":\"a,b\",\"empty\":\"\",\"quoted\":\"x\",\"last\":\"\"}\n");

    // With inference (the default) the two stay apart as before: null and "".
    r = convert(dir, "csv.read", in, "", "csv.write", dir.file("typed.csv"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("typed.csv")), csv);
}

} // namespace
} // namespace conveyor
