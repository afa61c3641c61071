#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "csv_test_support.hpp"
#include "support/page_end.hpp"
#include "support/process.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <random>
#include <unistd.h>

namespace conveyor::recordio::csv {
namespace {

using test::OptionList;

Batch make_batch(const SchemaRef& schema, const std::vector<std::vector<Value>>& rows) {
    Batch b(schema);
    for (const auto& row : rows)
        b.append_row(row);
    return b;
}

/// A csv.write run driven by hand, as an executor would.
class Writer {
public:
    Writer(const std::string& path, OptionList options, std::vector<SchemaRef> inputs,
           RunContext* run = nullptr)
        : inputs_(std::move(inputs)), metrics_("sink") {
        options.emplace_back("path", path);
        auto built = test::build("csv.write", options);
        EXPECT_NE(built.stage, nullptr) << built.diags.to_string();
        stage_ = std::move(built.stage);
        OpenContext ctx;
        ctx.stage_id = "save";
        ctx.input_schemas = inputs_;
        ctx.run = run;
        ctx.metrics = &metrics_;
        auto opened = stage_->open(ctx);
        if (!opened) {
            open_error_ = opened.error();
            return;
        }
        EXPECT_EQ(opened->initial_schema, nullptr);
        op_ = std::move(std::get<std::unique_ptr<Operator>>(opened->op));
    }

    Status push(Batch b, std::size_t port = 0) { return op_->push(port, std::move(b), out_); }
    Status done(std::size_t port = 0) { return op_->input_done(port, out_); }
    Status finish() {
        for (std::size_t p = 0; p < std::max<std::size_t>(inputs_.size(), 1); ++p)
            CONVEYOR_TRY(done(p));
        Status s = op_->finish(out_);
        EXPECT_TRUE(out_.empty()); // a sink emits nothing
        return s;
    }
    void abort() { op_->abort(); }

    std::optional<Error> open_error_;
    std::vector<SchemaRef> inputs_;
    StageMetrics metrics_;

private:
    std::unique_ptr<Stage> stage_;
    std::unique_ptr<Operator> op_;
    CollectingEmitter out_;
};

class CsvWrite : public ::testing::Test {
protected:
    /// Writes `rows` (one input, schema known up front) and returns the file's text.
    std::string write(const SchemaRef& schema, const std::vector<std::vector<Value>>& rows,
                      OptionList options = {}) {
        const std::string path = dir_.file("out.csv");
        Writer w(path, std::move(options), {schema});
        EXPECT_TRUE(w.push(make_batch(schema, rows)));
        const Status s = w.finish();
        EXPECT_TRUE(s) << s.error().to_string();
        return conveyor::test::read_file(path);
    }

