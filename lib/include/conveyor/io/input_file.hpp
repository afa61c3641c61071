#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/io/compression.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace conveyor {

class RunContext;

/// A file (or stdin for "-") read in large blocks, gzip and zstd undone on the way (recognised
/// by their magic bytes, whatever the name): readers see the text. A compressed input cannot
/// be read from a position (seekable() is false), so its source takes no checkpoints. Once a
/// graceful stop or a cancellation is requested, read() reports end of input: the source parses and
/// passes on what it already read, then ends. Reads from pipes and terminals can block; they poll
/// the run's interrupt fd too, so a stop wakes them.
/// True when an input starting with `head` is not read as the text it is: a compressed
/// format's magic number (read, or refused as unsupported), or a byte-order mark (UTF-16's and
/// UTF-32's are refused, UTF-8's is dropped by the readers). A writer of text quotes a field
/// that would start its file so.
bool taken_for_a_mark_or_magic(std::string_view head);

class InputFile {
public:
    /// Reads a followed regular file (FollowedFile implements it).
    class Follower {
    public:
        virtual ~Follower() = default;
        /// Reads what follows in `fd` into `dst`, waiting at the end of the file for more.
        /// 0 when this instance of the file is done (rotated, truncated) or a stop came.
        virtual Result<std::size_t> read(int fd, std::span<char> dst) = 0;
    };

    InputFile() = default;
    InputFile(InputFile&&) noexcept;
    InputFile& operator=(InputFile&&) noexcept;
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile();

    /// Opens `path` ("-" = the run's stdin). Missing or unreadable files fail with NoInput and
    /// name the path; directories are rejected; a file compressed in a format conveyor does
    /// not read (xz, bzip2, zip, ...) fails with Data naming the format and how to undo it.
    static Result<InputFile> open(const std::string& path, RunContext* run);

    /// Reads up to dst.size() bytes; 0 at end of input (or when interrupted). Input that starts
    /// with a UTF-16 or UTF-32 byte-order mark fails with ErrorKind::Data (exit 65) on the
    /// first read, naming the encoding and the iconv command that converts it: every reader
    /// of this class parses UTF-8 text. (A UTF-8 byte-order mark is left to the readers, which
    /// skip it.)
    Result<std::size_t> read(std::span<char> dst);

    /// Follow mode (`tail -F`): reads of a regular file go through `follower`, which must
    /// outlive this object; size() becomes unknown, so readers treat the file like a pipe
    /// (emit what has arrived instead of waiting to fill a batch).
    void follow(Follower* follower) noexcept;
    /// Moves to the current end of a regular file (file.watch `from = "end"`): only data
    /// appended later is read. Returns the new position.
    Result<std::uint64_t> skip_to_end();

