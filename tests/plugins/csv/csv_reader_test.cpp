#include "conveyor/core/run_context.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "csv_test_support.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <random>
#include <unistd.h>

namespace conveyor::recordio::csv {
namespace {

using test::OptionList;
using test::Rows;
using test::SourceRun;

class CsvRead : public ::testing::Test {
protected:
    /// Writes `text` to data.csv and reads it through csv.read built from `options`.
    SourceRun read(const std::string& text, OptionList options = {}, std::size_t batch = 1024) {
        path_ = dir_.write("data.csv", text);
        options.emplace_back("path", path_);
        auto built = test::build("csv.read", options);
        EXPECT_NE(built.stage, nullptr) << built.diags.to_string();
        if (!built.stage) return {};
        return test::run_source(*built.stage, batch);
    }

    /// The same with the internal block size knob (and everything else from `config`).
    SourceRun read_blocks(const std::string& text, CsvReadConfig config, std::size_t batch = 1024) {
        path_ = dir_.write("blocks.csv", text);
        config.path = path_;
        return test::run_source(*make_csv_read_stage(std::move(config)), batch);
    }

    std::string where(int line) const { return path_ + ":" + std::to_string(line); }

    conveyor::test::TempDir dir_;
    std::string path_;
};

TEST_F(CsvRead, ReadsHeaderAndTypedRecords) {
    const SourceRun r = read("id,name,score\n1,ann,2.50\n2,bob,\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"id", "name", "score"}));
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "s:ann", "n:2.50"}, {"i:2", "s:bob", "null"}}));
}

TEST_F(CsvRead, QuotedFieldsWithDelimitersAndDoubledQuotes) {
    const SourceRun r = read("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"\",\"\"\"\"\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(), (Rows{{"s:x, y", "s:say \"hi\""}, {"s:", "s:\""}}));
}

TEST_F(CsvRead, SimpleQuotedFieldsViewTheInputBlock) {
    // Zero copy: the value points into a kept-alive block, not into the batch arena; only the
    // doubled-quote field is unescaped. We can at least check that strings are contiguous views
    // of the input text by looking at their neighbours.
    const SourceRun r = read("a,b\n\"hello\",world\n");
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.batches.size(), 1u);
    const std::string_view hello = r.batches[0].at(0, 0).as_string();
    const std::string_view world = r.batches[0].at(0, 1).as_string();
    EXPECT_EQ(hello.data() + hello.size() + 2, world.data()); // `",` between them
}

TEST_F(CsvRead, EmbeddedLineBreaksAndLineNumbersAfterThem) {
    const SourceRun ok = read("a,b\n\"one\ntwo\",1\n\"x\r\ny\",2\n");
    ASSERT_FALSE(ok.error) << ok.error->to_string();
    EXPECT_EQ(ok.rows(), (Rows{{"s:one\ntwo", "i:1"}, {"s:x\r\ny", "i:2"}}));

    // Records start on lines 2, 4 and 6; the broken one is on line 6.
    const SourceRun bad = read("a,b\n\"one\ntwo\",1\n\"x\r\ny\",2\n1,2,3\n");
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->kind, ErrorKind::Data);
    EXPECT_EQ(bad.error->where, where(6));
    EXPECT_NE(bad.error->to_string().find(where(6) + ": row has 3 fields, expected 2"),
              std::string::npos)
        << bad.error->to_string();
}

TEST_F(CsvRead, CrLfAndLoneCrLineEnds) {
    EXPECT_EQ(read("a,b\r\n1,2\r\n3,4\r\n").rows(), (Rows{{"i:1", "i:2"}, {"i:3", "i:4"}}));
    EXPECT_EQ(read("a,b\r1,2\r3,4").rows(), (Rows{{"i:1", "i:2"}, {"i:3", "i:4"}}));
    EXPECT_EQ(read("a,b\r1,2\n3,4\r\n").rows(), (Rows{{"i:1", "i:2"}, {"i:3", "i:4"}}));
    const SourceRun bad = read("a,b\r1,2\r3\r");
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->where, where(3));
}

TEST_F(CsvRead, SkipsByteOrderMark) {
    const SourceRun r = read("\xEF\xBB\xBFid,name\n1,x\n");
    EXPECT_EQ(r.names(), (std::vector<std::string>{"id", "name"}));
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "s:x"}}));
}

TEST_F(CsvRead, LastLineWithoutLineBreak) {
    EXPECT_EQ(read("a,b\n1,2").rows(), (Rows{{"i:1", "i:2"}}));
    EXPECT_EQ(read("a,b\n1,\"x\"").rows(), (Rows{{"i:1", "s:x"}}));
    EXPECT_EQ(read("a,b\n1,").rows(), (Rows{{"i:1", "null"}}));
}

