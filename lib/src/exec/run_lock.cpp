#include "conveyor/exec/run_lock.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace conveyor {

std::string state_dir_for(const PipelineSpec& pipeline) {
    if (!pipeline.global.state_dir.empty()) return pipeline.global.state_dir;
    const std::filesystem::path file(pipeline.file);
    const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
    return (dir / ".conveyor").string();
}

std::string spill_dir_for(const PipelineSpec& pipeline) {
    return (std::filesystem::path(state_dir_for(pipeline)) / "spill").string();
}

std::string state_file_stem(const PipelineSpec& pipeline) {
    // Long enough to tell pipelines apart at a glance, short enough for any file system.
    constexpr std::size_t kMaxReadable = 64;
    std::string stem;
    for (const char c : pipeline.name) {
        if (stem.size() == kMaxReadable) break;
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                          (c == '.' && !stem.empty());
        stem += safe ? c : '_';
    }
    if (stem.empty()) stem = "pipeline";

    // The file's identity, not the name it was given on the command line: `p.toml`,
    // `./p.toml` and a symlink to it are the same pipeline.
    std::error_code ec;
    std::filesystem::path where = std::filesystem::absolute(pipeline.file, ec);
    if (!ec) {
        std::filesystem::path canonical = std::filesystem::weakly_canonical(where, ec);
        if (!ec) where = std::move(canonical);
    }
    const std::string text = where.lexically_normal().string();
    std::uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a: stable across runs and builds
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return fmt::format("{}-{:08x}", stem, static_cast<std::uint32_t>(h ^ (h >> 32)));
}

RunLock::RunLock(RunLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}

RunLock& RunLock::operator=(RunLock&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        path_ = std::move(o.path_);
    }
    return *this;
}

RunLock::~RunLock() {
    if (fd_ >= 0) ::close(fd_); // releases the flock
}

Result<RunLock> RunLock::acquire(const PipelineSpec& pipeline) {
    const std::string dir = state_dir_for(pipeline);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return fail(ErrorKind::CantCreate, "cannot create the state directory: " + ec.message(),
                    dir);
    RunLock lock;
    lock.path_ = (std::filesystem::path(dir) / (state_file_stem(pipeline) + ".lock")).string();
    lock.fd_ = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock.fd_ < 0)
        return fail(ErrorKind::CantCreate,
                    std::string("cannot open the lock file: ") + std::strerror(errno), lock.path_);
    if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK)
            return fail(ErrorKind::CantCreate, std::string("cannot lock: ") + std::strerror(errno),
                        lock.path_);
        char holder[64] = {};
        const ssize_t n = ::pread(lock.fd_, holder, sizeof holder - 1, 0);
        std::string who = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : std::string();
        while (!who.empty() && (who.back() == '\n' || who.back() == ' '))
            who.pop_back();
        return fail(ErrorKind::Busy,
                    "another run of pipeline '" + pipeline.name + "' is in progress" +
                        (who.empty() ? std::string() : " (" + who + ")") +
                        "; not starting a second one (--lock)",
                    lock.path_);
    }
    const std::string me = "pid " + std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock.fd_, 0) == 0) {
        const ssize_t w = ::pwrite(lock.fd_, me.data(), me.size(), 0);
        (void)w; // informational only
    }
    return lock;
}

} // namespace conveyor