    conveyor::test::TempDir dir_;
};

TEST_F(CsvWrite, QuotesOnlyWhereNeeded) {
    const auto schema = make_schema({"v"});
    EXPECT_EQ(write(schema, {{Value::string("plain")},
                             {Value::string(" spaced ")},
                             {Value::string("a,b")},
                             {Value::string("say \"hi\"")},
                             {Value::string("line\nbreak")},
                             {Value::string("cr\rhere")},
                             {Value::string("semi;colon")}}),
              "v\nplain\n spaced \n\"a,b\"\n\"say \"\"hi\"\"\"\n\"line\nbreak\"\n\"cr\rhere\"\n"
              "semi;colon\n");
}

TEST_F(CsvWrite, TextEndingAtAPageEndIsReadNoFurther) {
    // The check for bytes that need quoting and the copy of short text take 16 bytes at a time
    // where that cannot fault; here the byte after each text cannot be read at all. Every
    // length up to 40, with nothing to quote and with a delimiter, quote or line break at each
    // position (a field with a quote takes the general path: the quote is doubled).
    constexpr std::size_t kLongest = 40;
    conveyor::test::PageEnd page(3 * (kLongest + 1) + 1);
    const auto schema = make_schema({"v", "n"});
    for (std::size_t len = 1; len <= kLongest; ++len) {
        std::vector<std::vector<Value>> rows;
        std::string want = "v,n\n";
        for (std::size_t at = 0; at <= len; ++at) {
            for (const char special : {',', '\n', '"'}) {
                std::string text(len, 'a');
                for (std::size_t i = 0; i < len; ++i)
                    text[i] = static_cast<char>('a' + i % 26);
                if (at < len) text[at] = special; // at == len: nothing to quote
                if (at == len) {
                    want += text;
                } else {
                    std::string field = text;
                    if (special == '"') field.insert(at, 1, '"');
                    want += '"' + field + '"';
                }
                want += ",12.5\n";
                rows.push_back(
                    {Value::string(page.place(text, rows.size())), Value::number_text("12.5")});
            }
        }
        rows.push_back({Value::null(), Value::number_text(page.place("-7.25", rows.size()))});
        want += ",-7.25\n";
        ASSERT_EQ(write(schema, rows), want) << "length " << len;
    }
}

TEST_F(CsvWrite, ScalarsNullsAndEmptyStrings) {
    const auto schema = make_schema({"a", "b", "c", "d", "e", "f", "g", "h", "i"});
    EXPECT_EQ(write(schema, {{Value::null(), Value::absent(), Value::boolean(true),
                              Value::boolean(false), Value::integer(-5), Value::number_text("1.50"),
                              Value::real(2.0), Value::real(0.1), Value::string("")}}),
              "a,b,c,d,e,f,g,h,i\n,,true,false,-5,1.50,2.0,0.1,\"\"\n");
    EXPECT_EQ(write(make_schema({"x", "y"}),
                    {{Value::real(std::numeric_limits<double>::infinity()), Value::real(1e300)}}),
              "x,y\n,1e+300\n");
}

TEST_F(CsvWrite, AnUnquotedEmptyFieldReadAsTextIsWrittenEmptyAgain) {
    // csv.read with infer_types = false reads `a,,b`'s middle field as bare_empty(); it was
    // written `a,"",b`. Through the fast path (first row) and the general one (a quote to
    // double), while the empty string of any other origin stays "".
    const auto schema = make_schema({"a", "b", "c"});
    EXPECT_EQ(write(schema, {{bare_empty(), Value::string(""), bare_empty()},
                             {Value::string("say \"hi\""), bare_empty(), Value::string("x")}}),
              "a,b,c\n,\"\",\n\"say \"\"hi\"\"\",,x\n");
    // Alone on its line it would be a blank line, which readers skip.
    EXPECT_EQ(write(make_schema({"v"}), {{bare_empty()}}), "v\n\"\"\n");
}

TEST_F(CsvWrite, OneColumnNullKeepsItsRecord) {
    // An empty line would be skipped by readers; "" keeps the record.
    EXPECT_EQ(
        write(make_schema({"v"}), {{Value::integer(1)}, {Value::null()}, {Value::integer(2)}}),
        "v\n1\n\"\"\n2\n");
}

TEST_F(CsvWrite, NestedValuesAreJsonText) {
    const auto schema = make_schema({"id", "tags", "meta"});
    Batch b(schema);
    Arena& arena = b.arena();
    Value* items = arena.allocate_array<Value>(3);
    items[0] = Value::integer(1);
    items[1] = Value::string("x\"y");
    items[2] = Value::null();
    Member* members = arena.allocate_array<Member>(3);
    members[0] = Member{"k", Value::string("line\nbreak")};
    members[1] = Member{"gone", Value::absent()};
    members[2] = Member{"n", Value::real(1.5)};
    b.append_row(
        std::vector<Value>{Value::integer(7), Value::array(items, 3), Value::object(members, 3)});
    const std::string path = dir_.file("nested.csv");
    Writer w(path, {}, {schema});
    ASSERT_TRUE(w.push(std::move(b)));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(conveyor::test::read_file(path),
              "id,tags,meta\n7,\"[1,\"\"x\\\"\"y\"\",null]\",\"{\"\"k\"\":\"\"line\\nbreak\"\","
              "\"\"n\"\":1.5}\"\n");
}

TEST_F(CsvWrite, HeaderComesFromTheInitialSchemaAndBatchesAreMappedByName) {
    const auto header = make_schema({"a", "b", "c"});
    const auto other = make_schema({"c", "a"});
    const std::string path = dir_.file("mapped.csv");
    Writer w(path, {}, {header});
    ASSERT_TRUE(w.push(make_batch(other, {{Value::integer(3), Value::integer(1)}})));
    ASSERT_TRUE(
        w.push(make_batch(header, {{Value::integer(4), Value::integer(5), Value::integer(6)}})));
    ASSERT_TRUE(w.push(make_batch(other, {{Value::integer(9), Value::integer(7)}})));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(conveyor::test::read_file(path), "a,b,c\n1,,3\n4,5,6\n7,,9\n");
}

TEST_F(CsvWrite, HeaderFromTheFirstBatchWhenNoSchemaIsKnown) {
    const std::string path = dir_.file("first.csv");
    Writer w(path, {}, {nullptr});
    ASSERT_TRUE(
        w.push(make_batch(make_schema({"x", "y"}), {{Value::integer(1), Value::integer(2)}})));
    ASSERT_TRUE(w.push(make_batch(make_schema({"y"}), {{Value::integer(3)}})));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(conveyor::test::read_file(path), "x,y\n1,2\n,3\n");
}

TEST_F(CsvWrite, FieldOutsideTheHeaderIsAnError) {
    const auto header = make_schema({"a", "b"});
    const auto wider = make_schema({"a", "x"});
    const std::string path = dir_.file("bad.csv");
    Writer w(path, {}, {header});
    // Absent values of unknown fields are fine (heterogeneous records)...
    ASSERT_TRUE(w.push(make_batch(wider, {{Value::integer(1), Value::absent()}})));
    // ...a value is not.
    const Status s = w.push(make_batch(wider, {{Value::integer(2), Value::string("oops")}}));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, ErrorKind::Data);
    EXPECT_EQ(s.error().stage, "save");
    EXPECT_EQ(s.error().message,
              "record has field 'x' that is not in the CSV header (columns: a, b); list the "
              "columns to write with 'columns = [...]', choose them with select.apply before "
              "this stage, or give every record every field with unsparsify.apply before it");
    EXPECT_NE(s.error().to_string().find("stage 'save'"), std::string::npos);
    w.abort();
    EXPECT_FALSE(conveyor::test::file_exists(path));
    EXPECT_TRUE(conveyor::test::list_dir(dir_.path()).empty());
}

TEST_F(CsvWrite, ABatchThatFailsCountsAllItsRecordsAsFailed) {
    const auto header = make_schema({"a", "b"});
    const auto wider = make_schema({"a", "x"});
    Writer w(dir_.file("out.csv"), {}, {header});
    ASSERT_TRUE(w.push(make_batch(header, {{Value::integer(1), Value::integer(2)}})));
    // The second record has a field the header lacks: none of the batch is written.
    const Status s = w.push(make_batch(wider, {{Value::integer(3), Value::absent()},
                                               {Value::integer(4), Value::string("oops")},
                                               {Value::integer(5), Value::absent()}}));
    ASSERT_FALSE(s);
    EXPECT_EQ(w.metrics_.records_failed.load(), 3u)
        << "in = out + failed: the executor counts 4 in and 1 out";
    w.abort();
}

TEST_F(CsvWrite, OutputAppearsOnlyWhenFinished) {
    const auto schema = make_schema({"a"});
    const std::string path = dir_.file("sub/dir/atomic.csv");
    {
        Writer w(path, {}, {schema});
        ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(1)}})));
        EXPECT_FALSE(conveyor::test::file_exists(path));
        ASSERT_TRUE(w.finish());
        EXPECT_EQ(conveyor::test::read_file(path), "a\n1\n");
        EXPECT_EQ(w.metrics_.bytes_written.load(), 4u);
    }
    const std::string aborted = dir_.file("sub/dir/aborted.csv");
    {
        Writer w(aborted, {}, {schema});
        ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(1)}})));
        w.abort();
    }
    EXPECT_FALSE(conveyor::test::file_exists(aborted));
    EXPECT_EQ(conveyor::test::list_dir(dir_.file("sub/dir")),
              (std::vector<std::string>{"atomic.csv"}));
}