TEST_F(CsvRead, BlankLinesAreSkippedAndStillCounted) {
    const SourceRun r = read("\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "i:2"}, {"i:3", "i:4"}}));

    const SourceRun bad = read("a,b\n\n1,2\n\n\n5\n");
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->where, where(6));
}

TEST_F(CsvRead, InAOneColumnFileABlankLineIsARecordWithAnEmptyField) {
    // As Miller and DuckDB read it: skipping the line would lose the record. LF, CRLF and a
    // lone CR, in the middle and at the end; blank lines before the header are still skipped.
    const SourceRun r = read("\n\nname\nalice\n\nbob\r\n\r\ncarol\r\rdave\n\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"name"}));
    EXPECT_EQ(r.rows(), (Rows{{"s:alice"},
                              {"null"},
                              {"s:bob"},
                              {"null"},
                              {"s:carol"},
                              {"null"},
                              {"s:dave"},
                              {"null"}}));
    // Without type inference the field is the bare empty string (csv.write writes it back as
    // an empty field, which a one-column writer quotes); named columns and no header alike.
    const SourceRun text = read("v\n1\n\n2\n", {{"infer_types", false}});
    ASSERT_FALSE(text.error) << text.error->to_string();
    EXPECT_EQ(text.rows(), (Rows{{"s:1"}, {"s:"}, {"s:2"}}));
    const SourceRun named = read("1\n\n2", {{"headers", false}});
    ASSERT_FALSE(named.error) << named.error->to_string();
    EXPECT_EQ(named.rows(), (Rows{{"i:1"}, {"null"}, {"i:2"}}));
    // With two columns a blank line is still nothing.
    EXPECT_EQ(read("a,b\n1,2\n\n3,4\n").rows(), (Rows{{"i:1", "i:2"}, {"i:3", "i:4"}}));
}

TEST_F(CsvRead, RaggedRowsFailByDefaultNamingFileAndLine) {
    const SourceRun r = read("a,b,c\n1,2,3\n1,2,3,4\n");
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, ErrorKind::Data);
    EXPECT_EQ(r.error->where, where(3));
    EXPECT_EQ(r.error->message.rfind("row has 4 fields, expected 3", 0), 0u) << r.error->message;
    EXPECT_NE(r.error->message.find("on_ragged = \"skip\""), std::string::npos);

    const SourceRun shorter = read("a,b,c\n1,2,3\n\n1,2\n");
    ASSERT_TRUE(shorter.error);
    EXPECT_EQ(shorter.error->where, where(4));
    EXPECT_EQ(shorter.error->message.rfind("row has 2 fields, expected 3", 0), 0u);
    EXPECT_NE(shorter.error->message.find("\"pad\""), std::string::npos);
}

TEST_F(CsvRead, RaggedPadFillsShortRowsButNeverDropsData) {
    const SourceRun r = read("a,b,c\n1\n1,2\n1,2,3\n", {{"on_ragged", "pad"}});
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(),
              (Rows{{"i:1", "null", "null"}, {"i:1", "i:2", "null"}, {"i:1", "i:2", "i:3"}}));

    const SourceRun longer = read("a,b\n1,2\n1,2,3\n", {{"on_ragged", "pad"}});
    ASSERT_TRUE(longer.error);
    EXPECT_EQ(longer.error->where, where(3));
    EXPECT_EQ(longer.error->message.rfind("row has 3 fields, expected 2", 0), 0u);
    EXPECT_NE(longer.error->message.find("on_ragged = \"skip\""), std::string::npos);
}

TEST_F(CsvRead, RaggedSkipDropsRowsAndWarnsOnceWithTheCount) {
    test::LogCapture log;
    const SourceRun r = read("a,b\n1,2\n1\n3,4\n1,2,3\n5,6\n", {{"on_ragged", "skip"}}, 2);
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "i:2"}, {"i:3", "i:4"}, {"i:5", "i:6"}}));
    std::vector<std::string> warnings;
    for (const std::string& line : log.lines())
        if (line.find("skipped") != std::string::npos) warnings.push_back(line);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("skipped 2 rows"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find(where(3)), std::string::npos) << warnings[0];
}

TEST_F(CsvRead, UnterminatedQuoteNamesTheLineWhereTheFieldStarted) {
    const SourceRun r = read("a,b\n1,2\n3,\"open\n\nmore\n");
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, ErrorKind::Data);
    EXPECT_EQ(r.error->where, where(3));
    EXPECT_NE(r.error->message.find("never closed"), std::string::npos);

    const SourceRun quoted_line = read("a,b\n1,\"x\ny\",\"z\n");
    ASSERT_TRUE(quoted_line.error);
    EXPECT_EQ(quoted_line.error->where, where(3));
}

