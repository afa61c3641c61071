#include "conveyor/option/options.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor {
namespace {

SourceLocation at(std::uint32_t line, std::uint32_t column) {
    return SourceLocation{"p.toml", line, column};
}

TEST(OptionsTest, TypedAccessors) {
    Options o;
    o.set("flag", OptionValue(true), at(3, 8), true);
    o.set("limit", OptionValue(7), at(4, 9), true);
    o.set("ratio", OptionValue(0.5), at(5, 9), true);
    o.set("whole", OptionValue(2), at(6, 9), true); // a Float given as an integer
    o.set("name", OptionValue("ann"), at(7, 8), true);
    EXPECT_TRUE(o.get_bool("flag"));
    EXPECT_EQ(o.get_int("limit"), 7);
    EXPECT_DOUBLE_EQ(o.get_double("ratio"), 0.5);
    EXPECT_DOUBLE_EQ(o.get_double("whole"), 2.0);
    EXPECT_EQ(o.get_string("name"), "ann");
    EXPECT_EQ(o.find("absent"), nullptr);
}

TEST(OptionsTest, StringListsAcceptOneStringOrAList) {
    Options o;
    o.set("one", OptionValue("id"), at(1, 1), true);
    o.set("many", OptionValue(OptionValue::List{OptionValue("a"), OptionValue("b")}), at(2, 1),
          true);
    EXPECT_EQ(o.get_string_list("one"), std::vector<std::string>{"id"});
    EXPECT_EQ(o.get_string_list("many"), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(o.get_string_list("absent").empty());
}

TEST(OptionsTest, StringMapsKeepOrder) {
    Options o;
    o.set("headers",
          OptionValue(OptionValue::Table{{"X-B", OptionValue("2")}, {"A", OptionValue("1")}}),
          at(1, 1), true);
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(o.get_string_map("headers"), (Pairs{{"X-B", "2"}, {"A", "1"}}));
    EXPECT_TRUE(o.get_string_map("absent").empty());
}

TEST(OptionsTest, GivenAndLocations) {
    Options o;
    o.set_default_location(at(10, 1));
    o.set("path", OptionValue("x.csv"), at(11, 8), true);
    o.set("delimiter", OptionValue(","), at(99, 99), false);
    EXPECT_TRUE(o.given("path"));
    EXPECT_FALSE(o.given("delimiter"));
    EXPECT_FALSE(o.given("absent"));
    EXPECT_EQ(o.location("path").to_string(), "p.toml:11:8");
    // Defaults (and unknown names) point at the config table.
    EXPECT_EQ(o.location("delimiter").to_string(), "p.toml:10:1");
    EXPECT_EQ(o.location("absent").to_string(), "p.toml:10:1");
}

TEST(OptionsTest, SetReplacesAndValuesAreSorted) {
    Options o;
    o.set("b", OptionValue(1), at(1, 1), false);
    o.set("a", OptionValue(2), at(2, 1), true);
    o.set("b", OptionValue(3), at(3, 1), true);
    ASSERT_EQ(o.values().size(), 2u);
    EXPECT_EQ(o.values().begin()->first, "a");
    EXPECT_EQ(o.get_int("b"), 3);
    EXPECT_TRUE(o.given("b"));
    EXPECT_EQ(o.location("b").line, 3u);
}

TEST(OptionsTest, TypeNames) {
    EXPECT_EQ(to_string(OptionType::Bool), "boolean");
    EXPECT_EQ(to_string(OptionType::Float), "number");
    EXPECT_EQ(to_string(OptionType::StringList), "array of strings");
    EXPECT_EQ(to_string(OptionType::StringMap), "table of strings");
}

TEST(OptionValueTest, KindsAndConversions) {
    EXPECT_TRUE(OptionValue().is_null());
    EXPECT_TRUE(OptionValue(false).is_bool());
    EXPECT_TRUE(OptionValue(3).is_int());
    EXPECT_TRUE(OptionValue(std::int64_t{1} << 40).is_int());
    EXPECT_TRUE(OptionValue(1.5).is_double());
    EXPECT_TRUE(OptionValue(3).is_number());
    EXPECT_FALSE(OptionValue("3").is_number());
    EXPECT_TRUE(OptionValue("s").is_string());
    EXPECT_TRUE(OptionValue(std::string("s")).is_string());
    EXPECT_TRUE(OptionValue(OptionValue::List{}).is_list());
    EXPECT_TRUE(OptionValue(OptionValue::Table{}).is_table());
    EXPECT_DOUBLE_EQ(OptionValue(3).as_double(), 3.0);
}

TEST(OptionValueTest, FindInTables) {
    const OptionValue t(OptionValue::Table{{"a", OptionValue(1)}, {"b", OptionValue("x")}});
    ASSERT_NE(t.find("b"), nullptr);
    EXPECT_EQ(t.find("b")->as_string(), "x");
    EXPECT_EQ(t.find("c"), nullptr);
    EXPECT_EQ(OptionValue(1).find("a"), nullptr);
}

TEST(OptionValueTest, RendersLikeToml) {
    EXPECT_EQ(OptionValue().to_string(), "null");
    EXPECT_EQ(OptionValue(true).to_string(), "true");
    EXPECT_EQ(OptionValue(-4).to_string(), "-4");
    EXPECT_EQ(OptionValue(0.25).to_string(), "0.25");
    EXPECT_EQ(OptionValue("say \"hi\"\\").to_string(), "\"say \\\"hi\\\"\\\\\"");
    EXPECT_EQ(OptionValue(OptionValue::List{OptionValue(1), OptionValue("a")}).to_string(),
              "[1, \"a\"]");
    EXPECT_EQ(OptionValue(OptionValue::Table{{"k", OptionValue(false)}}).to_string(),
              "{ k = false }");
    EXPECT_EQ(OptionValue(OptionValue::Table{}).to_string(), "{ }");
}

TEST(OptionValueTest, Equality) {
    EXPECT_EQ(OptionValue(1), OptionValue(1));
    EXPECT_NE(OptionValue(1), OptionValue(1.0)); // types differ
    EXPECT_EQ(OptionValue(OptionValue::List{OptionValue("a")}),
              OptionValue(OptionValue::List{OptionValue("a")}));
    EXPECT_NE(OptionValue(OptionValue::Table{{"a", OptionValue(1)}}),
              OptionValue(OptionValue::Table{{"a", OptionValue(2)}}));
}

} // namespace
} // namespace conveyor
