// json.read checkpoints (`conveyor run --resume`): a read of JSON lines or of an array of
// records, cut after any record and resumed from the position checkpoint() reported, produces
// exactly the records of an uninterrupted read, and reports errors at the same line and column.

#include "json_test_util.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace conveyor::plugins::json {

using namespace recordio::json;
namespace {

using test_util::to_jsonl;

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

/// What one open() of the stage and some next() calls produced.
struct Part {
    std::string records; ///< one JSON object per line
    std::size_t count = 0;
    std::optional<Error> error; ///< from open() or next()
    bool checkpoints = false;   ///< OpenedStage::checkpoints
    SchemaRef initial_schema;
    std::string position; ///< checkpoint() after the last next()
    bool ended = false;
};

/// Opens `stage` (resuming from `resume` when set) and calls next() until at least `stop_after`
/// records came out, the input ended or an error came; then asks for a checkpoint.
Part read_part(const Stage& stage, std::size_t batch_size, std::optional<std::string> resume,
               std::size_t stop_after = kAll, RunContext* run = nullptr) {
    RunContext local;
    OpenContext ctx;
    ctx.stage_id = "read";
    ctx.batch_size = batch_size;
    ctx.run = run ? run : &local;
    ctx.resume = std::move(resume);
    conveyor::test::SourceRun got = conveyor::test::run_source(stage, ctx, stop_after, true);
    return {to_jsonl(got.batches),
            got.records,
            std::move(got.error),
            got.checkpoints,
            std::move(got.schema),
            std::move(got.position),
            got.ended};
}

/// Records that break naive splitting (brackets and quotes in strings, escapes, nesting), of
/// varying size, and whose keys come in orders a batch cannot follow (so records are carried
/// over to the next batch).
std::vector<std::string> records(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string id = std::to_string(i);
        switch (i % 5) {
        case 0:
            out.push_back(R"({"id":)" + id + R"(,"text":"brackets } ] { [ \" inside"})");
            break;
        case 1:
            out.push_back(R"({"text":"first","id":)" + id + R"(,"n":1.50})"); // other order
            break;
        case 2:
            out.push_back(R"({"id":)" + id + R"(,"nested":{"a":[1,[2,{"x":"]"}]]},"s":")" +
                          std::string(i % 37, 'w') + R"("})");
            break;
        case 3:
            out.push_back(R"({"id":)" + id + R"(,"text":"ends with backslash \\","z":null})");
            break;
        default:
            out.push_back(R"({"id":)" + id + R"(,"e":"\u00e9 \ud83d\ude00","t":true})");
            break;
        }
    }
    return out;
}

std::string as_array(const std::vector<std::string>& recs) {
    std::string doc = "\xEF\xBB\xBF[\n";
    for (std::size_t i = 0; i < recs.size(); ++i)
        doc += "  " + recs[i] + (i + 1 < recs.size() ? (i % 3 ? ",\n" : " ,\r\n\n") : "\n");
    return doc + "]\n";
}

std::string as_lines(const std::vector<std::string>& recs) {
    std::string doc = "\xEF\xBB\xBF";
    for (std::size_t i = 0; i < recs.size(); ++i) {
        doc += recs[i] + (i % 2 ? "\r\n" : "\n");
        if (i % 7 == 3) doc += "\n   \n"; // blank lines are skipped
    }
    return doc;
}

class JsonResume : public ::testing::Test {
protected:
    std::unique_ptr<Stage> stage_for(const std::string& text, JsonFormat format,
                                     std::size_t block = 1 << 20) {
        path_ = dir_.write(format == JsonFormat::Jsonl ? "data.jsonl" : "data.json", text);
        return make_json_read(JsonReadConfig{path_, format, block});
    }

    /// Cuts a read of `stage` after about k records for every k in `cuts` and resumes it:
    /// the two parts together must be exactly `all`.
    static void expect_resumes(const Stage& stage, const Part& all, std::size_t batch,
                               const std::vector<std::size_t>& cuts) {
        for (std::size_t k : cuts) {
            SCOPED_TRACE("cut after " + std::to_string(k) + ", batch " + std::to_string(batch));
            Part first = read_part(stage, batch, std::nullopt, k);
            ASSERT_FALSE(first.error) << first.error->to_string();
            EXPECT_TRUE(first.checkpoints);
            Part rest = read_part(stage, batch, first.position);
            ASSERT_FALSE(rest.error) << rest.error->to_string() << "\nposition " << first.position;
            EXPECT_TRUE(rest.checkpoints);
            EXPECT_TRUE(rest.ended);
            EXPECT_EQ(first.count + rest.count, all.count) << first.position;
            EXPECT_EQ(first.records + rest.records, all.records) << first.position;

            if (first.count < all.count) {
                // A resumed run can be cut and resumed again.
                Part second = read_part(stage, batch, first.position, 1);
                ASSERT_FALSE(second.error) << second.error->to_string();
                Part third = read_part(stage, batch, second.position);
                ASSERT_FALSE(third.error) << third.error->to_string();
                EXPECT_EQ(first.records + second.records + third.records, all.records);
            }
        }
    }