TEST_F(CsvRead, QuotesInsideUnquotedFieldsAreLiteral) {
    const SourceRun r = read("a,b\nab\"c,5\"\n\"x\"y,\"q\"\"\"z\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(), (Rows{{"s:ab\"c", "s:5\""}, {"s:xy", "s:q\"z"}}));
}

TEST_F(CsvRead, WithoutHeadersColumnsAreNumbered) {
    const SourceRun r = read("1,x\n2,y\n", {{"headers", false}});
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"column1", "column2"}));
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "s:x"}, {"i:2", "s:y"}}));

    // The first record is data: it is typed and counts against batch_size.
    const SourceRun small = read("1,x\n2,y\n3,z\n", {{"headers", false}}, 2);
    ASSERT_EQ(small.batches.size(), 2u);
    EXPECT_EQ(small.batches[0].rows(), 2u);
    EXPECT_EQ(small.rows().size(), 3u);
}

TEST_F(CsvRead, WithoutHeadersColumnsNameTheFields) {
    const OptionList opts = {{"headers", false}, {"columns", OptionValue::List{"id", "name"}}};
    const SourceRun r = read("1,x\n2,y\n", opts);
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"id", "name"}));
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "s:x"}, {"i:2", "s:y"}}));

    const SourceRun bad = read("1,x,extra\n", opts);
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->where, where(1));
    EXPECT_NE(bad.error->message.find("row has 3 fields, expected 2"), std::string::npos);
    EXPECT_NE(bad.error->message.find("'columns'"), std::string::npos);

    // The names are known before any data is read, even for an empty file.
    const SourceRun empty = read("", opts);
    EXPECT_EQ(empty.names(), (std::vector<std::string>{"id", "name"}));
    EXPECT_TRUE(empty.rows().empty());
}

TEST_F(CsvRead, ColumnsNeedHeadersOff) {
    auto built = test::build("csv.read", {{"path", "x.csv"}, {"columns", OptionValue::List{"a"}}});
    EXPECT_EQ(built.stage, nullptr);
    EXPECT_NE(built.diags.to_string().find("headers = false"), std::string::npos)
        << built.diags.to_string();

    auto dup = test::build(
        "csv.read",
        {{"path", "x.csv"}, {"headers", false}, {"columns", OptionValue::List{"a", "b", "a"}}});
    EXPECT_EQ(dup.stage, nullptr);
    EXPECT_NE(dup.diags.to_string().find("'a' twice"), std::string::npos);
}

TEST_F(CsvRead, DuplicateAndEmptyHeaderNames) {
    test::LogCapture log;
    const SourceRun r = read("a,a,,b,a,a_2\n1,2,3,4,5,6\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"a", "a_3", "column3", "b", "a_4", "a_2"}));
    int warnings = 0;
    for (const std::string& line : log.lines())
        if (line.find("more than once") != std::string::npos) ++warnings;
    EXPECT_EQ(warnings, 2);
}

TEST_F(CsvRead, AnEmptyHeaderCellIsNamedWithAWarning) {
    // `a,,b` became a,column2,b (and a csv.write after it wrote that header) without a word,
    // where a repeated name is warned of.
    test::LogCapture log;
    const SourceRun r = read("a,,b,\n1,2,3,4\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"a", "column2", "b", "column4"}));
    std::vector<std::string> warnings;
    for (const std::string& line : log.lines())
        if (line.find("has no name") != std::string::npos) warnings.push_back(line);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_NE(warnings[0].find(where(1) + ": column 2 has no name in the header; it is called "
                                          "'column2'"),
              std::string::npos)
        << warnings[0];
    EXPECT_NE(warnings[1].find("column 4 has no name"), std::string::npos) << warnings[1];
}

TEST(CsvHeader, Normalise) {
    // The user's own "column2" keeps its name; the empty cell at position 2 goes around it.
    EXPECT_EQ(normalise_header({"x", "", "x", "column2"}),
              (std::vector<std::string>{"x", "column2_2", "x_2", "column2"}));
}

TEST(CsvHeader, GeneratedNamesForEmptyCellsNeverTakeAWrittenName) {
    EXPECT_EQ(normalise_header({"", "", "column2", ""}),
              (std::vector<std::string>{"column1", "column2_2", "column2", "column4"}));
    // The next free suffix, past names the user wrote and names given to repeats.
    EXPECT_EQ(normalise_header({"", "column1", "column1_2", "column1"}),
              (std::vector<std::string>{"column1_4", "column1", "column1_2", "column1_3"}));
}

TEST_F(CsvRead, EmptyHeaderCellBesideAWrittenColumnNameKeepsBothColumns) {
    const SourceRun r = read(",,column2,\n1,2,3,4\n");
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"column1", "column2_2", "column2", "column4"}));
}