TEST_F(CsvWrite, InputsAreWrittenAsTheyArriveWithoutHoldingAnyBack) {
    const auto schema = make_schema({"n"});
    const std::string path = dir_.file("ports.csv");
    Writer w(path, {}, {schema, schema, schema});
    ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(20)}}), 2));
    ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(10)}}), 1));
    ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(1)}}), 0));
    ASSERT_TRUE(w.done(1));
    ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(2)}}), 0));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(conveyor::test::read_file(path), "n\n20\n10\n1\n2\n");
}

TEST_F(CsvWrite, HeaderIsTheUnionOfTheInputs) {
    const auto left = make_schema({"id", "name"});
    const auto right = make_schema({"id", "score"});
    const std::string path = dir_.file("union.csv");
    Writer w(path, {}, {left, right});
    ASSERT_TRUE(w.push(make_batch(left, {{Value::integer(1), Value::string("a")}}), 0));
    ASSERT_TRUE(w.push(make_batch(right, {{Value::integer(2), Value::integer(7)}}), 1));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(conveyor::test::read_file(path), "id,name,score\n1,a,\n2,,7\n");
}

TEST_F(CsvWrite, HeaderOnlyAndEmptyOutputs) {
    const std::string header_only = dir_.file("header_only.csv");
    {
        Writer w(header_only, {}, {make_schema({"a", "b"})});
        ASSERT_TRUE(w.finish());
    }
    EXPECT_EQ(conveyor::test::read_file(header_only), "a,b\n");

    const std::string empty = dir_.file("empty.csv");
    {
        Writer w(empty, {}, {nullptr});
        ASSERT_TRUE(w.finish());
    }
    EXPECT_TRUE(conveyor::test::file_exists(empty));
    EXPECT_EQ(conveyor::test::read_file(empty), "");
}

