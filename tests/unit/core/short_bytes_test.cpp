#include "conveyor/core/short_bytes.hpp"
#include "support/page_end.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

TEST(ShortBytes, SixteenBytesAreLoadableOnlyWithinOnePage) {
    alignas(4096) static char page[2 * 4096];
    EXPECT_TRUE(short_bytes::loadable16(page));
    EXPECT_TRUE(short_bytes::loadable16(page + 4096 - 16)); // ends at the page's last byte
    EXPECT_FALSE(short_bytes::loadable16(page + 4096 - 15));
    EXPECT_FALSE(short_bytes::loadable16(page + 4096 - 1));
    EXPECT_TRUE(short_bytes::loadable16(page + 4096));
}

TEST(ShortBytes, CopiesEveryLengthWhereverTheTextEnds) {
    // At a page's end the 16-byte load would fault: copy() falls back to memcpy there, and
    // elsewhere stores 16 bytes of which the first n are the text.
    test::PageEnd page;
    for (std::size_t n = 0; n <= 40; ++n) {
        std::string text;
        for (std::size_t i = 0; i < n; ++i)
            text += static_cast<char>('A' + i % 26);
        std::string inside = text + std::string(20, '#'); // text with readable bytes after it
        for (const std::string_view src :
             {page.place(text), std::string_view(inside).substr(0, n)}) {
            char dst[64];
            std::memset(dst, '.', sizeof dst);
            short_bytes::copy(dst, src.data(), n);
            ASSERT_EQ(std::string_view(dst, n), text) << "length " << n;
            if (n > 16) {
                EXPECT_EQ(dst[n], '.'); // memcpy: nothing past the text
            }
        }
    }
    short_bytes::copy(nullptr, nullptr, 0); // an empty text may have no data at all
}

} // namespace
} // namespace conveyor
