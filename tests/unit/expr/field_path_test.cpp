#include "conveyor/expr/field_path.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"

#include <gtest/gtest.h>

namespace conveyor::expr {
namespace {

std::vector<std::string> steps_of(std::string_view text) {
    auto p = FieldPath::parse(text);
    EXPECT_TRUE(p.ok()) << text;
    std::vector<std::string> out;
    if (!p) return out;
    for (const PathStep& s : p->steps())
        out.push_back(s.is_index ? "[" + std::to_string(s.index) + "]" : s.key);
    return out;
}

TEST(FieldPathTest, ParsesNamesDotsIndicesAndBackquotes) {
    EXPECT_EQ(steps_of("price"), (std::vector<std::string>{"price"}));
    EXPECT_EQ(steps_of("user.address.city"), (std::vector<std::string>{"user", "address", "city"}));
    EXPECT_EQ(steps_of("tags[0]"), (std::vector<std::string>{"tags", "[0]"}));
    EXPECT_EQ(steps_of("a[1][-2].b"), (std::vector<std::string>{"a", "[1]", "[-2]", "b"}));
    EXPECT_EQ(steps_of("`first name`"), (std::vector<std::string>{"first name"}));
    EXPECT_EQ(steps_of("`a.b`.c"), (std::vector<std::string>{"a.b", "c"}));
    EXPECT_EQ(steps_of("`it``s`"), (std::vector<std::string>{"it`s"}));
    EXPECT_EQ(steps_of("2024"), (std::vector<std::string>{"2024"}));
    EXPECT_EQ(steps_of("order-id"), (std::vector<std::string>{"order-id"}));
}

TEST(FieldPathTest, RefusesMalformedPathsNamingThePosition) {
    auto bad = [](std::string_view t) {
        auto p = FieldPath::parse(t);
        return p.ok() ? std::string("(parsed)") : p.error().message;
    };
    EXPECT_EQ(bad("a..b"), "invalid field path 'a..b': expected a field name at position 3");
    EXPECT_EQ(bad("a."), "invalid field path 'a.': expected a field name after '.' at position 3");
    EXPECT_EQ(bad("a[x]"), "invalid field path 'a[x]': expected an array index at position 3");
    EXPECT_EQ(bad("a[1"), "invalid field path 'a[1': expected ']' at position 4");
    EXPECT_EQ(bad("`a"), "invalid field path '`a': unclosed backquote at position 1");
    EXPECT_EQ(bad(""), "empty field path");
    EXPECT_EQ(bad("a b"), "invalid field path 'a b': unexpected ' ' at position 2");
}

TEST(FieldPathTest, TextRoundTrips) {
    for (std::string_view t :
         {"a", "user.address.city", "tags[0]", "`first name`", "`a.b`.c", "a[-1].b"}) {
        auto p = FieldPath::parse(t);
        ASSERT_TRUE(p.ok()) << t;
        EXPECT_EQ(p->text(), t);
    }
}

TEST(FieldPathTest, LooksUpNestedValuesAndMissingStepsAreAbsent) {
    Arena arena;
    json::Parser parser;
    auto user = parser.parse(R"({"address": {"city": "Lyon"}, "tags": ["x", "y"]})", arena);
    ASSERT_TRUE(user.ok());
    const Value row[] = {Value::integer(1), *user};
    auto schema = make_schema({"id", "user"});
    auto get = [&](std::string_view t) {
        auto p = FieldPath::parse(t);
        EXPECT_TRUE(p.ok());
        return json::to_string(lookup(*p, resolve(*p, *schema), row));
    };
    EXPECT_EQ(get("id"), "1");
    EXPECT_EQ(get("user.address.city"), "\"Lyon\"");
    EXPECT_EQ(get("user.tags[1]"), "\"y\"");
    EXPECT_EQ(get("user.tags[-1]"), "\"y\"");
    EXPECT_EQ(get("user.tags[2]"), "null");
    EXPECT_EQ(get("user.nope.city"), "null");
    EXPECT_EQ(get("id.x"), "null");
    EXPECT_EQ(get("other"), "null");
}

TEST(FieldPathTest, ADottedColumnNameIsFoundWhenNoColumnHasTheFirstStep) {
    auto schema = make_schema({"user.city", "user"});
    auto p = FieldPath::parse("user.city");
    ASSERT_TRUE(p.ok());
    // A real column `user` wins: the path then descends into it.
    EXPECT_EQ(resolve(*p, *schema).column, 1u);
    auto flat = make_schema({"user.city"});
    const ResolvedPath r = resolve(*p, *flat);
    EXPECT_EQ(r.column, 0u);
    EXPECT_EQ(r.next_step, 2u);
}

} // namespace
} // namespace conveyor::expr
