#pragma once

#include <cstddef>
#include <cstring>
#include <gtest/gtest.h>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>

namespace conveyor::test {

/// Pages of memory each followed by one that may not be read: text placed at the end of a
/// readable page ends at its last readable byte, so code that reads past a text's end without
/// checking the page faults in the test instead of reading a neighbour's bytes unnoticed.
class PageEnd {
public:
    /// `slots` texts can be placed at once.
    explicit PageEnd(std::size_t slots = 1) : slots_(slots) {
        page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        void* m = ::mmap(nullptr, 2 * page_ * slots_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            ADD_FAILURE() << "mmap failed";
            return;
        }
        base_ = static_cast<char*>(m);
        for (std::size_t i = 0; i < slots_; ++i)
            if (::mprotect(base_ + (2 * i + 1) * page_, page_, PROT_NONE) != 0)
                ADD_FAILURE() << "mprotect failed";
    }
    PageEnd(const PageEnd&) = delete;
    PageEnd& operator=(const PageEnd&) = delete;
    ~PageEnd() {
        if (base_ != nullptr) ::munmap(base_, 2 * page_ * slots_);
    }

    /// `text` (at most a page) copied so that its last byte is the last readable byte of slot
    /// `slot`'s page. The view stays valid until the next place() into that slot.
    std::string_view place(std::string_view text, std::size_t slot = 0) {
        char* at = base_ + (2 * slot + 1) * page_ - text.size();
        if (!text.empty()) std::memcpy(at, text.data(), text.size());
        return {at, text.size()};
    }

private:
    std::size_t slots_ = 1;
    char* base_ = nullptr;
    std::size_t page_ = 0;
};

} // namespace conveyor::test
