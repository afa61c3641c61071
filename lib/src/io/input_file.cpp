#include "conveyor/io/input_file.hpp"

#include "conveyor/core/fnv1a.hpp"
#include "conveyor/core/run_context.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace conveyor {

namespace {

/// Byte-order marks of the encodings conveyor cannot read, longest first (UTF-32 LE's mark
/// begins with UTF-16 LE's).
struct WideMark {
    std::string_view bytes;
    std::string_view name;   ///< for the message
    std::string_view family; ///< what iconv -f takes
};
constexpr WideMark kWideMarks[] = {
    {std::string_view("\xFF\xFE\x00\x00", 4), "UTF-32 LE", "UTF-32"},
    {std::string_view("\x00\x00\xFE\xFF", 4), "UTF-32 BE", "UTF-32"},
    {std::string_view("\xFF\xFE", 2), "UTF-16 LE", "UTF-16"},
    {std::string_view("\xFE\xFF", 2), "UTF-16 BE", "UTF-16"},
};

/// Raw bytes read at a time from a compressed input.
constexpr std::size_t kRawBlock = std::size_t{1} << 18;
/// True while `head` is too short to tell whether it starts with one of the marks.
bool may_be_incomplete_mark(std::string_view head) {
    for (const WideMark& m : kWideMarks)
        if (head.size() < m.bytes.size() && m.bytes.starts_with(head)) return true;
    return false;
}

} // namespace

bool taken_for_a_mark_or_magic(std::string_view head) {
    if (head.starts_with("\xEF\xBB\xBF")) return true;
    for (const WideMark& m : kWideMarks)
        if (head.starts_with(m.bytes)) return true;
    return detect_compression(head) != Compression::None ||
           unsupported_compression(head).has_value();
}

InputFile::InputFile(InputFile&& o) noexcept {
    *this = std::move(o);
}

