#include "output_target.hpp"

#include "conveyor/core/run_context.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <random>
#include <spdlog/spdlog.h>
#include <string_view>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace conveyor::output_target {

Failure cant_create(const std::string& path, const std::string& what, int err) {
    std::string hint;
    if (err == EMFILE || err == ENFILE)
        hint = " (a sink split over files keeps max_open_files open: lower it, or raise the "
               "limit with ulimit -n)";
    return fail(ErrorKind::CantCreate, what + ": " + std::strerror(err) + hint, path);
}

std::string random_suffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string s(8, 'x');
    for (char& c : s)
        c = kChars[rng() % (sizeof kChars - 1)];
    return s;
}

/// `.<base>.conveyor-`: how the names of `base`'s temporary files start.
std::string temp_prefix(const std::string& base) {
    return "." + base + ".conveyor-";
}

/// Temporary files of this target left by a run that was killed (kill -9 gives no chance to
/// clean up): `.<name>.conveyor-<pid>-<random>.tmp` whose process no longer exists. `keep`
/// (a file name in `dir`) is spared: a resumed run writes on in the killed run's file; so are
/// the file names in `keep_names` (unique: each holds a pid and a random part).
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& base,
                              const std::string& keep,
                              const std::unordered_set<std::string>* keep_names) {
    // An empty base: the temporary files of every target (`.<any>.conveyor-<pid>-...`).
    const std::string prefix = base.empty() ? std::string(".") : temp_prefix(base);
    constexpr std::string_view kMark = ".conveyor-";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() <= prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0 ||
            !name.ends_with(".tmp") || name == keep || (keep_names && keep_names->count(name)))
            continue;
        std::size_t pid_at = prefix.size();
        if (base.empty()) {
            const std::size_t mark = name.rfind(kMark);
            if (mark == std::string::npos || mark == 0) continue;
            pid_at = mark + kMark.size();
        }
        const std::size_t dash = name.find('-', pid_at);
        if (dash == std::string::npos) continue;
        long pid = 0;
        try {
            pid = std::stol(name.substr(pid_at, dash - pid_at));
        } catch (const std::exception&) {
            continue;
        }
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            std::error_code rm;
            std::filesystem::remove(entry.path(), rm);
        }
    }
}

/// `path` with symbolic links in its last component followed to the file they finally name,
/// which may not exist yet (a dangling link names the file to create). Links in the directories
/// above need nothing: the kernel follows them for the temporary file and the rename alike.
Result<std::string> follow_links(const std::string& path) {
    namespace fs = std::filesystem;
    constexpr int kMaxLinks = 40; // as the kernel's ELOOP limit
    fs::path p(path);
    for (int hops = 0; hops < kMaxLinks; ++hops) {
        std::error_code ec;
        if (!fs::is_symlink(fs::symlink_status(p, ec))) return p.string();
        const fs::path to = fs::read_symlink(p, ec);
        if (ec)
            return fail(ErrorKind::CantCreate,
                        "cannot read the symbolic link " + p.string() + ": " + ec.message(), path);
        p = to.is_absolute() ? to : p.parent_path() / to;
    }
    return fail(ErrorKind::CantCreate, "too many levels of symbolic links", path);
}

namespace {

/// Whether `dir` (canonical) is this process's directory of open descriptors:
/// /proc/<pid>/fd, or /proc/<pid>/task/<tid>/fd (what /proc/thread-self/fd leads to).
bool is_own_descriptor_directory(const std::filesystem::path& dir) {
    const std::string own = "/proc/" + std::to_string(::getpid());
    const std::string d = dir.string();
    if (d == own + "/fd") return true;
    if (!d.starts_with(own + "/task/") || !d.ends_with("/fd")) return false;
    const std::string_view tid =
        std::string_view(d).substr(own.size() + 6, d.size() - own.size() - 6 - 3);
    return !tid.empty() && tid.find_first_not_of("0123456789") == std::string_view::npos;
}

} // namespace