TEST_F(CsvRead, HeaderNamesAreNeverTyped) {
    const SourceRun r = read("2024,1.5,\"\"\n1,2,3\n");
    EXPECT_EQ(r.names(), (std::vector<std::string>{"2024", "1.5", "column3"}));
}

TEST_F(CsvRead, OtherDelimitersAndQuotes) {
    const Rows expected = {{"i:1", "s:a b"}, {"i:2", "s:c;d"}};
    EXPECT_EQ(read("x\ty\n1\ta b\n2\tc;d\n", {{"delimiter", "\t"}}).rows(), expected);
    EXPECT_EQ(read("x\ty\n1\ta b\n2\tc;d\n", {{"delimiter", "tab"}}).rows(), expected);
    EXPECT_EQ(read("x;y\n1;a b\n2;\"c;d\"\n", {{"delimiter", ";"}}).rows(), expected);
    EXPECT_EQ(read("x|y\n1|'a b'\n2|'c;d'\n", {{"delimiter", "|"}, {"quote", "'"}}).rows(),
              expected);
    EXPECT_EQ(read("x,y\n1,'it''s'\n", {{"quote", "'"}}).rows(), (Rows{{"i:1", "s:it's"}}));
    // With another quote character the double quote is ordinary text.
    EXPECT_EQ(read("x,y\n1,\"a\n", {{"quote", "'"}}).rows(), (Rows{{"i:1", "s:\"a"}}));
}

TEST_F(CsvRead, WithoutQuotingAQuoteIsTextLikeAnyOther) {
    // quote = "": tab-separated exports (PostgreSQL's text format, Miller's TSV) hold quotes as
    // they are. A quote that starts a field no longer opens a quoted field running on over the
    // next lines, and quotes around a field stay part of it.
    const std::string text = "name\tnote\nalice\t\"quoted\" word\n\"bob\t5\" screen\n"
                             "\"\"\t\"\n\"open\t1\n";
    const SourceRun r = read(text, {{"delimiter", "tab"}, {"quote", ""}});
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(), (Rows{{"s:alice", "s:\"quoted\" word"},
                              {"s:\"bob", "s:5\" screen"},
                              {"s:\"\"", "s:\""},
                              {"s:\"open", "i:1"}}));
    // The same text read with quoting takes the quote before "open" to run to the end.
    EXPECT_TRUE(read(text, {{"delimiter", "tab"}}).error);
    // Blocks of one byte: a field never waits for a closing quote across a block end.
    CsvReadConfig config;
    config.quote = kNoQuote;
    config.block_size = 1;
    const SourceRun small = read_blocks("a,b\n\"x,\"\"y\n", config);
    ASSERT_FALSE(small.error) << small.error->to_string();
    EXPECT_EQ(small.rows(), (Rows{{"s:\"x", "s:\"\"y"}}));
}

TEST_F(CsvRead, QuoteOptionErrors) {
    // "" is no quoting; the NUL byte, two bytes and a line break are refused by name.
    for (const auto& [quote, says] : std::vector<std::pair<std::string, std::string>>{
             {std::string(1, '\0'), "quote = \"\" turns quoting off"},
             {"''", "or \"\" for none"},
             {"\n", "cannot be a line break"},
             {",", "they must differ"}}) {
        auto built = test::build("csv.read", {{"path", "x.csv"}, {"quote", quote}});
        EXPECT_EQ(built.stage, nullptr) << quote;
        EXPECT_NE(built.diags.to_string().find(says), std::string::npos) << built.diags.to_string();
    }
}

TEST_F(CsvRead, ATsvOrTabPathIsReadWithTabsUnlessTheDelimiterIsSet) {
    // A .tsv file read with commas was one field holding every column, and exit 0.
    const Rows expected = {{"i:1", "s:a,b"}};
    for (const std::string name : {"data.tsv", "DATA.TAB", "data.tsv.gz", "data.tab.zst"}) {
        // Only the name matters (the file's first bytes say whether it is compressed).
        const std::string path = dir_.write(name, "x\ty\n1\ta,b\n");
        auto built = test::build("csv.read", {{"path", path}});
        ASSERT_NE(built.stage, nullptr) << built.diags.to_string();
        const SourceRun r = test::run_source(*built.stage, 1024);
        ASSERT_FALSE(r.error) << r.error->to_string();
        EXPECT_EQ(r.names(), (std::vector<std::string>{"x", "y"})) << name;
        EXPECT_EQ(r.rows(), expected) << name;
    }
    // A delimiter the pipeline sets wins; other names keep the comma.
    const std::string tsv = dir_.write("semi.tsv", "x;y\n1;a,b\n");
    auto built = test::build("csv.read", {{"path", tsv}, {"delimiter", ";"}});
    ASSERT_NE(built.stage, nullptr) << built.diags.to_string();
    EXPECT_EQ(test::run_source(*built.stage, 1024).rows(), expected);
    EXPECT_EQ(read("x,y\n1,\"a,b\"\n").rows(), expected);
    EXPECT_EQ(recordio::csv::default_delimiter("-"), ',');
    EXPECT_EQ(recordio::csv::default_delimiter("out/{{ day }}.tsv"), '\t');
    EXPECT_EQ(recordio::csv::default_delimiter("a.tsv.csv"), ',');
}

