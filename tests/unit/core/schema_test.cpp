#include "conveyor/core/schema.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor {
namespace {

TEST(SchemaTest, NarrowSchemaFindsByName) {
    SchemaRef s = make_schema({"id", "name", "price"});
    EXPECT_EQ(s->size(), 3u);
    EXPECT_EQ(s->name(1), "name");
    EXPECT_EQ(s->find("price"), 2u);
    EXPECT_EQ(s->find("missing"), std::nullopt);
    EXPECT_EQ(s->find("ID"), std::nullopt); // case-sensitive
}

TEST(SchemaTest, WideSchemaUsesItsIndex) {
    std::vector<std::string> names;
    for (int i = 0; i < 100; ++i)
        names.push_back("col" + std::to_string(i));
    SchemaRef s = make_schema(names);
    EXPECT_EQ(s->size(), 100u);
    for (std::size_t i = 0; i < names.size(); ++i)
        EXPECT_EQ(s->find(names[i]), i);
    EXPECT_EQ(s->find("col100"), std::nullopt);
    EXPECT_EQ(s->names(), names);
}

TEST(SchemaTest, DuplicateNamesFindTheFirst) {
    SchemaRef narrow = make_schema({"a", "b", "a"});
    EXPECT_EQ(narrow->find("a"), 0u);
    std::vector<std::string> names(20, "x");
    names[5] = "y";
    SchemaRef wide = make_schema(names);
    EXPECT_EQ(wide->find("x"), 0u);
    EXPECT_EQ(wide->find("y"), 5u);
}

TEST(SchemaTest, EqualityComparesNames) {
    EXPECT_EQ(*make_schema({"a", "b"}), *make_schema({"a", "b"}));
    EXPECT_FALSE(*make_schema({"a", "b"}) == *make_schema({"b", "a"}));
    EXPECT_TRUE(make_schema({})->names().empty());
}

} // namespace
} // namespace conveyor
