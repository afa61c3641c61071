// Dotted paths name nested values in the functions that take column names, as in expressions:
// select.apply's columns and csv.write's columns read `user.address.city` from nested JSON,
// while a field literally named "a.b" still wins over the path.

#include "support/process.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;

const char* kUsers =
    "{\"id\":1,\"user\":{\"name\":\"ann\",\"address\":{\"city\":\"Paris\"}},\"tags\":[\"a\","
    "\"b\"]}\n"
    "{\"id\":2,\"user\":{\"name\":\"bob\"},\"tags\":[]}\n";

std::string source(const std::string& in) {
    return "[[stages]]\nid = \"in\"\nfunction = \"json.read\"\ninputs = []\n[stages.config]\n"
           "path = \"" +
           in + "\"\n\n";
}

TEST(FieldPaths, SelectKeepsNestedValuesUnderTheirPathNames) {
    test::TempDir dir;
    const std::string in = dir.write("in.jsonl", kUsers);
    const std::string file = dir.write(
        "p.toml", source(in) +
                      "[[stages]]\nid = \"pick\"\nfunction = \"select.apply\"\ninputs = [\"in\"]\n"
                      "[stages.config]\ncolumns = [\"id\", \"user.address.city\", \"tags[0]\"]\n\n"
                      "[[stages]]\nid = \"out\"\nfunction = \"json.write\"\ninputs = [\"pick\"]\n"
                      "[stages.config]\npath = \"" +
                      dir.file("out.jsonl") + "\"\n");
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"id\":1,\"user.address.city\":\"Paris\",\"tags[0]\":\"a\"}\n{\"id\":2}\n");
}

TEST(FieldPaths, CsvWriteColumnsReadNestedValues) {
    test::TempDir dir;
    const std::string in = dir.write("in.jsonl", kUsers);
    const std::string file = dir.write(
        "p.toml", source(in) +
                      "[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"in\"]\n"
                      "[stages.config]\ncolumns = [\"id\", \"user.name\", \"user.address.city\"]\n"
                      "path = \"" +
                      dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "id,user.name,user.address.city\n1,ann,Paris\n2,bob,\n");
}

TEST(FieldPaths, AFieldLiterallyNamedWithADotWinsOverThePath) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.jsonl", "{\"a.b\":\"literal\",\"a\":{\"b\":\"nested\"}}\n");
    const std::string file = dir.write(
        "p.toml", source(in) +
                      "[[stages]]\nid = \"pick\"\nfunction = \"select.apply\"\ninputs = [\"in\"]\n"
                      "[stages.config]\ncolumns = [\"a.b\"]\n\n"
                      "[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"pick\"]\n"
                      "[stages.config]\npath = \"" +
                      dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "a.b\nliteral\n");
}

TEST(FieldPaths, OverACsvHeaderAPathWhoseFirstFieldIsMissingIsAnOpenError) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,user\n1,x\n");
    const std::string file = dir.write(
        "p.toml",
        "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\ninputs = []\n[stages.config]\npath = "
        "\"" +
            in +
            "\"\n\n[[stages]]\nid = \"pick\"\nfunction = \"select.apply\"\ninputs = [\"in\"]\n"
            "[stages.config]\ncolumns = [\"usr.name\"]\n\n"
            "[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"pick\"]\n"
            "[stages.config]\npath = \"" +
            dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"run", file, "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_NE(r.err.find("columns: field 'usr.name' is not in the input"), std::string::npos)
        << r.err;
}

TEST(FieldPaths, AggregateGroupsAndSumsByNestedFields) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.jsonl", "{\"user\":{\"country\":\"DE\"},\"order\":{\"amount\":5}}\n"
                              "{\"user\":{\"country\":\"FR\"},\"order\":{\"amount\":7}}\n"
                              "{\"user\":{\"country\":\"DE\"},\"order\":{\"amount\":1}}\n"
                              "{\"user\":{},\"order\":{\"amount\":2}}\n");
    const std::string file = dir.write(
        "p.toml", source(in) +
                      "[[stages]]\nid = \"win\"\nfunction = \"window.apply\"\ninputs = [\"in\"]\n"
                      "[stages.config]\nsize = 100\n\n"
                      "[[stages]]\nid = \"agg\"\nfunction = \"aggregate.stream\"\ninputs = "
                      "[\"win\"]\n[stages.config]\noperation = \"sum\"\nvalue_column = "
                      "\"order.amount\"\ngroup_by = [\"user.country\"]\n\n"
                      "[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"agg\"]\n"
                      "[stages.config]\npath = \"" +
                      dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "user.country,sum,window_start,window_end\nDE,6,0,4\nFR,7,0,4\n,2,0,4\n");
}

} // namespace
} // namespace conveyor