TEST_F(CsvRead, CommentLinesAreSkippedWithTheirLinesCounted) {
    // `mlr --skip-comments`: the header was "# exported ..." and every column unknown.
    const SourceRun r = read("# exported 2026-03-01\nid,name\n1,ann\n# 2,bob\n3\n",
                             {{"comment", "#"}, {"on_ragged", "error"}});
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->where, where(5)) << "the ragged row's own line, comments counted";
    EXPECT_EQ(read("#\nid\n#x\n1\n", {{"comment", "#"}}).rows(), (Rows{{"i:1"}}));
    // Without the option a '#' line is data.
    EXPECT_EQ(read("id\n#x\n", {}).rows(), (Rows{{"s:#x"}}));
    for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
             {"##", "one character"}, {",", "also the delimiter"}, {"\"", "or the quote"}}) {
        auto built = test::build("csv.read", {{"path", "x.csv"}, {"comment", bad}});
        EXPECT_EQ(built.stage, nullptr) << bad;
        EXPECT_NE(built.diags.to_string().find(why), std::string::npos) << built.diags.to_string();
    }
}

TEST_F(CsvRead, NumbersThatAreNotQuiteNumbersStayStrings) {
    const SourceRun r = read("a,b,c,d,e,f\n1e999,007,+1,inf,0x1F,-0\n");
    EXPECT_EQ(r.rows(), (Rows{{"s:1e999", "s:007", "s:+1", "s:inf", "s:0x1F", "n:-0"}}));
}

TEST_F(CsvRead, APointWithNoDigitOnOneSideIsANumberKeepingItsText) {
    const SourceRun r = read("a,b,c,d\n.5,-.5,5.,\"1,50\"\n");
    EXPECT_EQ(r.rows(), (Rows{{"n:.5", "n:-.5", "n:5.", "s:1,50"}}));
}

TEST_F(CsvRead, EmptyQuotedIsEmptyStringEmptyUnquotedIsNull) {
    EXPECT_EQ(read("a,b,c\n,\"\",x\n").rows(), (Rows{{"null", "s:", "s:x"}}));
}

TEST_F(CsvRead, InferTypesOffKeepsEveryFieldAString) {
    const SourceRun r = read("a,b,c\n1,,2.5\n", {{"infer_types", false}});
    EXPECT_EQ(r.rows(), (Rows{{"s:1", "s:", "s:2.5"}}));
}

TEST_F(CsvRead, InferTypesOffMarksUnquotedEmptyFieldsSoTheyAreWrittenBackEmpty) {
    // Both are the empty string; only the unquoted one is bare_empty() (csv.write keeps it
    // unquoted), also in the last field of a line and of the file.
    const SourceRun r = read("a,b,c\n,\"\",\n\"\",,", {{"infer_types", false}});
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.rows(), (Rows{{"s:", "s:", "s:"}, {"s:", "s:", "s:"}}));
    std::vector<bool> bare;
    for (const Batch& b : r.batches)
        for (std::size_t row = 0; row < b.rows(); ++row)
            for (const Value& v : b.row(row))
                bare.push_back(is_bare_empty(v));
    EXPECT_EQ(bare, (std::vector<bool>{true, false, true, false, true, true}));
}

TEST_F(CsvRead, EmptyFileAndHeaderOnly) {
    const SourceRun empty = read("");
    ASSERT_FALSE(empty.error);
    ASSERT_NE(empty.schema, nullptr);
    EXPECT_EQ(empty.schema->size(), 0u);
    EXPECT_TRUE(empty.rows().empty());

    const SourceRun header_only = read("a,b\n");
    ASSERT_FALSE(header_only.error);
    EXPECT_EQ(header_only.names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(header_only.rows().empty());

    const SourceRun no_newline = read("a,b");
    EXPECT_EQ(no_newline.names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(no_newline.rows().empty());

    const SourceRun headerless_empty = read("\n\n", {{"headers", false}});
    ASSERT_FALSE(headerless_empty.error);
    EXPECT_EQ(headerless_empty.schema->size(), 0u);
}

TEST_F(CsvRead, MissingFileIsNoInputNamingThePath) {
    const std::string missing = dir_.file("nope/missing.csv");
    auto built = test::build("csv.read", {{"path", missing}});
    ASSERT_NE(built.stage, nullptr);
    const SourceRun r = test::run_source(*built.stage);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, ErrorKind::NoInput);
    EXPECT_NE(r.error->to_string().find(missing), std::string::npos) << r.error->to_string();
}

TEST_F(CsvRead, EachNextEmitsOneBatchOfAtMostBatchSize) {
    std::string text = "n\n";
    for (int i = 0; i < 10; ++i)
        text += std::to_string(i) + "\n";
    const SourceRun r = read(text, {}, 3);
    ASSERT_FALSE(r.error);
    std::vector<std::size_t> sizes;
    for (const Batch& b : r.batches)
        sizes.push_back(b.rows());
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 3, 1}));
    EXPECT_EQ(r.next_calls, 4u);
}

