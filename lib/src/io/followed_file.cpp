#include "conveyor/io/followed_file.hpp"

#include "conveyor/core/run_context.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {

namespace {

constexpr std::uint32_t kDirEvents = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE |
                                     IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                     IN_MOVE_SELF;

Failure io_error(const std::string& path, const char* what, int err) {
    return fail(ErrorKind::NoInput, std::string(what) + ": " + std::strerror(err), path);
}

} // namespace

Result<std::unique_ptr<FollowedFile>> FollowedFile::open(const std::string& path, RunContext* run,
                                                         Options options) {
    std::unique_ptr<FollowedFile> f(new FollowedFile());
    f->path_ = path;
    f->run_ = run;
    f->options_ = options;
    const std::size_t slash = path.rfind('/');
    f->dir_ = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    f->name_ = slash == std::string::npos ? path : path.substr(slash + 1);
    if (f->name_.empty()) return fail(ErrorKind::NoInput, "names a directory, not a file", path);

    struct stat st {};
    if (::stat(f->dir_.c_str(), &st) != 0)
        return io_error(path, "cannot watch the file's directory", errno);
    if (!S_ISDIR(st.st_mode))
        return fail(ErrorKind::NoInput, "'" + f->dir_ + "' is not a directory", path);

    // Without inotify (limits reached, unusual file systems) the directory is looked at every
    // poll_interval instead.
    f->inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (f->inotify_fd_ >= 0 &&
        ::inotify_add_watch(f->inotify_fd_, f->dir_.c_str(), kDirEvents) < 0) {
        spdlog::debug("{}: inotify unavailable ({}); checking every {} ms", path,
                      std::strerror(errno), options.poll_interval.count());
        ::close(f->inotify_fd_);
        f->inotify_fd_ = -1;
    }

    // The starting point is now, when the run starts: `from = "end"` skips what is there.
    if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return fail(ErrorKind::NoInput,
                        "is not a regular file (following reads regular files; read a pipe "
                        "with stdin.read or path = \"-\")",
                        path);
        Result<InputFile> file = InputFile::open(path, run);
        if (!file) return std::move(file).error();
        if (options.from == FollowFrom::End) {
            Result<std::uint64_t> end = file->skip_to_end();
            if (!end) return std::move(end).error();
            f->first_pos_ = static_cast<std::int64_t>(*end);
        }
        f->first_.emplace(std::move(file).value());
    } else if (errno != ENOENT) {
        return io_error(path, "cannot open input file", errno);
    }
    return f;
}

FollowedFile::~FollowedFile() {
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

bool FollowedFile::interrupted() const noexcept {
    return run_ && (run_->stop_requested() || run_->cancelled());
}

Result<std::optional<InputFile>> FollowedFile::next_segment() {
    std::optional<InputFile> file;
    std::int64_t start = 0;
    if (segments_ == 0 && first_) {
        file.emplace(std::move(*first_));
        first_.reset();
        start = first_pos_;
    }
    while (!file) {
        if (interrupted()) return std::optional<InputFile>{};
        struct stat st {};
        if (::stat(path_.c_str(), &st) == 0) {
            if (!S_ISREG(st.st_mode))
                return fail(ErrorKind::NoInput, "is no longer a regular file", path_);
            Result<InputFile> opened = InputFile::open(path_, run_);
            if (opened) {
                file.emplace(std::move(opened).value());
                break;
            }
            // Replaced between stat() and open(): look again.
            if (opened.error().kind != ErrorKind::NoInput) return std::move(opened).error();
        } else if (errno != ENOENT) {
            return io_error(path_, "cannot open input file", errno);
        }
        if (!missing_logged_) {
            spdlog::info("{}: waiting for the file to appear", path_);
            missing_logged_ = true;
        }
        Result<bool> woke = wait();
        if (!woke) return std::move(woke).error();
        if (!*woke) return std::optional<InputFile>{};
    }
    missing_logged_ = false;
    // Remember which file this segment reads, to notice when the path names another one.
    // InputFile::open just succeeded, so the path names a file; a rename in between only
    // means the next look sees a rotation a little early or late.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) {
        dev_ = static_cast<std::uint64_t>(st.st_dev);
        ino_ = static_cast<std::uint64_t>(st.st_ino);
    }
    ++segments_;
    end_ = End::None;
    mark_len_ = 0;
    pos_ = start;
    file->follow(this);
    return file;
}

