#include "conveyor/core/shared_library.hpp"

#include <cstring>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(SharedLibrary, AMissingLibraryIsAConfigErrorNamingItAndItsPackage) {
    auto lib = SharedLibrary::open("libconveyor-no-such-library.so.1", "a test library",
                                   "libconveyor-test1");
    ASSERT_FALSE(lib.ok());
    EXPECT_EQ(lib.error().kind, ErrorKind::Config);
    EXPECT_NE(lib.error().message.find("cannot load libconveyor-no-such-library.so.1"),
              std::string::npos)
        << lib.error().message;
    EXPECT_NE(lib.error().message.find("a test library"), std::string::npos);
    EXPECT_NE(lib.error().message.find("apt-get install libconveyor-test1"), std::string::npos);
}

TEST(SharedLibrary, BindsAFunctionAndNamesAMissingOne) {
    auto lib = SharedLibrary::open("libc.so.6", "the C library", "libc6");
    ASSERT_TRUE(lib.ok()) << lib.error().message;
    decltype(&::strlen) fn = nullptr;
    std::string missing;
    ASSERT_TRUE(lib->bind("strlen", fn, missing));
    EXPECT_EQ(fn("four"), 4U);
    EXPECT_TRUE(missing.empty());
    EXPECT_FALSE(lib->bind("conveyor_no_such_function", fn, missing));
    EXPECT_EQ(missing, "conveyor_no_such_function");
}

} // namespace
} // namespace conveyor