TEST_F(CsvRead, ParsesLazilyOneBatchPerCall) {
    std::string text = "n,s\n";
    for (int i = 0; i < 5000; ++i)
        text += std::to_string(i) + ",abc\n";
    path_ = dir_.write("lazy.csv", text);
    auto built = test::build("csv.read", {{"path", path_}});
    StageMetrics metrics("stage1");
    OpenContext ctx;
    ctx.batch_size = 100;
    ctx.metrics = &metrics;
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<SourceOperator>>(opened->op);
    CollectingEmitter out;
    auto more = op->next(out);
    ASSERT_TRUE(more);
    EXPECT_TRUE(*more);
    auto batches = out.take();
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].rows(), 100u);
    EXPECT_EQ(batches[0].at(99, 0).as_int(), 99);
    // Payload: exactly the bytes of the 100 records ("0,abc\n" ... "99,abc\n").
    EXPECT_EQ(batches[0].payload_bytes(), 10 * 6 + 90 * 7u);
    EXPECT_EQ(metrics.bytes_read.load(), text.size()); // one block holds it all

    std::size_t total = 100;
    while (*(more = op->next(out)))
        total += out.take().front().rows();
    for (Batch& b : out.take())
        total += b.rows();
    EXPECT_EQ(total, 5000u);
}

TEST_F(CsvRead, StopRequestPassesOnWhatWasReadThenEnds) {
    path_ = dir_.write("stop.csv", "a\n1\n2\n3\n");
    auto built = test::build("csv.read", {{"path", path_}});
    RunContext run;
    OpenContext ctx;
    ctx.batch_size = 1;
    ctx.run = &run;
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<SourceOperator>>(opened->op);
    CollectingEmitter out;
    ASSERT_TRUE(*op->next(out));
    EXPECT_EQ(out.take().size(), 1u);
    run.request_stop();
    // The whole file was read into the first block: its complete records still go out,
    // nothing more is read, and the input ends.
    std::size_t rows = 0, calls = 0;
    for (;;) {
        auto more = op->next(out);
        ASSERT_TRUE(more);
        for (Batch& b : out.take())
            rows += b.rows();
        if (!*more || ++calls > 10) break;
    }
    EXPECT_EQ(rows, 2u);
}

TEST_F(CsvRead, ReadsStandardInputAndNamesItInErrors) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string text = "a,b\n1,2\n3\n";
    ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    RunContext run;
    run.stdin_fd = fds[0];
    auto built = test::build("csv.read", {{"path", "-"}});
    const SourceRun r = test::run_source(*built.stage, 1, &run); // a failing batch is not emitted
    ::close(fds[0]);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->where, "<stdin>:3");
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "i:2"}}));
}

TEST_F(CsvRead, StreamingModeEmitsWhatHasArrivedFromAPipe) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    auto send = [&](const std::string& text) {
        ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    };
    RunContext run;
    run.stdin_fd = fds[0];
    auto built = test::build("csv.read", {{"path", "-"}});
    send("a,b\n1,2\n3,");
    OpenContext ctx;
    ctx.batch_size = 100;
    ctx.mode = ExecutionMode::Streaming;
    ctx.run = &run;
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<SourceOperator>>(opened->op);
    CollectingEmitter out;

    // One complete record has arrived: it is emitted without waiting for 99 more (a batch-mode
    // reader would block here until the pipe closes).
    ASSERT_TRUE(*op->next(out));
    auto batches = out.take();
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].rows(), 1u);

    send("4\n5,6\n");
    ASSERT_TRUE(*op->next(out));
    batches = out.take();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].rows(), 2u);
    EXPECT_EQ(batches[0].at(0, 1).as_int(), 4);

    ::close(fds[1]);
    auto more = op->next(out);
    ASSERT_TRUE(more);
    EXPECT_FALSE(*more);
    EXPECT_TRUE(out.empty());
    ::close(fds[0]);
}

TEST_F(CsvRead, RecordLargerThanABlock) {
    const std::string big(10000, 'x');
    CsvReadConfig config;
    config.block_size = 16;
    const SourceRun r = read_blocks("a,b\n1,\"" + big + "\"\"\"\n2," + big + "\n", config);
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(), (Rows{{"i:1", "s:" + big + "\""}, {"i:2", "s:" + big}}));
}

