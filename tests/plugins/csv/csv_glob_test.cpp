// csv.read of a glob (stage/file_sequence.hpp): a read cut after any record, in any file, and
// resumed from the position checkpoint() reported gives exactly the records of an uninterrupted
// read; a position whose files changed is refused (the run then starts over).

#include "conveyor/recordio/csv_read.hpp"
#include "csv_test_support.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <limits>

namespace conveyor::recordio::csv {
namespace {

using test::Rows;

struct Part {
    Rows rows;
    std::optional<Error> error;
    bool checkpoints = false;
    SchemaRef schema;
    std::string position;
    bool ended = false;
};

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

/// Opens `stage` (from `resume` when set), calls next() until `stop_after` records came out or
/// the input ended, then asks for a checkpoint.
Part read_part(const Stage& stage, std::size_t batch_size, std::optional<std::string> resume,
               std::size_t stop_after = kAll) {
    OpenContext ctx;
    ctx.stage_id = "stage1";
    ctx.batch_size = batch_size;
    ctx.resume = std::move(resume);
    test::SourceRun got{conveyor::test::run_source(stage, ctx, stop_after, true)};
    return {got.rows(),
            std::move(got.error),
            got.checkpoints,
            std::move(got.schema),
            std::move(got.position),
            got.ended};
}

class CsvGlob : public ::testing::Test {
protected:
    std::unique_ptr<Stage> glob_stage(CsvReadConfig config = {}) {
        config.path = dir_.file("in/*.csv");
        return make_csv_read_stage(std::move(config));
    }

    conveyor::test::TempDir dir_;
};

TEST_F(CsvGlob, ACutAfterAnyRecordOfAnyFileResumesToTheSameRecords) {
    dir_.write("in/a.csv", "id,name\n1,\"x\ny\"\n2,b\n3,c\n");
    dir_.write("in/b.csv", ""); // empty: no header, no records
    dir_.write("in/c.csv", "id,name\r\n4,d\r\n");
    dir_.write("in/d e.csv", "\xEF\xBB\xBFid,name\n5,e\n\n6,f\n7,\"g,h\"\n");
    CsvReadConfig config;
    config.block_size = 5;
    auto stage = glob_stage(config);
    const Part whole = read_part(*stage, 2, std::nullopt);
    ASSERT_FALSE(whole.error) << whole.error->to_string();
    ASSERT_TRUE(whole.checkpoints);
    ASSERT_TRUE(whole.schema);
    EXPECT_EQ(whole.schema->names(), (std::vector<std::string>{"id", "name"}));
    ASSERT_EQ(whole.rows.size(), 7U);
    EXPECT_EQ(whole.rows[3][0], "i:4");
    for (std::size_t batch : {std::size_t{1}, std::size_t{2}, std::size_t{4}}) {
        for (std::size_t k = 0; k <= whole.rows.size(); ++k) {
            SCOPED_TRACE("cut after " + std::to_string(k) + ", batch " + std::to_string(batch));
            const Part first = read_part(*stage, batch, std::nullopt, k);
            ASSERT_FALSE(first.error) << first.error->to_string();
            const Part rest = read_part(*stage, batch, first.position);
            ASSERT_FALSE(rest.error) << rest.error->to_string() << "\n" << first.position;
            EXPECT_TRUE(rest.ended);
            Rows joined = first.rows;
            joined.insert(joined.end(), rest.rows.begin(), rest.rows.end());
            EXPECT_EQ(joined, whole.rows) << first.position;
        }
    }
}

TEST_F(CsvGlob, APositionInFilesThatChangedIsRefused) {
    dir_.write("in/b.csv", "id\n1\n2\n");
    dir_.write("in/c.csv", "id\n3\n4\n");
    auto stage = glob_stage();
    const Part first = read_part(*stage, 1, std::nullopt, 3); // in c.csv
    ASSERT_FALSE(first.error);
    ASSERT_NE(first.position.find("c.csv"), std::string::npos) << first.position;
    dir_.write("in/a.csv", "id\n0\n"); // a file before the one it was reading
    const Part rest = read_part(*stage, 1, first.position);
    ASSERT_TRUE(rest.error);
    EXPECT_EQ(rest.error->kind, ErrorKind::Config);
    EXPECT_NE(rest.error->to_string().find("the files it matches changed"), std::string::npos)
        << rest.error->to_string();
}

TEST_F(CsvGlob, ACompressedFileTurnsCheckpointsOffAndResumeIsRefused) {
    dir_.write("in/a.csv", "id\n1\n");
    // A gzip member holding "id\n2\n" (a raw deflate stream with a minimal header).
    const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x03, 0xcb, 0x4c, 0xe1, 0x32, 0xe2, 0x02, 0x00, 0xcc,
                                0xba, 0x76, 0xe6, 0x05, 0x00, 0x00, 0x00};
    dir_.write("in/b.csv", std::string(reinterpret_cast<const char*>(gz), sizeof gz));
    auto stage = glob_stage();
    const Part whole = read_part(*stage, 4, std::nullopt);
    ASSERT_FALSE(whole.error) << whole.error->to_string();
    EXPECT_FALSE(whole.checkpoints);
    EXPECT_EQ(whole.rows, (Rows{{"i:1"}, {"i:2"}}));
    const Part resumed =
        read_part(*stage, 4, "files1 file=0 before=cbf29ce484222325 name=x inner=y");
    ASSERT_TRUE(resumed.error);
    EXPECT_NE(resumed.error->to_string().find("b.csv"), std::string::npos)
        << resumed.error->to_string();
}

} // namespace
} // namespace conveyor::recordio::csv
