#include "conveyor/core/key_table.hpp"

#include <gtest/gtest.h>
#include <map>
#include <random>
#include <string>

namespace conveyor {
namespace {

TEST(KeyTable, GivesSlotsInOrderOfFirstInsertion) {
    KeyTable t;
    EXPECT_EQ(t.insert("b"), std::make_pair(0u, true));
    EXPECT_EQ(t.insert("a"), std::make_pair(1u, true));
    EXPECT_EQ(t.insert("b"), std::make_pair(0u, false));
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.key(1), "a");
    EXPECT_EQ(t.find("a"), 1u);
    EXPECT_FALSE(t.find("c").has_value());
    EXPECT_FALSE(KeyTable().find("a").has_value()) << "an empty table finds nothing";
}

TEST(KeyTable, KeysOfEveryLengthIncludingEmptyAndBinaryAreDistinct) {
    KeyTable t;
    const std::string keys[] = {"",
                                std::string("\0", 1),
                                std::string("\0\0", 2),
                                "sixteen-bytes-16",
                                "seventeen-bytes17",
                                "seventeen-bytes18",
                                std::string(1000, 'x'),
                                std::string(1000, 'x') + "y"};
    for (std::size_t i = 0; i < std::size(keys); ++i)
        EXPECT_EQ(t.insert(keys[i]), std::make_pair(static_cast<std::uint32_t>(i), true)) << i;
    for (std::size_t i = 0; i < std::size(keys); ++i) {
        EXPECT_EQ(t.find(keys[i]), static_cast<std::uint32_t>(i)) << i;
        EXPECT_EQ(t.key(static_cast<std::uint32_t>(i)), keys[i]);
    }
}

TEST(KeyTable, AgreesWithAMapOverManyRandomKeysAcrossGrowth) {
    std::mt19937 rng(1);
    KeyTable t;
    std::map<std::string, std::uint32_t> want;
    for (int i = 0; i < 200000; ++i) {
        std::string key = std::to_string(rng() % 50000);
        if (rng() % 3 == 0) key += std::string(20, 'k'); // longer than the inline part
        const auto [it, inserted] = want.try_emplace(key, static_cast<std::uint32_t>(want.size()));
        EXPECT_EQ(t.insert(key), std::make_pair(it->second, inserted));
    }
    EXPECT_EQ(t.size(), want.size());
    for (const auto& [key, slot] : want)
        ASSERT_EQ(t.find(key), slot) << key;
    EXPECT_FALSE(t.find("not a key").has_value());
    EXPECT_GT(t.memory_bytes(), want.size() * 16);
}

} // namespace
} // namespace conveyor