TEST_F(CsvRead, OversizedRecordFailsInsteadOfReadingEverything) {
    std::string text = "a,b\n1,2\n3,\"never closed\n";
    for (int i = 0; i < 200; ++i)
        text += "filler line " + std::to_string(i) + "\n";
    CsvReadConfig config;
    config.block_size = 64;
    path_ = dir_.write("open.csv", text);
    config.path = path_;
    auto stage = make_csv_read_stage(config);
    // Through the reader directly, to set its record size limit.
    auto file = InputFile::open(path_, nullptr);
    ASSERT_TRUE(file);
    CsvReader reader(std::move(*file), ReaderConfig{',', '"', true, 64, 1000});
    Batch batch;
    reader.attach(&batch);
    std::vector<Value> fields;
    ASSERT_TRUE(*reader.next_record(fields)); // header
    ASSERT_TRUE(*reader.next_record(fields));
    auto r = reader.next_record(fields);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::Data);
    EXPECT_EQ(r.error().where, where(3));
    EXPECT_NE(r.error().message.find("larger than 1000 bytes"), std::string::npos);
    // Without the limit the same input reports the unclosed quote at the end.
    const SourceRun whole = test::run_source(*stage);
    ASSERT_TRUE(whole.error);
    EXPECT_EQ(whole.error->where, where(3));
    EXPECT_NE(whole.error->message.find("never closed"), std::string::npos);
}

