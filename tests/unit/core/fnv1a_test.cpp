#include "conveyor/core/fnv1a.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(Fnv1a, GivesThePublishedValuesAndContinuesAHash) {
    // FNV-1a 64 test vectors: saved checkpoints and hash shards depend on these values.
    EXPECT_EQ(fnv1a(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(fnv1a("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv1a("foobar"), 0x85944171f73967e8ULL);
    EXPECT_EQ(fnv1a("bar", fnv1a("foo")), fnv1a("foobar"));
    static_assert(fnv1a("a") == 0xaf63dc4c8601ec8cULL);
}

} // namespace
} // namespace conveyor
