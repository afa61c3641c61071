#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/io/input_file.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace conveyor {

class RunContext;

enum class FollowFrom : std::uint8_t { Beginning, End };

/// A file read like `tail -F` (file.watch, csv.read/json.read with follow = true): appended
/// data is read as it arrives, and the file may be rotated.
///
/// The file is read as a series of *segments*, one per instance of the file: an InputFile
/// whose reads wait at the end of the file for more data. A segment ends when
/// - the path names another file (rotation by rename: the old file is read to its end first),
/// - the file became shorter than what was read (truncation, e.g. logrotate's copytruncate),
/// - or a graceful stop or a cancellation is requested (the read is then "interrupted").
/// The next segment is the file now at the path, read from its beginning. Sources parse each
/// segment with a fresh reader, so a CSV header at the top of a new file is read as a header.
///
/// Changes are noticed through inotify on the file's directory, and by looking again every
/// `poll_interval` (file systems without inotify). A truncation followed at once by writes
/// past the old length is noticed too: before each read the last bytes read (up to 64) are
/// compared with what the file now holds there. Known limits, as with `tail -F`: lines a writer
/// still adds to the old file after the switch are not read; a rewrite with the very same bytes
/// before the read position is taken for an append.
///
/// Not thread-safe: one source thread uses it. Blocking waits wake on stop/cancel.
class FollowedFile final : private InputFile::Follower {
public:
    struct Options {
        FollowFrom from = FollowFrom::Beginning;
        std::chrono::milliseconds poll_interval{500};
    };
    enum class End : std::uint8_t { None, Rotated, Truncated, Stopped };

    /// Checks that the directory exists and starts watching it. Never waits for the file:
    /// a missing file is waited for by the first next_segment(). Fails with NoInput naming the
    /// path when the directory is missing or unreadable.
    static Result<std::unique_ptr<FollowedFile>> open(const std::string& path, RunContext* run,
                                                      Options options);
    ~FollowedFile() override;
    FollowedFile(const FollowedFile&) = delete;
    FollowedFile& operator=(const FollowedFile&) = delete;

    /// The next instance of the file, waiting for the path to exist. The first one starts at
    /// the end when `from = End` and the file existed when the run started. nullopt once a
    /// stop or cancellation is requested. The segment must be destroyed before this object.
    Result<std::optional<InputFile>> next_segment();

    /// Why the last segment ended (None while it has not).
    [[nodiscard]] End last_end() const noexcept { return end_; }
    /// Segments handed out so far.
    [[nodiscard]] std::size_t segments() const noexcept { return segments_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    FollowedFile() = default;
    Result<std::size_t> read(int fd, std::span<char> dst) override;
    /// At the end of the file: waits until more may be read (true), or the segment is over
    /// (false, end_ set).
    Result<bool> at_end(int fd);
    /// The bytes just before pos_ are no longer the ones read: the file was truncated and
    /// written again past pos_.
    [[nodiscard]] bool rewritten(int fd) const;
    /// Waits for a change notification, the poll interval, or an interruption. False when
    /// interrupted.
    Result<bool> wait();
    [[nodiscard]] bool interrupted() const noexcept;

    std::string path_;
    std::string dir_;
    std::string name_;
    RunContext* run_ = nullptr;
    Options options_;
    int inotify_fd_ = -1;
    std::optional<InputFile> first_; ///< opened by open() when the file existed
    std::int64_t first_pos_ = 0;     ///< where first_ starts (its end for `from = End`)
    std::size_t segments_ = 0;
    End end_ = End::None;
    std::uint64_t dev_ = 0; ///< identity of the current segment's file
    std::uint64_t ino_ = 0;
    std::int64_t pos_ = 0; ///< read position in it
    char mark_[64] = {};   ///< the last bytes read (up to 64), to notice a rewrite
    std::size_t mark_len_ = 0;
    bool missing_logged_ = false;
};

} // namespace conveyor