    std::string path_;
    test::TempDir dir_;
};

TEST_F(JsonResume, ArrayOfRecordsContinuesAfterTheLastEmittedElement) {
    const std::string doc = as_array(records(150));
    for (std::size_t block : {std::size_t{7}, std::size_t{64}, std::size_t{1} << 20}) {
        auto stage = stage_for(doc, JsonFormat::Records, block);
        const Part all = read_part(*stage, 1024, std::nullopt);
        ASSERT_FALSE(all.error) << all.error->to_string();
        ASSERT_EQ(all.count, 150u);
        for (std::size_t batch : {std::size_t{1}, std::size_t{4}, std::size_t{50}})
            expect_resumes(*stage, all, batch, {0, 1, 2, 3, 9, 77, 149, 150});
    }
}

TEST_F(JsonResume, JsonLinesContinueAfterTheLastEmittedLine) {
    const std::string doc = as_lines(records(150));
    for (std::size_t block : {std::size_t{7}, std::size_t{64}, std::size_t{1} << 20}) {
        auto stage = stage_for(doc, JsonFormat::Jsonl, block);
        const Part all = read_part(*stage, 1024, std::nullopt);
        ASSERT_FALSE(all.error) << all.error->to_string();
        ASSERT_EQ(all.count, 150u);
        for (std::size_t batch : {std::size_t{1}, std::size_t{4}, std::size_t{50}})
            expect_resumes(*stage, all, batch, {0, 1, 2, 3, 9, 77, 149, 150});
    }
    // The last line without a line break.
    auto stage = stage_for("{\"a\":1}\n{\"a\":2}", JsonFormat::Jsonl, 3);
    const Part all = read_part(*stage, 1024, std::nullopt);
    ASSERT_EQ(all.count, 2u);
    expect_resumes(*stage, all, 1, {0, 1, 2});
}

TEST_F(JsonResume, TheInitialSchemaIsThatOfTheFirstRecordAfterThePosition) {
    auto stage = stage_for("[{\"a\":1},{\"b\":2},{\"c\":3}]", JsonFormat::Records, 4);
    Part first = read_part(*stage, 1, std::nullopt, 1);
    EXPECT_EQ(first.initial_schema->names(), std::vector<std::string>{"a"});
    Part rest = read_part(*stage, 1, first.position);
    ASSERT_FALSE(rest.error);
    EXPECT_EQ(rest.initial_schema->names(), std::vector<std::string>{"b"});
    EXPECT_EQ(rest.records, "{\"b\":2}\n{\"c\":3}\n");
}

TEST_F(JsonResume, PositionFormat) {
    auto stage = stage_for("[\n {\"a\":1},\n {\"a\":2}\n]\n", JsonFormat::Records);
    Part first = read_part(*stage, 1, std::nullopt, 1);
    // Just after the first element's '}': byte 10, line 2, column 9.
    EXPECT_EQ(first.position.rfind("json1 offset=10 line=2 column=9 state=element records=1 "
                                   "check=",
                                   0),
              0u)
        << first.position;
    auto lines = stage_for("{\"a\":1}\n{\"a\":2}\n", JsonFormat::Jsonl);
    Part l = read_part(*lines, 1, std::nullopt, 1);
    EXPECT_EQ(l.position.rfind("json1 offset=8 line=2 column=1 state=line records=1 check=", 0), 0u)
        << l.position;
}

TEST_F(JsonResume, ErrorPositionsAfterAResumeAreThoseOfAFullRead) {
    struct Case {
        std::string name;
        std::string doc;
        JsonFormat format;
    };
    const std::vector<std::string> recs = records(80);
    std::string bad_line = as_lines(recs) + "{\"id\": 80,, }\n" + recs[0] + "\n";
    std::string bad_element = as_array(recs);
    bad_element.insert(bad_element.size() - 2, ",\n  {\"id\": 80,\n \"x\": tru }");
    std::string garbage_between = as_array(recs);
    garbage_between.insert(garbage_between.size() - 2, "\n  x");
    std::string truncated = as_array(recs);
    truncated.resize(truncated.size() - 2);
    std::string not_object = as_array(recs);
    not_object.insert(not_object.size() - 2, ",\n  [1,2]");
    const std::vector<Case> cases = {
        {"bad line", bad_line, JsonFormat::Jsonl},
        {"bad element", bad_element, JsonFormat::Records},
        {"garbage between elements", garbage_between, JsonFormat::Records},
        {"truncated array", truncated, JsonFormat::Records},
        {"element not an object", not_object, JsonFormat::Records},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        auto stage = stage_for(c.doc, c.format, 16);
        const Part full = read_part(*stage, 6, std::nullopt);
        ASSERT_TRUE(full.error);
        EXPECT_EQ(full.error->kind, ErrorKind::Data);
        EXPECT_EQ(full.count, 80u);
        for (std::size_t k : {std::size_t{0}, std::size_t{5}, std::size_t{70}}) {
            Part first = read_part(*stage, 6, std::nullopt, k);
            ASSERT_FALSE(first.error);
            Part rest = read_part(*stage, 6, first.position);
            ASSERT_TRUE(rest.error) << first.position;
            EXPECT_EQ(rest.error->to_string(), full.error->to_string()) << first.position;
            EXPECT_EQ(first.records + rest.records, full.records);
        }
    }
}

