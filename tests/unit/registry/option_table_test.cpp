#include "conveyor/option/option_table.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {
namespace {

enum class Color : std::uint8_t { Red, Green };

struct Sample {
    bool flag = true;
    std::int64_t count = 7;
    std::uint32_t small = 3;
    double ratio = 0.5;
    std::string name = "x";
    std::vector<std::string> tags;
    StringPairs headers;
    std::optional<std::string> path;
    std::optional<std::int64_t> limit;
    OptionValue any;
    Color color = Color::Green;
};

const OptionTable<Sample>& sample_table() {
    static const auto table =
        OptionTable<Sample>()
            .add("flag", &Sample::flag, {.description = "a flag"})
            .add("count", &Sample::count, {.min = 1, .max = 100})
            .add("small", &Sample::small)
            .add("ratio", &Sample::ratio)
            .add("name", &Sample::name, {.choices = {"x", "y"}, .aliases = {"old_name"}})
            .add("tags", &Sample::tags)
            .add("headers", &Sample::headers)
            .add("path", &Sample::path, {.required = true, .example = "\"out.csv\""})
            .add("limit", &Sample::limit, {.inherits = "concurrency"})
            .add("any", &Sample::any, {.type = OptionType::Table})
            .add_choice("color", &Sample::color, {{"red", Color::Red}, {"green", Color::Green}},
                        {.deprecated = "use 'colour'"});
    return table;
}

const OptionSpec& spec(const std::vector<OptionSpec>& specs, std::string_view name) {
    for (const OptionSpec& s : specs)
        if (s.name == name) return s;
    ADD_FAILURE() << "no option " << name;
    return specs.front();
}

TEST(OptionTableTest, TypesAndDefaultsComeFromTheMembers) {
    const std::vector<OptionSpec> specs = sample_table().specs();
    ASSERT_EQ(specs.size(), 11U);
    EXPECT_EQ(spec(specs, "flag").type, OptionType::Bool);
    EXPECT_EQ(spec(specs, "flag").default_value, OptionValue(true));
    EXPECT_EQ(spec(specs, "flag").description, "a flag");
    EXPECT_EQ(spec(specs, "count").type, OptionType::Int);
    EXPECT_EQ(spec(specs, "count").default_value, OptionValue(7));
    EXPECT_EQ(spec(specs, "ratio").type, OptionType::Float);
    EXPECT_EQ(spec(specs, "name").type, OptionType::String);
    EXPECT_EQ(spec(specs, "name").aliases, std::vector<std::string>{"old_name"});
    EXPECT_EQ(spec(specs, "tags").type, OptionType::StringList);
    EXPECT_EQ(spec(specs, "headers").type, OptionType::StringMap);
    EXPECT_EQ(spec(specs, "any").type, OptionType::Table);
    EXPECT_EQ(spec(specs, "limit").inherits, "concurrency");
    EXPECT_EQ(spec(specs, "color").deprecated, "use 'colour'");
}

TEST(OptionTableTest, RequiredAndOptionalMembersHaveNoDefault) {
    const std::vector<OptionSpec> specs = sample_table().specs();
    EXPECT_TRUE(spec(specs, "path").required);
    EXPECT_TRUE(spec(specs, "path").default_value.is_null());
    EXPECT_EQ(spec(specs, "path").example, "\"out.csv\"");
    EXPECT_FALSE(spec(specs, "limit").required);
    EXPECT_TRUE(spec(specs, "limit").default_value.is_null());
}

TEST(OptionTableTest, IntegerMembersAreBoundedByTheirTypeUnlessDeclared) {
    const std::vector<OptionSpec> specs = sample_table().specs();
    EXPECT_EQ(spec(specs, "count").min, 1.0);
    EXPECT_EQ(spec(specs, "count").max, 100.0);
    EXPECT_EQ(spec(specs, "small").min, 0.0);
    EXPECT_EQ(spec(specs, "small").max, 4294967295.0);
    EXPECT_FALSE(spec(specs, "limit").max.has_value());
}

TEST(OptionTableTest, ChoiceOptionsListTheirSpellingsAndDefaultToTheMembersSpelling) {
    const std::vector<OptionSpec> specs = sample_table().specs();
    const OptionSpec& color = spec(specs, "color");
    EXPECT_EQ(color.type, OptionType::String);
    EXPECT_EQ(color.choices, (std::vector<std::string>{"red", "green"}));
    EXPECT_EQ(color.default_value, OptionValue("green"));
}

TEST(OptionTableTest, FillStoresEveryPresentOptionInItsMember) {
    Options o;
    o.set("flag", false, {}, true);
    o.set("count", 42, {}, true);
    o.set("small", 9, {}, true);
    o.set("ratio", 2.5, {}, true);
    o.set("name", "y", {}, true);
    o.set("tags", OptionValue::List{OptionValue("a"), OptionValue("b")}, {}, true);
    o.set("headers", OptionValue::Table{{"X-A", OptionValue("1")}}, {}, true);
    o.set("path", "out.csv", {}, true);
    o.set("limit", 5, {}, false);
    o.set("any", OptionValue::Table{{"k", OptionValue(1)}}, {}, true);
    o.set("color", "red", {}, true);
    const Sample s = sample_table().fill(o);
    EXPECT_FALSE(s.flag);
    EXPECT_EQ(s.count, 42);
    EXPECT_EQ(s.small, 9U);
    EXPECT_EQ(s.ratio, 2.5);
    EXPECT_EQ(s.name, "y");
    EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(s.headers.size(), 1U);
    EXPECT_EQ(s.headers[0].first, "X-A");
    EXPECT_EQ(s.headers[0].second, "1");
    EXPECT_EQ(s.path, "out.csv");
    EXPECT_EQ(s.limit, 5);
    ASSERT_TRUE(s.any.is_table());
    EXPECT_EQ(s.color, Color::Red);
}

TEST(OptionTableTest, FillKeepsTheStructDefaultsForAbsentOptions) {
    const Sample s = sample_table().fill(Options{});
    EXPECT_TRUE(s.flag);
    EXPECT_EQ(s.count, 7);
    EXPECT_EQ(s.name, "x");
    EXPECT_FALSE(s.path.has_value());
    EXPECT_FALSE(s.limit.has_value());
    EXPECT_EQ(s.color, Color::Green);
}

TEST(OptionTableTest, ReadGivesAMembersValueByOptionName) {
    Sample s;
    s.count = 12;
    s.color = Color::Red;
    EXPECT_EQ(sample_table().read(s, "count"), OptionValue(12));
    EXPECT_EQ(sample_table().read(s, "color"), OptionValue("red"));
    EXPECT_TRUE(sample_table().read(s, "path").is_null());
    EXPECT_TRUE(sample_table().read(s, "no_such_option").is_null());
}

/// A shared struct, declared once and embedded by two functions.
struct Shared {
    bool headers = true;
    std::int64_t interval = 0;
    std::optional<Color> tint;
};

OptionTable<Shared> shared_table() {
    return OptionTable<Shared>()
        .add("headers", &Shared::headers, {.description = "header row"})
        .add("interval", &Shared::interval, {.min = 0})
        .add_choice("tint", &Shared::tint, {{"red", Color::Red}, {"green", Color::Green}});
}

struct Outer {
    std::string path;
    Shared shared{.headers = false};
};

const OptionTable<Outer>& outer_table() {
    static const auto table = OptionTable<Outer>()
                                  .add("path", &Outer::path, {.required = true})
                                  .embed(&Outer::shared, shared_table(), {"headers", "tint"});
    return table;
}

TEST(OptionTableTest, EmbedAddsTheChosenSharedOptionsWithTheOuterStructsDefaults) {
    const std::vector<OptionSpec> specs = outer_table().specs();
    ASSERT_EQ(specs.size(), 3U);
    EXPECT_EQ(specs[0].name, "path");
    EXPECT_EQ(specs[1].name, "headers");
    EXPECT_EQ(specs[1].description, "header row");
    EXPECT_EQ(specs[1].default_value, OptionValue(false)); // Outer's initializer, not Shared's
    EXPECT_EQ(specs[2].name, "tint");
    EXPECT_EQ(specs[2].choices, (std::vector<std::string>{"red", "green"}));
    EXPECT_TRUE(specs[2].default_value.is_null()); // an optional choice has no default
    EXPECT_EQ(shared_table().specs()[0].default_value, OptionValue(true));
}

TEST(OptionTableTest, EmbeddedOptionsFillTheMemberStruct) {
    Options o;
    o.set("path", "in.csv", {}, true);
    o.set("headers", true, {}, true);
    o.set("tint", "red", {}, true);
    const Outer filled = outer_table().fill(o);
    EXPECT_EQ(filled.path, "in.csv");
    EXPECT_TRUE(filled.shared.headers);
    EXPECT_EQ(filled.shared.tint, Color::Red);
    EXPECT_EQ(outer_table().read(filled, "tint"), OptionValue("red"));

    const Outer absent = outer_table().fill(Options{});
    EXPECT_FALSE(absent.shared.headers);
    EXPECT_FALSE(absent.shared.tint.has_value());
    EXPECT_TRUE(outer_table().read(absent, "tint").is_null());
}

} // namespace
} // namespace conveyor
