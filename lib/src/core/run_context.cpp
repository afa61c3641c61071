#include "conveyor/core/run_context.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <random>
#include <set>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace conveyor {

void TempFiles::add(const std::string& path) {
    std::lock_guard lock(mu_);
    paths_.insert(path);
}

void TempFiles::remove(const std::string& path) {
    std::lock_guard lock(mu_);
    paths_.erase(path);
}

void TempFiles::remove_all() noexcept {
    {
        std::lock_guard lock(mu_);
        for (const std::string& p : paths_)
            ::unlink(p.c_str());
        paths_.clear();
    }
    remove_directories();
}

void TempFiles::add_directory(const std::string& dir) {
    std::lock_guard lock(mu_);
    dirs_.push_back(dir);
}

void TempFiles::remove_directories() noexcept {
    std::vector<std::string> dirs;
    {
        std::lock_guard lock(mu_);
        dirs.swap(dirs_);
    }
    // Deepest first: a parent is empty only once its children are gone. By depth, not in the
    // order added: two sinks may create a parent and its child at once.
    const auto depth = [](const std::string& d) {
        const std::filesystem::path p = std::filesystem::path(d).lexically_normal();
        return std::distance(p.begin(), p.end());
    };
    std::stable_sort(dirs.begin(), dirs.end(), [&](const std::string& a, const std::string& b) {
        return depth(a) > depth(b);
    });
    // rmdir() removes only an empty directory.
    for (const std::string& d : dirs)
        ::rmdir(d.c_str());
}

void TempFiles::keep_directories() noexcept {
    std::lock_guard lock(mu_);
    dirs_.clear();
}

Status FinishedOutputs::sync_file_systems(std::vector<Entry>& entries) {
    // Files whose writers left the fsync to now (many small files): one syncfs per file
    // system makes them all durable.
    std::set<dev_t> synced;
    for (Entry& e : entries) {
        if (!e.needs_sync) continue;
        struct stat st {};
        if (::stat(e.temp.c_str(), &st) != 0) continue;
        if (!synced.count(st.st_dev)) {
            const int fd = ::open(e.temp.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || ::syncfs(fd) != 0) {
                const int err = errno;
                if (fd >= 0) ::close(fd);
                return fail(ErrorKind::CantCreate,
                            std::string("cannot make the output durable (syncfs): ") +
                                std::strerror(err),
                            e.target);
            }
            ::close(fd);
            synced.insert(st.st_dev);
        }
        e.needs_sync = false;
    }
    return {};
}

Status FinishedOutputs::make_durable() {
    std::lock_guard lock(mu_);
    return sync_file_systems(entries_);
}

void FinishedOutputs::add(std::string temp, std::string target, bool needs_sync) {
    std::lock_guard lock(mu_);
    entries_.push_back({std::move(temp), std::move(target), needs_sync});
}

std::size_t FinishedOutputs::size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

Status FinishedOutputs::commit_all(TempFiles& temp_files) {
    std::vector<Entry> entries;
    {
        std::lock_guard lock(mu_);
        entries.swap(entries_);
    }
    const auto dir_of = [](const std::string& path) {
        const std::filesystem::path parent = std::filesystem::path(path).parent_path();
        return parent.empty() ? std::string(".") : parent.string();
    };
    Status status = sync_file_systems(entries);
    std::size_t done = 0;
    std::set<std::string> dirs;
    for (; status && done < entries.size(); ++done) {
        const Entry& e = entries[done];
        if (::rename(e.temp.c_str(), e.target.c_str()) != 0) {
            status = fail(ErrorKind::CantCreate,
                          std::string("cannot move the finished output into place: ") +
                              std::strerror(errno),
                          e.target);
            break;
        }
        temp_files.remove(e.temp);
        dirs.insert(dir_of(e.target));
    }
    // Make the renames themselves durable: each directory once.
    for (const std::string& dir : dirs) {
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            ::fsync(dfd);
            ::close(dfd);
        }
    }
    for (std::size_t i = done; i < entries.size(); ++i) {
        ::unlink(entries[i].temp.c_str());
        temp_files.remove(entries[i].temp);
    }
    // Those the files moved into place hold stay.
    if (status)
        temp_files.keep_directories();
    else
        temp_files.remove_directories();
    return status;
}

void FinishedOutputs::roll_back(TempFiles& temp_files, bool keep) noexcept {
    std::vector<Entry> entries;
    {
        std::lock_guard lock(mu_);
        entries.swap(entries_);
    }
    for (const Entry& e : entries) {
        if (!keep) ::unlink(e.temp.c_str());
        temp_files.remove(e.temp);
    }
    if (keep)
        temp_files.keep_directories();
    else
        temp_files.remove_directories();
}

RunContext::RunContext() : interrupt_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    uniform01 = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
}

bool RunContext::wait_for(std::chrono::milliseconds d) const {
    const auto until = std::chrono::steady_clock::now() + d;
    for (;;) {
        if (stop_requested() || cancelled()) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return true;
        pollfd p{interrupt_fd_, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
}

RunContext::~RunContext() {
    if (interrupt_fd_ >= 0) ::close(interrupt_fd_);
}

void RunContext::wake() noexcept {
    if (interrupt_fd_ < 0) return;
    const std::uint64_t one = 1;
    ssize_t r;
    do {
        r = ::write(interrupt_fd_, &one, sizeof one);
    } while (r < 0 && errno == EINTR);
}

void RunContext::request_stop() noexcept {
    if (!stop_.exchange(true)) wake();
}

void RunContext::cancel(Error reason) noexcept {
    std::vector<std::function<void()>> run;
    {
        std::lock_guard lock(mu_);
        if (cancelled_.load()) return;
        reason_ = std::move(reason);
        cancelled_.store(true);
        for (auto& [id, fn] : callbacks_)
            run.push_back(std::move(fn));
        callbacks_.clear();
        running_callbacks_ = true;
        cancelling_thread_ = std::this_thread::get_id();
    }
    wake();
    for (auto& fn : run)
        fn();
    {
        std::lock_guard lock(mu_);
        running_callbacks_ = false;
    }
    callbacks_done_.notify_all();
}

std::optional<Error> RunContext::cancel_reason() const {
    std::lock_guard lock(mu_);
    return reason_;
}

RunContext::CallbackId RunContext::on_cancel(std::function<void()> fn) {
    {
        std::lock_guard lock(mu_);
        if (!cancelled_.load()) {
            const CallbackId id = next_id_++;
            callbacks_.emplace(id, std::move(fn));
            return id;
        }
    }
    fn();
    return 0;
}

void RunContext::remove_on_cancel(CallbackId id) {
    std::unique_lock lock(mu_);
    callbacks_.erase(id);
    // A callback cancel() took may be running right now on another thread.
    if (cancelling_thread_ != std::this_thread::get_id())
        callbacks_done_.wait(lock, [this] { return !running_callbacks_; });
}

} // namespace conveyor