TEST_F(JsonResume, MalformedOrMismatchedPositionsFailOpenWithAConfigError) {
    const std::string doc = as_array(records(30));
    auto stage = stage_for(doc, JsonFormat::Records, 16);
    Part first = read_part(*stage, 2, std::nullopt, 5);
    ASSERT_FALSE(first.error);
    const std::string good = first.position;

    auto replace = [&](const std::string& key, const std::string& value) {
        std::istringstream in(good);
        std::string token, out;
        while (in >> token) {
            if (token.rfind(key + "=", 0) == 0) token = key + "=" + value;
            out += (out.empty() ? "" : " ") + token;
        }
        return out;
    };
    const std::vector<std::string> bad = {
        "",
        "nonsense",
        "json1",
        "csv1 offset=4 line=2 records=0 columns=2 skipped=0 first_skipped=0 check=0",
        good + " line=3",
        good + " what=3",
        replace("offset", "x"),
        replace("offset", "18446744073709551616"),
        replace("offset", "999999"),
        replace("offset", "11"),
        replace("line", "0"),
        replace("column", "0"),
        replace("column", "999999"),
        replace("state", "sideways"),
        replace("state", "line"), // a JSON lines position for an array
        replace("check", "g"),
        replace("check", "1"),
    };
    for (const std::string& text : bad) {
        SCOPED_TRACE(text);
        Part part = read_part(*stage, 2, text);
        ASSERT_TRUE(part.error);
        EXPECT_EQ(part.error->kind, ErrorKind::Config) << part.error->to_string();
        EXPECT_EQ(part.error->stage, "read");
        EXPECT_EQ(part.error->where, path_) << part.error->to_string();
    }
    // The same position given to a JSON lines reader of the same file.
    auto lines = make_json_read(JsonReadConfig{path_, JsonFormat::Jsonl});
    Part part = read_part(*lines, 2, good);
    ASSERT_TRUE(part.error);
    EXPECT_EQ(part.error->kind, ErrorKind::Config);

    // The file changed before the position.
    std::string changed = doc;
    changed[20] = changed[20] == 'y' ? 'z' : 'y';
    auto stage2 = stage_for(changed, JsonFormat::Records, 16);
    Part changed_part = read_part(*stage2, 2, good);
    ASSERT_TRUE(changed_part.error);
    EXPECT_NE(changed_part.error->message.find("the file has changed"), std::string::npos);
}

TEST_F(JsonResume, StandardInputAndFollowedFilesTakeNoCheckpoints) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string text = "{\"a\":1}\n";
    ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    RunContext run;
    run.stdin_fd = fds[0];
    auto stdin_stage = make_json_read(JsonReadConfig{"-", JsonFormat::Jsonl});
    Part part = read_part(*stdin_stage, 10, std::nullopt, kAll, &run);
    ASSERT_FALSE(part.error) << part.error->to_string();
    EXPECT_FALSE(part.checkpoints);
    EXPECT_EQ(part.count, 1u);
    Part resumed =
        read_part(*stdin_stage, 10, "json1 offset=0 line=1 column=1 state=line records=0 check=0",
                  kAll, &run);
    ASSERT_TRUE(resumed.error);
    EXPECT_EQ(resumed.error->kind, ErrorKind::Config);
    ::close(fds[0]);

    JsonReadConfig follow{dir_.write("f.jsonl", text), JsonFormat::Jsonl};
    follow.follow = true;
    auto followed = make_json_read(follow);
    Part f = read_part(*followed, 10, "json1 offset=0 line=1 column=1 state=line records=0 check=0",
                       0, &run);
    ASSERT_TRUE(f.error);
    EXPECT_EQ(f.error->kind, ErrorKind::Config);
}

} // namespace
} // namespace conveyor::plugins::json
