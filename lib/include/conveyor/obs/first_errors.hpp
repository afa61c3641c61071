#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::obs {

/// The first few distinct error messages a stage met, with where the first of each happened,
/// so the end-of-run summary can say why records failed without --log-level debug.
/// Bounded: at most kKept messages are kept however many records fail; each kept message
/// counts every record that failed with exactly that text. Thread-safe: any thread may note.
class FirstErrors {
public:
    static constexpr std::size_t kKept = 3;

    struct Entry {
        std::string message;
        /// Position of the first record that failed with this message ("items.csv:5"); empty
        /// when the error carries none (a transform's records do not know their origin).
        std::string at;
        std::uint64_t count = 0;
    };

    void note(std::string_view message, std::string_view at, std::uint64_t records = 1);

    /// A copy of the kept entries, in the order their messages first appeared.
    [[nodiscard]] std::vector<Entry> entries() const;

private:
    mutable std::mutex mu_;
    std::vector<Entry> kept_;
};

} // namespace conveyor::obs
