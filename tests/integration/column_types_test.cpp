// csv.read and json.read `types = { ... }`: declared types override inference for those
// columns; a value that is not of its type is a record error naming where it is.

#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

std::string pipeline(const std::string& function, const std::string& in, const std::string& types,
                     const std::string& out, const std::string& extra = "") {
    return extra + "[[stages]]\nid = \"in\"\nfunction = \"" + function +
           "\"\ninputs = []\n[stages.config]\npath = \"" + in + "\"\ntypes = " + types +
           "\n\n[[stages]]\nid = \"out\"\nfunction = \"json.write\"\ninputs = [\"in\"]\n"
           "[stages.config]\npath = \"" +
           out + "\"\nformat = \"jsonl\"\n";
}

TEST(ColumnTypesRun, CsvTypesOverrideInferenceForTheNamedColumnsOnly) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "zip,qty,amount,ok,when,n\n01234,3,10,yes,2024-05-01T12:00:00+02:00,7\n"
                            "98765,4.0,2.5,0,2024-05-02,8\n");
    const std::string file =
        dir.write("p.toml", pipeline("csv.read", in,
                                     "{ zip = \"string\", qty = \"int\", amount = \"float\", ok = "
                                     "\"bool\", when = \"timestamp\" }",
                                     dir.file("out.jsonl")));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"zip\":\"01234\",\"qty\":3,\"amount\":10.0,\"ok\":true,"
              "\"when\":\"2024-05-01T10:00:00Z\",\"n\":7}\n"
              "{\"zip\":\"98765\",\"qty\":4,\"amount\":2.5,\"ok\":false,"
              "\"when\":\"2024-05-02T00:00:00Z\",\"n\":8}\n");
}

TEST(ColumnTypesRun, ACsvValueNotOfItsTypeFailsNamingFileLineAndColumn) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,qty\n1,2\n2,many\n");
    const std::string file =
        dir.write("p.toml", pipeline("csv.read", in, "{ qty = \"int\" }", dir.file("out.jsonl")));
    auto r = run_conveyor({"run", file, "-q"});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("in.csv:3"));
    EXPECT_THAT(r.err, HasSubstr("column 'qty' (types.qty = \"int\"): 'many' is not an integer"));
    EXPECT_FALSE(test::file_exists(dir.file("out.jsonl")));
}

TEST(ColumnTypesRun, UnderContinueABadCsvValueIsDeadLetteredAndTheRestGoOn) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,qty\n1,2\n2,many\n3,4\n");
    const std::string file = dir.write(
        "p.toml", pipeline("csv.read", in, "{ qty = \"int\" }", dir.file("out.jsonl"),
                           "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = { "
                           "enabled = true, path = \"" +
                               dir.file("dlq.jsonl") + "\" }\n\n"));
    auto r = run_conveyor({"run", file, "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"id\":1,\"qty\":2}\n{\"id\":3,\"qty\":4}\n");
    EXPECT_THAT(test::read_file(dir.file("dlq.jsonl")), HasSubstr("2,many"));
}

TEST(ColumnTypesRun, ACsvTypeForAColumnNotInTheHeaderIsAConfigErrorWithASuggestion) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,quantity\n1,2\n");
    const std::string file = dir.write(
        "p.toml", pipeline("csv.read", in, "{ quantiy = \"int\" }", dir.file("out.jsonl")));
    auto r = run_conveyor({"run", file, "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("types: column 'quantiy' is not in the header"));
    EXPECT_THAT(r.err, HasSubstr("did you mean 'quantity'?"));
}

TEST(ColumnTypesRun, AnUnknownTypeNameIsALoadErrorNamingTheKey) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id\n1\n");
    for (const std::string function : {"csv.read", "json.read"}) {
        const std::string file = dir.write(
            "p.toml", pipeline(function, in, "{ id = \"integr\" }", dir.file("out.jsonl")));
        auto r = run_conveyor({"validate", file});
        EXPECT_EQ(r.exit_code, 78) << function;
        EXPECT_THAT(r.err, HasSubstr("types.id: unknown type 'integr' (did you mean 'int"))
            << function;
    }
}

TEST(ColumnTypesRun, JsonTypesConvertFieldsAndABadValueIsARecordError) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.jsonl", "{\"zip\":1234,\"amount\":\"2.5\",\"when\":0}\n{\"zip\":\"x\"}\n"
                              "{\"zip\":5,\"amount\":\"lots\"}\n");
    const std::string file = dir.write(
        "p.toml",
        pipeline("json.read", in, "{ zip = \"string\", amount = \"float\", when = \"timestamp\" }",
                 dir.file("out.jsonl"),
                 "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = { enabled = "
                 "true, path = \"" +
                     dir.file("dlq.jsonl") + "\" }\n\n"));
    auto r = run_conveyor({"run", file, "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"zip\":\"1234\",\"amount\":2.5,\"when\":\"1970-01-01T00:00:00Z\"}\n"
              "{\"zip\":\"x\"}\n");
    EXPECT_THAT(test::read_file(dir.file("dlq.jsonl")), HasSubstr("'lots' is not a number"));
}

} // namespace
} // namespace conveyor