InputFile& InputFile::operator=(InputFile&& o) noexcept {
    if (this != &o) {
        if (owns_fd_ && fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        owns_fd_ = std::exchange(o.owns_fd_, false);
        regular_ = o.regular_;
        interrupted_ = o.interrupted_;
        start_checked_ = o.start_checked_;
        follower_ = std::exchange(o.follower_, nullptr);
        path_ = std::move(o.path_);
        display_ = std::move(o.display_);
        size_ = o.size_;
        bytes_read_ = o.bytes_read_;
        head_ = std::move(o.head_);
        run_ = o.run_;
        recognised_ = o.recognised_;
        compression_ = o.compression_;
        decoder_ = std::move(o.decoder_);
        raw_ = std::move(o.raw_);
        raw_begin_ = o.raw_begin_;
        raw_end_ = o.raw_end_;
        raw_eof_ = o.raw_eof_;
        raw_consumed_ = o.raw_consumed_;
        position_ = o.position_;
    }
    return *this;
}

InputFile::~InputFile() {
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

Result<InputFile> InputFile::open(const std::string& path, RunContext* run) {
    InputFile f;
    f.path_ = path;
    f.run_ = run;
    if (path == "-") {
        f.fd_ = run ? run->stdin_fd : 0;
        f.display_ = "<stdin>";
    } else {
        f.display_ = path;
        // A FIFO's open() waits for a writer, deaf to a stop (SIGINT/SIGTERM/SIGHUP): a run
        // whose producer never came held on until the grace period aborted it. Opened without
        // waiting, it waits for the writer in read_block(), whose poll() also wakes on the
        // stop (EAGAIN until a writer has come; EOF once one has come and gone, as before).
        int flags = O_RDONLY | O_CLOEXEC;
        struct stat pre {};
        if (run && run->interrupt_fd() >= 0 && ::stat(path.c_str(), &pre) == 0 &&
            S_ISFIFO(pre.st_mode))
            flags |= O_NONBLOCK;
        int fd;
        do {
            fd = ::open(path.c_str(), flags);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            const int err = errno;
            return fail(ErrorKind::NoInput,
                        std::string("cannot open input file: ") + std::strerror(err), path);
        }
        f.fd_ = fd;
        f.owns_fd_ = true;
    }
    struct stat st {};
    if (::fstat(f.fd_, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fail(ErrorKind::NoInput, "is a directory, not a file", f.display_);
        if (S_ISREG(st.st_mode)) {
            f.regular_ = true;
            f.size_ = static_cast<std::uint64_t>(st.st_size);
            ::posix_fadvise(f.fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
            // A regular file is recognised now, so that seekable() is right from the start.
            char head[kCompressionMagicBytes];
            Result<std::size_t> n = f.read_at(0, std::span<char>(head, sizeof head));
            if (!n) return std::move(n).error();
            CONVEYOR_TRY(f.recognise(std::string_view(head, *n)));
        }
    }
    return f;
}

void InputFile::follow(Follower* follower) noexcept {
    follower_ = regular_ ? follower : nullptr;
    size_.reset();
}

Result<std::uint64_t> InputFile::skip_to_end() {
    if (!regular_) return std::uint64_t{0};
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0)
        return fail(ErrorKind::Runtime, std::string("seek failed: ") + std::strerror(errno),
                    display_);
    start_checked_ = end != 0;
    return static_cast<std::uint64_t>(end);
}

Status InputFile::seek(std::uint64_t offset) {
    if (!seekable()) return fail(ErrorKind::Runtime, "cannot seek: not a regular file", display_);
    // A file that shrank since the position was taken holds different data: refuse it
    // rather than read from a hole.
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) < offset)
        return fail(ErrorKind::Runtime,
                    "cannot seek to byte " + std::to_string(offset) + ": the file has only " +
                        std::to_string(st.st_size) + " bytes",
                    display_);
    if (position_)
        position_ = offset;
    else if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
        return fail(ErrorKind::Runtime, std::string("seek failed: ") + std::strerror(errno),
                    display_);
    start_checked_ = offset != 0; // the start was checked by the run that read past it
    return {};
}

Result<InputFile> InputFile::reader_at(std::uint64_t offset) const {
    if (!seekable())
        return fail(ErrorKind::Runtime, "cannot read at an offset: not a regular file", display_);
    InputFile f;
    f.fd_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (f.fd_ < 0)
        return fail(ErrorKind::Runtime,
                    std::string("cannot duplicate the file descriptor: ") + std::strerror(errno),
                    display_);
    f.owns_fd_ = true;
    f.regular_ = true;
    f.path_ = path_;
    f.display_ = display_;
    f.size_ = size_;
    f.run_ = run_;
    f.recognised_ = true;
    f.compression_ = Compression::None;
    f.position_ = offset;
    f.start_checked_ = offset != 0;
    return f;
}

Status InputFile::recognise(std::string_view head) {
    recognised_ = true;
    if (auto other = unsupported_compression(head))
        return fail(ErrorKind::Data, "holds " + *other, display_);
    compression_ = detect_compression(head);
    if (compression_ != Compression::None) decoder_ = Decompressor::make(compression_);
    return {};
}

Status InputFile::recognise_stream() {
    // A pipe may deliver the first bytes in pieces: read until the magic numbers are whole,
    // the input ends or a stop comes. Text is not waited on: its first bytes rule out every
    // compressed format.
    raw_.resize(kRawBlock);
    while (raw_end_ < kCompressionMagicBytes &&
           (raw_end_ == 0 || may_be_compression_magic(std::string_view(raw_.data(), raw_end_)))) {
        Result<std::size_t> n =
            read_block(std::span<char>(raw_.data() + raw_end_, raw_.size() - raw_end_));
        if (!n) return std::move(n).error();
        if (*n == 0) {
            if (!interrupted_) raw_eof_ = true;
            break;
        }
        raw_end_ += *n;
    }
    if (raw_end_ == 0 && interrupted_) return {}; // nothing seen yet: recognise it later
    return recognise(std::string_view(raw_.data(), raw_end_));
}

Result<std::size_t> InputFile::read_data(std::span<char> dst) {
    if (decoder_) return read_decoded(dst);
    if (raw_begin_ < raw_end_) { // bytes read ahead to recognise the format
        const std::size_t n = std::min(dst.size(), raw_end_ - raw_begin_);
        std::memcpy(dst.data(), raw_.data() + raw_begin_, n);
        raw_begin_ += n;
        return n;
    }
    if (raw_eof_) return std::size_t{0};
    return read_block(dst);
}

Result<std::size_t> InputFile::read_decoded(std::span<char> dst) {
    for (;;) {
        if (raw_begin_ < raw_end_ || raw_eof_) {
            Decompressor::Step step;
            Status decoded = decoder_->decode(
                std::span<const char>(raw_.data() + raw_begin_, raw_end_ - raw_begin_), dst, step);
            raw_begin_ += step.consumed;
            raw_consumed_ += step.consumed;
            if (!decoded)
                return fail(ErrorKind::Data,
                            decoded.error().message + " at byte " + std::to_string(raw_consumed_) +
                                " of the compressed file",
                            display_);
            if (step.produced > 0) return step.produced;
            if (raw_eof_ && raw_begin_ == raw_end_) {
                if (!decoder_->complete() && !interrupted_)
                    return fail(ErrorKind::Data,
                                "truncated " + std::string(to_string(compression_)) +
                                    " archive: the compressed data ends at byte " +
                                    std::to_string(raw_consumed_) +
                                    " before the archive does (the file was cut short, or is "
                                    "still being written)",
                                display_);
                return std::size_t{0};
            }
            if (step.consumed > 0) continue;
        }
        // Read more: what is left (a piece the decoder could not use yet) moves to the front.
        if (raw_.size() < kRawBlock) raw_.resize(kRawBlock);
        const std::size_t left = raw_end_ - raw_begin_;
        if (left == raw_.size())
            return fail(ErrorKind::Internal, "the decompressor takes no input", display_);
        std::memmove(raw_.data(), raw_.data() + raw_begin_, left);
        raw_begin_ = 0;
        raw_end_ = left;
        Result<std::size_t> n = read_block(std::span<char>(raw_.data() + left, raw_.size() - left));
        if (!n) return n;
        if (*n == 0) raw_eof_ = true;
        raw_end_ += *n;
    }
}

Result<std::size_t> InputFile::read_at(std::uint64_t offset, std::span<char> dst) const {
    if (!regular_ || follower_)
        return fail(ErrorKind::Runtime, "cannot read at an offset: not a regular file", display_);
    std::size_t done = 0;
    while (done < dst.size()) {
        const ssize_t n =
            ::pread(fd_, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(ErrorKind::Runtime, std::string("read error: ") + std::strerror(errno),
                        display_);
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

Result<std::uint64_t> InputFile::checksum_before(std::uint64_t offset) {
    constexpr std::uint64_t kSpan = 64;
    std::uint64_t h = kFnv1aBasis;
    const std::uint64_t tail = offset < kSpan ? 0 : offset - kSpan;
    // The head is the same for every checkpoint of a run: read it once.
    if (head_.size() < std::min(kSpan, offset)) {
        head_.resize(kSpan);
        Result<std::size_t> n = read_at(0, std::span<char>(head_.data(), kSpan));
        if (!n) return std::move(n).error();
        head_.resize(*n);
    }
    for (const std::uint64_t from : {std::uint64_t{0}, tail}) {
        const std::uint64_t len = std::min(kSpan, offset - from);
        char bytes[kSpan];
        const char* data = head_.data();
        if (from != 0) {
            Result<std::size_t> n = read_at(from, std::span<char>(bytes, len));
            if (!n) return std::move(n).error();
            if (*n != len)
                return fail(ErrorKind::Runtime,
                            "the file ends before byte " + std::to_string(offset), display_);
            data = bytes;
        } else if (head_.size() < len) {
            return fail(ErrorKind::Runtime, "the file ends before byte " + std::to_string(offset),
                        display_);
        }
        h = fnv1a(std::string_view(data, len), h);
    }
    return h;
}

Result<std::size_t> InputFile::read(std::span<char> dst) {
    if (!recognised_ && !dst.empty()) {
        CONVEYOR_TRY(recognise_stream());
        if (!recognised_) return std::size_t{0}; // interrupted before the first byte
    }
    Result<std::size_t> n = read_data(dst);
    if (!n || start_checked_ || dst.empty()) return n;
    return check_start(dst, *n);
}

Result<std::size_t> InputFile::check_start(std::span<char> dst, std::size_t have) {
    // A pipe may deliver the mark in pieces: read until it is whole (or cannot be one).
    while (have > 0 && have < dst.size() &&
           may_be_incomplete_mark(std::string_view(dst.data(), have))) {
        Result<std::size_t> more = read_data(dst.subspan(have));
        if (!more) return more;
        if (*more == 0) break;
        have += *more;
    }
    if (have == 0 && interrupted_) return have; // nothing seen yet: check when reading resumes
    start_checked_ = true;
    const std::string_view head(dst.data(), have);
    for (const WideMark& m : kWideMarks) {
        if (!head.starts_with(m.bytes)) continue;
        return fail(ErrorKind::Data,
                    "not UTF-8 (" + std::string(m.name) +
                        " byte-order mark); convert it with "
                        "iconv -f " +
                        std::string(m.family) + " -t UTF-8",
                    display_);
    }
    return have;
}

bool InputFile::may_block() const noexcept {
    if (follower_) return true;
    if (regular_ || fd_ < 0) return false;
    // Data, end of input or an error: a read returns at once.
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

Status InputFile::check_whole(std::uint64_t end) const {
    // A file that ends before the size it had when opened was cut short (truncated, or
    // rewritten) while being read: its last records would be missing without a word.
    if (!size_ || end >= *size_) return {};
    return fail(ErrorKind::Data,
                "the file was cut short while being read: it had " + std::to_string(*size_) +
                    " bytes when opened and now ends at byte " + std::to_string(end),
                display_);
}

Result<std::size_t> InputFile::read_block(std::span<char> dst) {
    if (dst.empty()) return std::size_t{0};
    // A graceful stop (or a cancellation) ends the input: what was read before is still
    // parsed and passed on, nothing more is read.
    if (run_ && (run_->stop_requested() || run_->cancelled())) {
        interrupted_ = true;
        return std::size_t{0};
    }
    if (position_) {
        Result<std::size_t> n = read_at(*position_, dst);
        if (!n) return n;
        if (*n == 0) CONVEYOR_TRY(check_whole(*position_));
        *position_ += *n;
        bytes_read_ += *n;
        return n;
    }
    if (follower_) {
        Result<std::size_t> n = follower_->read(fd_, dst);
        if (!n) return n;
        if (*n == 0 && run_ && (run_->stop_requested() || run_->cancelled())) interrupted_ = true;
        bytes_read_ += *n;
        return n;
    }
    if (!regular_ && run_ && run_->interrupt_fd() >= 0) {
        // Wait for data or for the run to be interrupted, whichever comes first.
        for (;;) {
            if (run_->stop_requested() || run_->cancelled()) {
                interrupted_ = true;
                return std::size_t{0};
            }
            pollfd fds[2] = {{fd_, POLLIN, 0}, {run_->interrupt_fd(), POLLIN, 0}};
            const int n = ::poll(fds, 2, -1);
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail(ErrorKind::Runtime, std::string("poll: ") + std::strerror(errno),
                            display_);
            }
            if (fds[1].revents) {
                interrupted_ = true;
                return std::size_t{0};
            }
            if (fds[0].revents) break;
        }
    }
    for (;;) {
        const ssize_t n = ::read(fd_, dst.data(), dst.size());
        if (n >= 0) {
            if (n == 0 && regular_) {
                const off_t at = ::lseek(fd_, 0, SEEK_CUR);
                if (at >= 0) CONVEYOR_TRY(check_whole(static_cast<std::uint64_t>(at)));
            }
            bytes_read_ += static_cast<std::uint64_t>(n);
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return read_block(dst); // non-blocking stdin: wait in poll again
        // main() opens /dev/null write-only on a standard input the caller closed.
        if (errno == EBADF)
            return fail(ErrorKind::NoInput,
                        "cannot read: not open for reading (standard input closed, as `<&-` "
                        "does?)",
                        display_);
        return fail(ErrorKind::Runtime, std::string("read error: ") + std::strerror(errno),
                    display_);
    }
}

} // namespace conveyor