// An independent, obviously-correct (slow) parser of the same dialect, to check the block
// parser against on generated input.
Rows reference_parse(const std::string& s) {
    Rows rows;
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        if (s[i] == '\n') {
            ++i;
            continue;
        }
        if (s[i] == '\r') {
            ++i;
            if (i < n && s[i] == '\n') ++i;
            continue;
        }
        std::vector<std::string> row;
        for (;;) {
            std::string field;
            if (i < n && s[i] == '"') {
                ++i;
                for (;;) {
                    if (i >= n) throw std::runtime_error("unterminated");
                    if (s[i] == '"') {
                        if (i + 1 < n && s[i + 1] == '"') {
                            field += '"';
                            i += 2;
                            continue;
                        }
                        ++i;
                        break;
                    }
                    field += s[i++];
                }
            }
            while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
                field += s[i++];
            row.push_back("s:" + field);
            if (i >= n) break;
            if (s[i] == ',') {
                ++i;
                continue;
            }
            if (s[i++] == '\r' && i < n && s[i] == '\n') ++i;
            break;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// The physical line of byte `offset`: 1 + the line ends (LF, CRLF, lone CR) before it.
int line_of(const std::string& s, std::size_t offset) {
    int line = 1;
    for (std::size_t i = 0; i < offset; ++i)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n'))) ++line;
    return line;
}

std::string generate_csv(std::mt19937& rng, int records) {
    static const std::string kAlphabet = "ab1.-,\"\n\r x";
    std::uniform_int_distribution<int> len(0, 12);
    std::uniform_int_distribution<int> pick(0, static_cast<int>(kAlphabet.size()) - 1);
    std::uniform_int_distribution<int> coin(0, 9);
    static const char* kEnds[] = {"\n", "\r\n", "\r"};
    std::string out;
    for (int r = 0; r < records; ++r) {
        for (int c = 0; c < 3; ++c) {
            if (c) out += ',';
            std::string f;
            for (int k = len(rng); k > 0; --k)
                f += kAlphabet[static_cast<std::size_t>(pick(rng))];
            const bool must_quote =
                f.find_first_of(",\n\r") != std::string::npos || (!f.empty() && f.front() == '"');
            if (must_quote || (f.find('"') != std::string::npos && coin(rng) < 5) ||
                coin(rng) == 0) {
                out += '"';
                for (char ch : f) {
                    if (ch == '"') out += '"';
                    out += ch;
                }
                out += '"';
            } else {
                out += f;
            }
        }
        out += kEnds[coin(rng) % 3];
        if (coin(rng) == 0) out += "\n"; // a blank line (or the LF of a CRLF)
    }
    if (coin(rng) < 5) out.pop_back(); // sometimes no final line break
    return out;
}

TEST_F(CsvRead, BlockBoundariesAnywhereGiveTheSameRecords) {
    std::mt19937 rng(12345);
    for (int round = 0; round < 8; ++round) {
        const std::string text = generate_csv(rng, 300);
        const Rows expected = reference_parse(text);
        for (const std::size_t block : {1, 2, 3, 5, 7, 16, 63, 64, 65, 1000, 1 << 20}) {
            CsvReadConfig config;
            config.headers = false;
            config.infer_types = false;
            config.block_size = block;
            const SourceRun r = read_blocks(text, config, 37);
            ASSERT_FALSE(r.error) << r.error->to_string();
            ASSERT_EQ(r.rows(), expected) << "round " << round << ", block size " << block;

            // A one-field record after all that: the error names the physical line it is on.
            const std::string broken = text + "\nx\n";
            const SourceRun bad = read_blocks(broken, config, 37);
            ASSERT_TRUE(bad.error) << "round " << round << ", block size " << block;
            EXPECT_EQ(bad.error->where, where(line_of(broken, broken.size() - 2)))
                << "round " << round << ", block size " << block;
        }
    }
}

// Unquoted fields of every length around the reader's 64-byte windows (a delimiter as a
// window's last byte, a field running into the next window or past it), some with a quote
// inside, records of 1 to 6 fields ending in LF, CRLF or CR: the same records as the
// reference parser, whatever the block size.
TEST_F(CsvRead, FieldsOfEveryLengthAroundTheScanWindows) {
    std::mt19937 rng(2026);
    const auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    static const char* const kEnds[] = {"\n", "\r\n", "\r"};
    for (std::size_t fields = 1; fields <= 6; ++fields) {
        std::string text;
        for (int r = 0; r < 200; ++r) {
            for (std::size_t c = 0; c < fields; ++c) {
                if (c) text += ',';
                const std::size_t kind = pick(10);
                std::size_t length = kind < 3   ? pick(4)
                                     : kind < 6 ? 58 + pick(12)
                                     : kind < 8 ? 122 + pick(12)
                                                : 190 + pick(80);
                if (fields == 1 && length == 0) length = 1; // not a blank line
                std::string f(length, 'a');
                for (char& ch : f)
                    ch = static_cast<char>('a' + pick(26));
                if (f.size() >= 2 && pick(8) == 0) f[1 + pick(f.size() - 1)] = '"'; // literal
                text += f;
            }
            text += kEnds[pick(3)];
        }
        const Rows expected = reference_parse(text);
        ASSERT_EQ(expected.size(), 200u);
        for (const std::size_t block : {1, 63, 64, 65, 100, 1000, 1 << 20}) {
            CsvReadConfig config;
            config.headers = false;
            config.infer_types = false;
            config.block_size = block;
            const SourceRun got = read_blocks(text, config, 37);
            ASSERT_FALSE(got.error) << got.error->to_string();
            ASSERT_EQ(got.rows(), expected) << fields << " fields, block " << block;
        }
    }
}

TEST_F(CsvRead, BlockBoundariesKeepLineNumbers) {
    std::string text = "a,b\n";
    for (int i = 0; i < 50; ++i)
        text += "\"multi\nline\",\r\n" + std::to_string(i) + ",x\r";
    text += "1,2,3\n"; // records start on lines 2, 4, 5, 7, ...: this one on line 2 + 50 * 3
    for (const std::size_t block : {1, 4, 9, 64, 1 << 20}) {
        CsvReadConfig config;
        config.block_size = block;
        const SourceRun r = read_blocks(text, config, 1);
        ASSERT_TRUE(r.error) << block;
        EXPECT_EQ(r.error->where, where(152)) << block;
        EXPECT_EQ(r.rows().size(), 100u);
    }
}

TEST_F(CsvRead, BlocksLiveAsLongAsTheirBatches) {
    std::string text = "a,b\n";
    for (int i = 0; i < 2000; ++i)
        text += "\"q" + std::to_string(i) + "\",v" + std::to_string(i) + "\n";
    CsvReadConfig config;
    config.block_size = 256; // many blocks, reused in place when no batch holds them
    const SourceRun r = read_blocks(text, config, 10);
    ASSERT_FALSE(r.error);
    const Rows rows = r.rows();
    ASSERT_EQ(rows.size(), 2000u);
    for (int i = 0; i < 2000; i += 97) {
        EXPECT_EQ(rows[static_cast<std::size_t>(i)][0], "s:q" + std::to_string(i));
        EXPECT_EQ(rows[static_cast<std::size_t>(i)][1], "s:v" + std::to_string(i));
    }
}

TEST_F(CsvRead, OnRaggedIsCheckedByItsDeclaredChoices) {
    // Validation refuses any other spelling (with "must be one of") before the factory runs.
    const OptionSpec* ragged = test::registry().find("csv.read")->find_option("on_ragged");
    ASSERT_NE(ragged, nullptr);
    EXPECT_EQ(ragged->choices, (std::vector<std::string>{"error", "pad", "skip"}));
    EXPECT_EQ(ragged->default_value, OptionValue("error"));
}

TEST_F(CsvRead, BuildTimeOptionErrors) {
    auto no_path = test::build("csv.read", {{"path", ""}});
    EXPECT_EQ(no_path.stage, nullptr);
}

} // namespace
} // namespace conveyor::recordio::csv