bool FollowedFile::rewritten(int fd) const {
    if (mark_len_ == 0) return false;
    char now[sizeof mark_];
    const ssize_t n = ::pread(fd, now, mark_len_, pos_ - static_cast<std::int64_t>(mark_len_));
    return n != static_cast<ssize_t>(mark_len_) || std::memcmp(now, mark_, mark_len_) != 0;
}

Result<std::size_t> FollowedFile::read(int fd, std::span<char> dst) {
    for (;;) {
        if (interrupted()) {
            end_ = End::Stopped;
            return std::size_t{0};
        }
        if (rewritten(fd)) {
            spdlog::info("{}: file was truncated; reading it again from its beginning", path_);
            end_ = End::Truncated;
            return std::size_t{0};
        }
        const ssize_t n = ::read(fd, dst.data(), dst.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(ErrorKind::Runtime, std::string("read error: ") + std::strerror(errno),
                        path_);
        }
        if (n > 0) {
            // Keep the last bytes read: the tail of this read, after what is left of the old.
            const auto got = static_cast<std::size_t>(n);
            if (got >= sizeof mark_) {
                std::memcpy(mark_, dst.data() + got - sizeof mark_, sizeof mark_);
                mark_len_ = sizeof mark_;
            } else {
                const std::size_t keep = std::min(mark_len_, sizeof mark_ - got);
                std::memmove(mark_, mark_ + mark_len_ - keep, keep);
                std::memcpy(mark_ + keep, dst.data(), got);
                mark_len_ = keep + got;
            }
            pos_ += n;
            return got;
        }
        Result<bool> more = at_end(fd);
        if (!more) return std::move(more).error();
        if (!*more) return std::size_t{0};
    }
}

Result<bool> FollowedFile::at_end(int fd) {
    for (;;) {
        if (interrupted()) {
            end_ = End::Stopped;
            return false;
        }
        // The path first: if it names another file, whatever the old one still holds is
        // read (fstat below) before switching.
        struct stat at_path {};
        const bool path_exists = ::stat(path_.c_str(), &at_path) == 0;
        const bool replaced = path_exists && (static_cast<std::uint64_t>(at_path.st_dev) != dev_ ||
                                              static_cast<std::uint64_t>(at_path.st_ino) != ino_);
        struct stat cur {};
        if (::fstat(fd, &cur) != 0) return io_error(path_, "cannot stat the followed file", errno);
        // Grown (read() checks the bytes before pos_ first), or shorter: truncated.
        if (cur.st_size > pos_) return true;
        if (cur.st_size < pos_) {
            spdlog::info("{}: file was truncated; reading it again from its beginning", path_);
            end_ = End::Truncated;
            return false;
        }
        if (replaced) {
            spdlog::info("{}: file was rotated; reading the new file", path_);
            end_ = End::Rotated;
            return false;
        }
        Result<bool> woke = wait();
        if (!woke) return std::move(woke).error();
        if (!*woke) {
            end_ = End::Stopped;
            return false;
        }
    }
}

Result<bool> FollowedFile::wait() {
    const int interrupt = run_ ? run_->interrupt_fd() : -1;
    pollfd fds[2] = {{interrupt, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const int timeout = static_cast<int>(options_.poll_interval.count());
    for (;;) {
        if (interrupted()) return false;
        const int n = ::poll(fds, 2, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(ErrorKind::Runtime, std::string("poll: ") + std::strerror(errno), path_);
        }
        if (fds[0].revents) return false;
        if (fds[1].revents) {
            // Drain the notifications; whatever they say, the caller looks at the file again.
            alignas(inotify_event) char buf[4096];
            while (::read(inotify_fd_, buf, sizeof buf) > 0) {
            }
        }
        return true;
    }
}

} // namespace conveyor