TEST_F(CsvWrite, NoHeaderAndOtherDialects) {
    const auto schema = make_schema({"a", "b"});
    const std::vector<std::vector<Value>> rows = {{Value::string("x,y"), Value::string("p;q")}};
    EXPECT_EQ(write(schema, rows, {{"headers", false}}), "\"x,y\",p;q\n");
    EXPECT_EQ(write(schema, rows, {{"delimiter", ";"}}), "a;b\nx,y;\"p;q\"\n");
    EXPECT_EQ(write(schema, rows, {{"delimiter", "tab"}}), "a\tb\nx,y\tp;q\n");
    EXPECT_EQ(write(schema, {{Value::string("it's"), Value::string("\"")}}, {{"quote", "'"}}),
              "a,b\n'it''s',\"\n");
}

TEST_F(CsvWrite, WithoutQuotingFieldsAreWrittenAsTheyAre) {
    // quote = "": a quote is text; empty strings and nulls are empty fields alike.
    const auto schema = make_schema({"a", "b"});
    EXPECT_EQ(write(schema,
                    {{Value::string("5\" screen"), Value::string("\"quoted\"")},
                     {Value::string(""), Value::null()},
                     {Value::string("x,y"), Value::integer(3)}},
                    {{"delimiter", "tab"}, {"quote", ""}}),
              "a\tb\n5\" screen\t\"quoted\"\n\t\nx,y\t3\n");
    // A one-column null is an empty line, which csv.read reads back as a record.
    EXPECT_EQ(write(make_schema({"v"}), {{Value::string("a")}, {Value::null()}}, {{"quote", ""}}),
              "v\na\n\n");
}

