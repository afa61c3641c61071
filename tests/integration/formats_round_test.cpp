// Data formats through the binary, as a user meets them: what a round trip (csv -> csv,
// json -> json, csv -> json -> csv) must leave alone, and compressed files as gzip -d takes
// them. Compared with what Miller (mlr 6) keeps; data_round_test, miller_jobs_test,
// relaxed_numbers_test and compression_test cover the rest.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <chrono>
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

TEST(FormatsRound, JsonNumbersBeyondADoubleKeepTheirDigits) {
    // 1e400 is a JSON number (RFC 8259 leaves the range to implementations); Miller keeps its
    // text. conveyor stopped the whole file with exit 65 ("number is too large for a double").
    test::TempDir dir;
    const std::string jsonl = "{\"id\":1,\"x\":1e400,\"y\":null}\n"
                              "{\"id\":2,\"x\":-123.5E+100000,\"y\":[1E999,{\"z\":-1e400}]}\n"
                              "{\"id\":3,\"x\":1.50,\"y\":1e-400}\n";
    const std::string in = dir.write("in.jsonl", jsonl);
    auto r = convert(dir, "json.read", in, "", "json.write", dir.file("out.jsonl"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")), jsonl);

    // Also through CSV, as their digits (mlr --ijson --ocsv writes 1e400 too).
    r = convert(dir, "json.read", in, "", "csv.write", dir.file("out.csv"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "id,x,y\n1,1e400,\n2,-123.5E+100000,\"[1E999,{\"\"z\"\":-1e400}]\"\n"
              "3,1.50,1e-400\n");

    // A record array, pretty or not, keeps them too; arithmetic sees infinity.
    const std::string array = dir.write("in.json", "[{\"x\":1e400},{\"x\":5}]");
    const std::string file = dir.write(
        "f.toml",
        stage_toml("in", "json.read", "", "path = \"" + array + "\"") +
            stage_toml("f", "filter.apply", "\"in\"", "expression = \"x > 1e300\"") +
            stage_toml("out", "json.write", "\"f\"", "path = \"" + dir.file("big.json") + "\""));
    r = test::run_conveyor({"run", "-q", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("big.json")), "[\n{\"x\":1e400}\n]\n");

    // Two such numbers are one infinity as doubles, but two values (distinct.apply keeps both;
    // value_key's encode_key).
    const std::string two = dir.write("two.jsonl", "{\"x\":1e400}\n{\"x\":1e500}\n{\"x\":1e400}\n");
    const std::string d =
        dir.write("d.toml", stage_toml("in", "json.read", "", "path = \"" + two + "\"") +
                                stage_toml("d", "distinct.apply", "\"in\"", "") +
                                stage_toml("out", "json.write", "\"d\"",
                                           "path = \"" + dir.file("d.jsonl") + "\""));
    r = test::run_conveyor({"run", "-q", d});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("d.jsonl")), "{\"x\":1e400}\n{\"x\":1e500}\n");
}

TEST(FormatsRound, AFileOfVeryManyColumnsIsWrittenBackInLinearTime) {
    // csv.write built its header by searching the names so far for each name: with 200k
    // columns a csv -> csv run was still in its stage's open() after two minutes (mlr: about a
    // second). 300k columns take a few seconds now; the old way, minutes: the timeout tells.
    test::TempDir dir;
    constexpr int kColumns = 300000;
    std::string header, row;
    for (int c = 0; c < kColumns; ++c) {
        header += (c ? ",c" : "c") + std::to_string(c);
        row += (c ? "," : "") + std::to_string(c % 1000);
    }
    const std::string csv = header + "\n" + row + "\n" + row + "\n";
    const std::string in = dir.write("wide.csv", csv);
    const std::string file =
        dir.write("p.toml", stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                                stage_toml("out", "csv.write", "\"in\"",
                                           "path = \"" + dir.file("out.csv") + "\""));
    test::ProcessOptions opts;
    opts.timeout = std::chrono::seconds(60);
    auto r = test::run_conveyor({"run", "-q", file}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), csv);
}

/// `gzip -c` of `text`.
std::string gzip(const test::TempDir& dir, const std::string& text) {
    const std::string plain = dir.write("plain.tmp", text);
    auto gz = test::run_process({"/bin/sh", "-c", "gzip -c '" + plain + "'"});
    EXPECT_EQ(gz.exit_code, 0) << gz.err;
    return gz.out;
}

TEST(FormatsRound, AGzipFilePaddedWithZerosReadsAsGzipDecompressesIt) {
    // Zero bytes after the last member (a tape's or a block device's padding): gzip -d and
    // Python's gzip read such a file; conveyor refused it as "corrupt gzip data (incorrect
    // header check)".
    test::TempDir dir;
    const std::string csv = test::items_csv(3000);
    const std::string gz = gzip(dir, csv);
    const std::string padded = dir.write("padded.csv.gz", gz + gz + std::string(70000, '\0'));
    auto r = convert(dir, "csv.read", padded, "", "csv.write", dir.file("out.csv"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), csv + csv); // both members (the second
                                                                // header is a record)

    // Anything but zeros after the archive is refused, located, and nothing is written (gzip -d
    // drops it with a warning): here text, and text after the zeros.
    for (const std::string& tail : {std::string("id,name\n9,n9\n"), std::string(100, '\0') + "x"}) {
        const std::string bad = dir.write("bad.csv.gz", gz + tail);
        r = convert(dir, "csv.read", bad, "", "csv.write", dir.file("bad.csv"));
        EXPECT_EQ(r.exit_code, 65) << r.err;
        EXPECT_THAT(r.err, HasSubstr("bad.csv.gz: corrupt gzip data (data after the "));
        const std::size_t at = gz.size() + (tail[0] == '\0' ? 100 : 0); // where it starts
        EXPECT_THAT(r.err, HasSubstr(" at byte " + std::to_string(at) + " of the compressed"));
        EXPECT_FALSE(test::file_exists(dir.file("bad.csv")));
    }
}

} // namespace
} // namespace conveyor