std::optional<int> descriptor_named(const std::string& path) {
    namespace fs = std::filesystem;
    constexpr int kMaxLinks = 40; // as follow_links()
    fs::path p(path);
    for (int hops = 0; hops < kMaxLinks; ++hops) {
        std::error_code ec;
        // The link in /proc names the file behind the descriptor: stop before following it.
        const fs::path dir = fs::canonical(p.has_parent_path() ? p.parent_path() : ".", ec);
        if (!ec && is_own_descriptor_directory(dir)) {
            const std::string name = p.filename().string();
            int fd = -1;
            const auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), fd);
            if (err == std::errc() && end == name.data() + name.size() && fd >= 0) return fd;
            return std::nullopt;
        }
        if (!fs::is_symlink(fs::symlink_status(p, ec))) return std::nullopt;
        const fs::path to = fs::read_symlink(p, ec);
        if (ec) return std::nullopt;
        p = to.is_absolute() ? to : p.parent_path() / to;
    }
    return std::nullopt;
}

namespace {

/// An inotify descriptor watching `path` for opens (a reader coming to a FIFO), or -1.
int watch_opens(const std::string& path) {
    const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) return -1;
    if (::inotify_add_watch(fd, path.c_str(), IN_OPEN) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

} // namespace

Result<int> open_fifo_writer(const std::string& path, const RunContext* run) {
    // A blocking open() is deaf to a stop: a SIGTERM while no reader came failed it with EINTR
    // (exit 73, "Interrupted system call") instead of stopping the run. Without waiting, an open
    // fails with ENXIO until a reader is there; the wait is for the reader's open (inotify) or
    // the stop, whichever comes first.
    const int interrupt = run ? run->interrupt_fd() : -1;
    const int watch = interrupt >= 0 ? watch_opens(path) : -1;
    struct Closer {
        int fd;
        ~Closer() {
            if (fd >= 0) ::close(fd);
        }
    } closer{watch};
    bool said = false;
    for (;;) {
        if (run && (run->stop_requested() || run->cancelled()))
            return fail(ErrorKind::Cancelled,
                        "the run was stopped while waiting for a reader to open this FIFO", path);
        const int fd =
            ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | (watch >= 0 ? O_NONBLOCK : 0));
        if (fd >= 0) {
            if (watch >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            return fd;
        }
        if (errno == EINTR) continue;
        if (errno != ENXIO || watch < 0) return cant_create(path, "cannot open output", errno);
        if (!said) spdlog::info("{}: waiting for a reader to open the FIFO", path);
        said = true;
        pollfd fds[2] = {{watch, POLLIN, 0}, {interrupt, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            return cant_create(path, "cannot wait for a reader of the FIFO", errno);
        char events[4096];
        while (::read(watch, events, sizeof events) > 0) {
        }
    }
}

/// What `path` is, links followed; anything but a regular file, a character device or a FIFO
/// is refused.
Result<Existing> existing_kind(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        // A missing parent directory is created (prepare_directory() reports what stops it).
        if (errno == ENOENT || errno == ENOTDIR) return Existing::Nothing;
        return cant_create(path, "cannot examine the output path", errno);
    }
    if (S_ISREG(st.st_mode)) return Existing::Regular;
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return Existing::Special;
    const char* what = S_ISDIR(st.st_mode)    ? "an existing directory"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return fail(ErrorKind::CantCreate,
                std::string("output path is ") + what +
                    "; outputs are regular files, character devices (such as /dev/null) or FIFOs",
                path);
}

/// The directory an output file goes into, created if missing; fails when `path` names a
/// directory (ends with a separator).
Result<std::filesystem::path> prepare_directory(const std::string& path, TempFiles* created) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    if (target.filename().empty())
        return fail(ErrorKind::CantCreate, "output path names a directory, not a file", path);
    fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    // The missing directories, outermost first; each one created here (not by another sink
    // of the run at the same moment, nor before the run) is the run's to remove if it fails.
    std::vector<fs::path> missing;
    std::error_code ec;
    for (fs::path d = dir; !d.empty() && !fs::exists(d, ec); d = d.parent_path()) {
        missing.push_back(d);
        if (d == d.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        const bool made = fs::create_directory(*it, ec);
        if (ec)
            return fail(ErrorKind::CantCreate,
                        "cannot create directory " + dir.string() + ": " + ec.message(), path);
        if (made && created) created->add_directory(it->string());
    }
    // Something on the way that is not a directory (a file, a dangling link).
    if (!fs::is_directory(dir, ec))
        return fail(ErrorKind::CantCreate,
                    "cannot create directory " + dir.string() + ": " +
                        std::make_error_code(std::errc::not_a_directory).message(),
                    path);
    return dir;
}

} // namespace conveyor::output_target