TEST_F(CsvWrite, WithoutQuotingAFieldHoldingTheDelimiterOrALineBreakFailsItsBatch) {
    const auto schema = make_schema({"a", "b"});
    for (const std::string bad : {"x\ty", "two\nlines", "cr\r"}) {
        SCOPED_TRACE(bad);
        const std::string path = dir_.file("out.tsv");
        Writer w(path, {{"delimiter", "tab"}, {"quote", ""}}, {schema});
        ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(1), Value::string("fine")}})));
        const Status s = w.push(make_batch(schema, {{Value::integer(2), Value::string("ok")},
                                                    {Value::integer(3), Value::string(bad)}}));
        ASSERT_FALSE(s);
        EXPECT_EQ(s.error().kind, ErrorKind::Data);
        EXPECT_NE(s.error().message.find("a value of column 'b'"), std::string::npos)
            << s.error().message;
        EXPECT_NE(s.error().message.find("quote = \"\""), std::string::npos);
        // The next batch is written; the failed one is not, in part or whole.
        ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(4), Value::string("last")}})));
        ASSERT_TRUE(w.finish());
        EXPECT_EQ(conveyor::test::read_file(path), "a\tb\n1\tfine\n4\tlast\n");
    }
    // Nor can a first field that csv.read would take for a byte-order mark.
    {
        const std::string path = dir_.file("bom.tsv");
        Writer w(path, {{"headers", false}, {"quote", ""}}, {schema});
        const Status s =
            w.push(make_batch(schema, {{Value::string("\xEF\xBB\xBFx"), Value::string("y")}}));
        ASSERT_FALSE(s);
        EXPECT_NE(s.error().message.find("starts the file as a byte-order mark"), std::string::npos)
            << s.error().message;
        w.abort();
    }
    // A header name that cannot be written fails the output.
    const std::string path = dir_.file("header.tsv");
    Writer w(path, {{"delimiter", "tab"}, {"quote", ""}}, {make_schema({"a\tb"})});
    EXPECT_FALSE(w.push(make_batch(make_schema({"a\tb"}), {{Value::integer(1)}})));
    w.abort();
    EXPECT_FALSE(conveyor::test::file_exists(path));
}

/// A field as RFC 4180 and the option docs say csv.write writes it, for the random test.
std::string expected_field(const Value& v, char delimiter, char quote, bool only_column) {
    std::string text;
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        return only_column ? std::string(2, quote) : "";
    case Kind::Bool:
        return v.as_bool() ? "true" : "false";
    case Kind::Int:
        return std::to_string(v.as_int());
    case Kind::Double:
        if (v.has_number_text()) return std::string(v.number_text());
        if (!std::isfinite(v.as_double())) return only_column ? std::string(2, quote) : "";
        json::append_double(text, v.as_double());
        return text;
    case Kind::String:
        text = std::string(v.as_string());
        break;
    default:
        json::append_value(text, v);
        break;
    }
    if (!text.empty() &&
        text.find_first_of(std::string{delimiter, quote, '\r', '\n'}) == std::string::npos)
        return text;
    std::string out(1, quote);
    for (const char c : text) {
        out += c;
        if (c == quote) out += c;
    }
    return out + quote;
}