    /// Moves a regular file to byte `offset` (`conveyor run --resume`: a source continues
    /// where its checkpoint says); the next read() starts there. Fails for pipes, followed
    /// files and offsets past the end of the file.
    Status seek(std::uint64_t offset);
    /// Reads up to dst.size() bytes at `offset` of a regular file without moving the read
    /// position (a source checking that the file still holds what its checkpoint saw). Touches
    /// no state: may run on any thread while another reads.
    Result<std::size_t> read_at(std::uint64_t offset, std::span<char> dst) const;
    /// Another reader of this seekable() file, starting at byte `offset`: it has a descriptor
    /// of its own and reads with pread, so it neither moves nor follows this one's position and
    /// may be read on another thread while this one is (csv.read parsing pieces of one file on
    /// several threads). Call it on the thread that owns this object. Fails for a file that is
    /// not seekable().
    [[nodiscard]] Result<InputFile> reader_at(std::uint64_t offset) const;
    /// A checksum (FNV-1a) of the first 64 bytes of a regular file and of the 64 just before
    /// `offset` (fewer when the offset is smaller): a source's checkpoint keeps it so that a
    /// resumed run can tell that the file still holds what the interrupted one had read (and
    /// that the offset falls where a record ended) without reading the whole file again.
    Result<std::uint64_t> checksum_before(std::uint64_t offset);

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// "<stdin>" for "-", else the path as given: what error messages show.
    [[nodiscard]] const std::string& display_name() const noexcept { return display_; }
    /// Size of a regular file, for progress; nullopt for pipes.
    [[nodiscard]] std::optional<std::uint64_t> size() const noexcept { return size_; }
    [[nodiscard]] std::uint64_t bytes_read() const noexcept { return bytes_read_; }
    /// True for a regular file (seek() and read_at() work) that is not followed and not
    /// compressed.
    [[nodiscard]] bool seekable() const noexcept {
        return regular_ && !follower_ && compression_ == Compression::None;
    }
    /// The compression undone while reading (known at open for a regular file, after the first
    /// read for a pipe).
    [[nodiscard]] Compression compression() const noexcept { return compression_; }
    /// What progress can measure reading against: the size of an uncompressed regular file,
    /// nullopt when the number of bytes the readers will see is not known.
    [[nodiscard]] std::optional<std::uint64_t> progress_size() const noexcept {
        return compression_ == Compression::None ? size_ : std::nullopt;
    }
    /// Whether a read now might wait for data: a pipe or FIFO with nothing to read yet, or a
    /// followed file. Never for a regular file. Readers hand on the records they have rather
    /// than wait with them.
    [[nodiscard]] bool may_block() const noexcept;
    /// True if the last read ended because of a stop/cancel rather than end of file.
    [[nodiscard]] bool interrupted() const noexcept { return interrupted_; }

private:
    /// Reads raw bytes from the file descriptor (or the follower).
    Result<std::size_t> read_block(std::span<char> dst);
    /// A regular file's end at `end`: an error when it had more bytes when it was opened.
    [[nodiscard]] Status check_whole(std::uint64_t end) const;
    /// read() without the check of the input's first bytes: raw bytes or decompressed ones.
    Result<std::size_t> read_data(std::span<char> dst);
    /// Undoes the compression into `dst`.
    Result<std::size_t> read_decoded(std::span<char> dst);
    /// Looks at the first bytes of the input (`head`) for a compressed format: sets up the
    /// decoder, or fails for a format conveyor does not read.
    Status recognise(std::string_view head);
    /// A pipe's first bytes, read into raw_ to recognise a compressed format.
    Status recognise_stream();
    /// Fails for input starting with a UTF-16/UTF-32 byte-order mark; `have` bytes of `dst`
    /// were read from the start of the input (more are read while a mark may be incomplete).
    Result<std::size_t> check_start(std::span<char> dst, std::size_t have);

    int fd_ = -1;
    bool owns_fd_ = false;
    bool regular_ = false;
    bool interrupted_ = false;
    bool start_checked_ = false; ///< the first bytes were checked (or reading starts later)
    Follower* follower_ = nullptr;
    std::string path_;
    std::string display_;
    std::optional<std::uint64_t> size_;
    std::uint64_t bytes_read_ = 0;
    std::string head_; ///< the file's first bytes, read once for checksum_before()
    RunContext* run_ = nullptr;
    bool recognised_ = false; ///< the input's first bytes were checked for a compressed format
    Compression compression_ = Compression::None;
    std::unique_ptr<Decompressor> decoder_;
    std::string raw_; ///< raw bytes read ahead: [raw_begin_, raw_end_) not used yet
    std::size_t raw_begin_ = 0;
    std::size_t raw_end_ = 0;
    bool raw_eof_ = false;           ///< the raw input has ended
    std::uint64_t raw_consumed_ = 0; ///< raw bytes handed to the decoder (error offsets)
    /// A reader_at() reader: where its next positioned read starts.
    std::optional<std::uint64_t> position_;
};

} // namespace conveyor
