#pragma once

// This process's reads so far, from /proc/self/io: for tests that check how much a reader
// reads (a chunk that reads far past its end, a record read again and again).

#include <cstdint>
#include <fstream>
#include <string>

namespace conveyor::test {

/// Read system calls made and bytes read so far, by every thread of this process.
struct ReadCounts {
    std::uint64_t calls = 0;
    std::uint64_t bytes = 0;
};

inline ReadCounts read_counts() {
    std::ifstream io("/proc/self/io");
    ReadCounts c;
    std::string key;
    std::uint64_t value = 0;
    while (io >> key >> value) {
        if (key == "syscr:") c.calls = value;
        if (key == "rchar:") c.bytes = value;
    }
    return c;
}

} // namespace conveyor::test