TEST_F(CsvWrite, RandomRowsAreWrittenByTheRules) {
    const std::vector<std::string> texts = {
        "",         "plain", "a,b",         "say \"hi\"", "it's", "semi;", "tab\tx",
        "line\nbr", "cr\r",  "caf\xC3\xA9", "'",          "\"",   ",",     " lead"};
    const Value items[] = {Value::integer(1), Value::string("q\"")};
    std::mt19937 rng(61206);
    const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const auto value = [&]() -> Value {
        switch (pick(8)) {
        case 0:
            return pick(2) ? Value::null() : Value::absent();
        case 1:
            return Value::boolean(pick(2) == 0);
        case 2:
            return Value::integer(static_cast<std::int64_t>(rng()) - 2'000'000'000);
        case 3: {
            const double ds[] = {0.5, -3.0, 1e300, std::nan(""), 2.25e-7};
            return Value::real(ds[pick(5)]);
        }
        case 4:
            return Value::number_text(pick(2) ? "12.50" : "-7");
        case 5:
            return Value::array(items, 2);
        default:
            return Value::string(texts[pick(texts.size())]);
        }
    };
    const struct {
        const char* option;
        char byte;
    } delimiters[] = {{",", ','}, {";", ';'}, {"tab", '\t'}};
    for (const std::size_t width : {1u, 2u, 5u}) {
        for (const auto& d : delimiters) {
            for (const char quote : {'"', '\''}) {
                std::vector<std::string> names;
                for (std::size_t c = 0; c < width; ++c)
                    names.push_back("c" + std::to_string(c));
                std::vector<std::vector<Value>> rows(300);
                std::string want;
                for (auto& row : rows) {
                    for (std::size_t c = 0; c < width; ++c) {
                        row.push_back(value());
                        if (c) want += d.byte;
                        want += expected_field(row.back(), d.byte, quote, width == 1);
                    }
                    want += '\n';
                }
                SCOPED_TRACE(std::string("width ") + std::to_string(width) + ", delimiter " +
                             d.option + ", quote " + quote);
                EXPECT_EQ(write(make_schema(names), rows,
                                {{"headers", false},
                                 {"delimiter", d.option},
                                 {"quote", std::string(1, quote)}}),
                          want);
            }
        }
    }
}

TEST_F(CsvWrite, WritesToStandardOutput) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    RunContext run;
    run.stdout_fd = fds[1];
    const auto schema = make_schema({"a"});
    {
        Writer w("-", {}, {schema}, &run);
        ASSERT_TRUE(w.push(make_batch(schema, {{Value::integer(1)}})));
        ASSERT_TRUE(w.finish());
    }
    ::close(fds[1]);
    char buf[64];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), "a\n1\n");
}

TEST_F(CsvWrite, UncreatableOutputIsCantCreateNamingThePath) {
    const std::string file = dir_.write("plain", "x");
    Writer w(file + "/out.csv", {}, {make_schema({"a"})});
    ASSERT_TRUE(w.open_error_);
    EXPECT_EQ(w.open_error_->kind, ErrorKind::CantCreate);
    EXPECT_NE(w.open_error_->to_string().find(file + "/out.csv"), std::string::npos);
}

TEST_F(CsvWrite, BuildTimeOptionErrors) {
    for (const char* bad : {"", ";;", "\n", "\xC2\xA7"}) {
        auto built = test::build("csv.write", {{"path", "x.csv"}, {"delimiter", bad}});
        EXPECT_EQ(built.stage, nullptr) << bad;
        EXPECT_NE(built.diags.to_string().find("delimiter"), std::string::npos) << bad;
    }
    auto same = test::build("csv.write", {{"path", "x.csv"}, {"delimiter", "'"}, {"quote", "'"}});
    EXPECT_EQ(same.stage, nullptr);
    EXPECT_NE(same.diags.to_string().find("must differ"), std::string::npos);
    auto quote = test::build("csv.read", {{"path", "x.csv"}, {"quote", "''"}});
    EXPECT_EQ(quote.stage, nullptr);
    EXPECT_NE(quote.diags.to_string().find("quote"), std::string::npos);
}

TEST_F(CsvWrite, AFirstFieldTakenForAMarkOrMagicIsQuoted) {
    // Unquoted at the start of the file, csv.read took a text's first bytes for the file's
    // byte-order mark or a compressed format's magic number: a UTF-8 mark was dropped (and a
    // record holding only it became an empty line, which readers skip), and for UTF-16 or
    // UTF-32 marks, zip, xz, bzip2 ... the whole file was refused. Only the file's first field
    // is quoted for it; the same text later in the file reads back as it is.
    const std::string bom = "\xEF\xBB\xBF";
    const std::string named = bom + "id";
    const auto schema = make_schema({named, "v"});
    EXPECT_EQ(write(schema, {{Value::string(bom), Value::string("x")}}),
              "\"" + named + "\",v\n" + bom + ",x\n");
    const std::string path = dir_.file("bom.csv");
    {
        Writer w(path, {{"headers", false}}, {make_schema({"only"})});
        ASSERT_TRUE(w.push(
            make_batch(make_schema({"only"}), {{Value::string(bom)}, {Value::string(bom + "a")}})));
        ASSERT_TRUE(w.finish());
    }
    EXPECT_EQ(conveyor::test::read_file(path), "\"" + bom + "\"\n" + bom + "a\n");
    auto built = test::build("csv.read", {{"path", path}, {"headers", false}});
    const test::SourceRun r = test::run_source(*built.stage);
    ASSERT_FALSE(r.error) << r.error->to_string();
    EXPECT_EQ(r.rows(), (test::Rows{{test::show(Value::string(bom))},
                                    {test::show(Value::string(bom + "a"))}}));

    const std::string starts[] = {std::string("\xFF\xFE", 2),
                                  std::string("\xFE\xFF", 2),
                                  std::string("\x00\x00\xFE\xFF", 4),
                                  std::string("\x1f\x8b\x08", 3),
                                  std::string("\x28\xb5\x2f\xfd", 4),
                                  std::string("PK\x03\x04", 4),
                                  std::string("\xfd"
                                              "7zXZ\x00",
                                              6),
                                  "BZh91AY&SY"};
    int n = 0;
    for (const std::string& start : starts) {
        SCOPED_TRACE(n);
        const std::string file = dir_.file("magic" + std::to_string(n++) + ".csv");
        const auto two = make_schema({start + "name", "v"});
        {
            Writer w(file, {}, {two});
            ASSERT_TRUE(w.push(make_batch(two, {{Value::string(start), Value::integer(1)}})));
            ASSERT_TRUE(w.finish());
        }
        EXPECT_EQ(conveyor::test::read_file(file), "\"" + start + "name\",v\n" + start + ",1\n");
        auto read = test::build("csv.read", {{"path", file}});
        const test::SourceRun back = test::run_source(*read.stage);
        ASSERT_FALSE(back.error) << back.error->to_string();
        EXPECT_EQ(back.names(), two->names());
    }
    // "BZh9" without the rest of bzip2's magic is text, and stays unquoted.
    EXPECT_EQ(write(make_schema({"BZh9", "v"}), {}), "BZh9,v\n");
}

TEST_F(CsvWrite, RoundTripThroughCsvRead) {
    const auto schema = make_schema({"id", "text", "num", "maybe", "flag"});
    const std::vector<std::vector<Value>> rows = {
        {Value::integer(1), Value::string("plain"), Value::number_text("0.0460"), Value::null(),
         Value::string("007")},
        {Value::integer(-2), Value::string("with, comma"), Value::number_text("1e-5"),
         Value::string(""), Value::string("+1")},
        {Value::integer(3), Value::string("quote \" and\r\nnew\nlines"), Value::number_text("-0"),
         Value::string("1e999"), Value::string(" x ")},
        {Value::integer(INT64_MIN), Value::string("\"starts with quote"),
         Value::number_text("2.50"), Value::string("ab\"c"), Value::string("")},
    };
    for (const char* delimiter : {",", ";", "tab"}) {
        SCOPED_TRACE(delimiter);
        const std::string path = dir_.file(std::string("rt_") + delimiter + ".csv");
        {
            Writer w(path, {{"delimiter", delimiter}}, {schema});
            ASSERT_TRUE(w.push(make_batch(schema, rows)));
            ASSERT_TRUE(w.finish());
        }
        auto built = test::build("csv.read", {{"path", path}, {"delimiter", delimiter}});
        const test::SourceRun r = test::run_source(*built.stage);
        ASSERT_FALSE(r.error) << r.error->to_string();
        EXPECT_EQ(r.names(), schema->names());
        test::Rows expected;
        for (const auto& row : rows) {
            std::vector<std::string> shown;
            for (const Value& v : row)
                shown.push_back(test::show(v));
            expected.push_back(std::move(shown));
        }
        EXPECT_EQ(r.rows(), expected);
    }
}

} // namespace
} // namespace conveyor::recordio::csv
