#include "conveyor/exec/journal.hpp"

#include "conveyor/core/fnv1a.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace conveyor {

namespace {

constexpr char kSep = '\x1f';

std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

/// What the journal was made for: the pipeline file's content and each input file's size and
/// modification time. Any change means recorded results may no longer be the right ones.
std::string journal_meta(const PipelineSpec& p) {
    std::string meta = "pipeline " + RunJournal::fingerprint(read_all(p.file)) + "\n";
    for (const StageSpec& s : p.stages) {
        if (!s.inputs.empty()) continue;
        const OptionValue* path = s.config.find("path");
        if (!path || !path->is_string() || path->as_string() == "-") continue;
        struct stat st {};
        if (::stat(path->as_string().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        meta += fmt::format("input {} {} {}.{:09}\n", path->as_string(), st.st_size,
                            st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
    return meta;
}

/// Checkpoint lines are tab-separated; states and stage ids are escaped so that they never
/// contain a tab or a line break.
void append_escaped(std::string& out, std::string_view s) {
    for (char c : s) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            out += c;
        }
    }
}

std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
    }
    return out;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t tab = line.find('\t', pos);
        parts.push_back(line.substr(pos, tab == std::string_view::npos ? tab : tab - pos));
        if (tab == std::string_view::npos) break;
        pos = tab + 1;
    }
    return parts;
}

/// Calls `fn` with each complete line of `text` (without its '\n'); a last line cut short by
/// a crash is left out.
template <class Fn>
void for_each_line(const std::string& text, Fn&& fn) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) break;
        fn(std::string_view(text.data() + pos, nl - pos));
        pos = nl + 1;
    }
}

Status write_whole(int fd, const std::string& line, const std::string& dir) {
    const char* p = line.data();
    std::size_t n = line.size();
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return fail(ErrorKind::CantCreate,
                        std::string("cannot write the run journal: ") + std::strerror(errno), dir);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

} // namespace

std::string RunJournal::fingerprint(std::string_view text) {
    return fmt::format("{:016x}{:016x}", fnv1a(text, 0xcbf29ce484222325ULL),
                       fnv1a(text, 0x84222325cbf29ce4ULL));
}

bool commits_at_checkpoints(const PipelineSpec& pipeline) {
    return std::any_of(pipeline.stages.begin(), pipeline.stages.end(), [](const StageSpec& st) {
        return st.descriptor && st.descriptor->commits_at_checkpoints;
    });
}

Result<std::unique_ptr<RunJournal>> RunJournal::open(const PipelineSpec& pipeline, Mode mode,
                                                     std::string* note) {
    std::unique_ptr<RunJournal> j(new RunJournal());
    j->dir_ =
        (fs::path(state_dir_for(pipeline)) / (state_file_stem(pipeline) + ".journal")).string();
    j->meta_ = journal_meta(pipeline);
    j->interval_ = std::max<std::uint64_t>(1, pipeline.global.checkpoint_interval);
    std::error_code ec;
    const bool exists = fs::exists(fs::path(j->dir_) / "meta", ec);
    // An earlier run's journal is only touched with its lock: the run may still be going.
    if (exists) {
        Result<bool> locked = j->lock();
        if (!locked) return std::move(locked).error();
        if (!*locked) {
            if (mode == Mode::Resume)
                return fail(ErrorKind::TempFail,
                            "the run to resume is still going (another process holds its journal); "
                            "wait for it to end or stop it, then resume",
                            j->dir_);
            if (note)
                *note = "another run of this pipeline is going on; this run keeps no journal (and "
                        "takes no checkpoints)";
            j->busy_ = true;
            return j;
        }
    }
    if (exists && mode == Mode::Start && commits_at_checkpoints(pipeline) &&
        read_all((fs::path(j->dir_) / "meta").string()) == j->meta_) {
        j->load_checkpoints();
        if (j->resumed_)
            return fail(ErrorKind::Config,
                        "an unfinished run of this pipeline (failed, stopped or killed) committed "
                        "rows to its database sinks at its checkpoints: `conveyor run --resume` "
                        "continues after them; a run from the start would append them again "
                        "(`--fresh` discards the unfinished run's journal)",
                        j->dir_);
        j->finished_.clear(); // loaded for the check only: this run starts afresh
    }
    if (exists && mode == Mode::Resume) {
        const std::string old = read_all((fs::path(j->dir_) / "meta").string());
        if (old != j->meta_) {
            if (note)
                *note =
                    "the journal of the unfinished run was made for a different pipeline file or "
                    "input files (they changed since); starting from the beginning";
            fs::remove_all(j->dir_, ec);
            return j;
        }
        // Entries: one per line, "<stage>\t<key>\t<result>"; a last line cut short by a crash
        // is ignored.
        for_each_line(
            read_all((fs::path(j->dir_) / "entries").string()), [&](std::string_view line) {
                const std::size_t a = line.find('\t');
                const std::size_t b = a == std::string_view::npos ? a : line.find('\t', a + 1);
                if (b == std::string_view::npos) return;
                std::string k(line.substr(0, a));
                k += kSep;
                k += line.substr(a + 1, b - a - 1);
                j->entries_[std::move(k)] = std::string(line.substr(b + 1));
            });
        j->loaded_ = j->entries_.size();
        j->load_checkpoints();
        if (note) {
            const std::string results =
                j->loaded_ == 0
                    ? std::string()
                    : fmt::format("; {} result{} recorded by the unfinished run will not be "
                                  "fetched again",
                                  j->loaded_, j->loaded_ == 1 ? "" : "s");
            if (j->resumed_)
                *note = fmt::format("resuming: from checkpoint {} of the unfinished run{}",
                                    j->resumed_->id, results);
            else
                *note = fmt::format("resuming{}; the inputs are read again from the start (the "
                                    "unfinished run left no checkpoint)",
                                    results.empty() ? std::string() : ":" + results.substr(1));
        }
        // Keep appending to the same journal.
        j->fd_ = ::open((fs::path(j->dir_) / "entries").c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        return j;
    }
    if (exists) {
        if (note && mode != Mode::Resume)
            *note =
                "discarding the journal of an unfinished earlier run (use --resume to continue it)";
        fs::remove_all(j->dir_, ec);
    } else if (mode == Mode::Resume && note) {
        *note =
            "nothing to resume (no unfinished run of this pipeline); running from the beginning";
    }
    return j;
}

RunJournal::~RunJournal() {
    if (fd_ >= 0) ::close(fd_);
    if (checkpoints_fd_ >= 0) ::close(checkpoints_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_); // releases the flock
}

Result<bool> RunJournal::lock() {
    if (lock_fd_ >= 0) return true;
    if (busy_) return false;
    std::error_code ec;
    const fs::path dir = fs::path(dir_).parent_path();
    fs::create_directories(dir, ec);
    if (ec)
        return fail(ErrorKind::CantCreate, "cannot create the run journal: " + ec.message(),
                    dir.string());
    const std::string path = dir_ + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(ErrorKind::CantCreate,
                    std::string("cannot create the run journal: ") + std::strerror(errno), path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        if (errno == EWOULDBLOCK) {
            busy_ = true;
            return false;
        }
        return fail(ErrorKind::CantCreate,
                    std::string("cannot lock the run journal: ") + std::strerror(errno), path);
    }
    lock_fd_ = fd;
    return true;
}

bool RunJournal::usable() const {
    std::lock_guard lock(mu_);
    return !busy_;
}

// The checkpoints file: "c\t<id>(\t<stage>\t<state>)*" per committed checkpoint and
// "f\t<stage>" per finished sink; a last line cut short by a crash is ignored.
void RunJournal::load_checkpoints() {
    for_each_line(read_all((fs::path(dir_) / "checkpoints").string()), [&](std::string_view line) {
        const std::vector<std::string_view> parts = split_tabs(line);
        if (parts.size() == 2 && parts[0] == "f") {
            finished_.push_back(unescape(parts[1]));
        } else if (parts.size() >= 2 && parts.size() % 2 == 0 && parts[0] == "c") {
            CommittedCheckpoint cp;
            try {
                cp.id = std::stoull(std::string(parts[1]));
            } catch (const std::exception&) {
                return;
            }
            for (std::size_t i = 2; i + 1 < parts.size(); i += 2)
                cp.states[unescape(parts[i])] = unescape(parts[i + 1]);
            resumed_ = std::move(cp);
        }
    });
}

bool RunJournal::finished_before(std::string_view stage) const {
    return std::find(finished_.begin(), finished_.end(), stage) != finished_.end();
}

void RunJournal::forget_resumed_checkpoint() {
    resumed_.reset();
    finished_.clear();
    discard_checkpoints();
}

Status RunJournal::ensure_checkpoints_open() {
    if (checkpoints_fd_ >= 0) return {};
    CONVEYOR_TRY(ensure_open());
    if (busy_) return {};
    checkpoints_fd_ = ::open((fs::path(dir_) / "checkpoints").c_str(),
                             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (checkpoints_fd_ < 0)
        return fail(ErrorKind::CantCreate,
                    std::string("cannot write the run journal: ") + std::strerror(errno), dir_);
    return {};
}

Status RunJournal::commit_checkpoint(std::uint64_t id,
                                     const std::vector<std::pair<std::string, std::string>>& states,
                                     bool durable) {
    std::lock_guard lock(mu_);
    CONVEYOR_TRY(ensure_checkpoints_open());
    if (busy_) return {};
    std::string line = fmt::format("c\t{}", id);
    for (const auto& [stage, state] : states) {
        line += '\t';
        append_escaped(line, stage);
        line += '\t';
        append_escaped(line, state);
    }
    line += '\n';
    // One write: a crash leaves whole lines (and at most a cut-short last one).
    CONVEYOR_TRY(write_whole(checkpoints_fd_, line, dir_));
    if (durable) {
        // The recorded results the checkpoint relies on first, then the checkpoint itself.
        if (fd_ >= 0) ::fdatasync(fd_);
        ::fdatasync(checkpoints_fd_);
    }
    return {};
}

Status RunJournal::record_finished(std::string_view stage) {
    std::lock_guard lock(mu_);
    CONVEYOR_TRY(ensure_checkpoints_open());
    if (busy_) return {};
    std::string line = "f\t";
    append_escaped(line, stage);
    line += '\n';
    CONVEYOR_TRY(write_whole(checkpoints_fd_, line, dir_));
    ::fdatasync(checkpoints_fd_);
    return {};
}

void RunJournal::discard_checkpoints() {
    std::lock_guard lock(mu_);
    if (lock_fd_ < 0) return; // not ours (or nothing was written)
    if (checkpoints_fd_ >= 0) {
        ::close(checkpoints_fd_);
        checkpoints_fd_ = -1;
    }
    std::error_code ec;
    fs::remove(fs::path(dir_) / "checkpoints", ec);
}

Status RunJournal::ensure_open() {
    if (fd_ >= 0 || busy_) return {};
    Result<bool> locked = lock();
    if (!locked) return std::move(locked).error();
    if (!*locked) {
        spdlog::info("another run of this pipeline is going on and keeps the run journal; this run "
                     "keeps none (and takes no checkpoints)");
        return {};
    }
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
        return fail(ErrorKind::CantCreate, "cannot create the run journal: " + ec.message(), dir_);
    const std::string meta_path = (fs::path(dir_) / "meta").string();
    {
        std::ofstream m(meta_path, std::ios::binary | std::ios::trunc);
        m << meta_;
        if (!m) return fail(ErrorKind::CantCreate, "cannot write the run journal", meta_path);
    }
    fd_ = ::open((fs::path(dir_) / "entries").c_str(),
                 O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0)
        return fail(ErrorKind::CantCreate,
                    std::string("cannot write the run journal: ") + std::strerror(errno), dir_);
    return {};
}

std::optional<std::string> RunJournal::lookup(std::string_view stage, std::string_view key) const {
    std::string k(stage);
    k += kSep;
    k += key;
    std::lock_guard lock(mu_);
    auto it = entries_.find(k);
    if (it == entries_.end()) return std::nullopt;
    ++reused_;
    return it->second;
}

Status RunJournal::record(std::string_view stage, std::string_view key, std::string_view result) {
    std::lock_guard lock(mu_);
    CONVEYOR_TRY(ensure_open());
    if (busy_) return {};
    std::string line;
    line.reserve(stage.size() + key.size() + result.size() + 3);
    line.append(stage).append("\t").append(key).append("\t").append(result).append("\n");
    // One write per entry: a crash leaves whole lines (and at most a cut-short last one).
    CONVEYOR_TRY(write_whole(fd_, line, dir_));
    std::string k(stage);
    k += kSep;
    k += key;
    entries_[std::move(k)] = std::string(result);
    if (++since_sync_ >= interval_) {
        ::fdatasync(fd_);
        since_sync_ = 0;
    }
    return {};
}

std::uint64_t RunJournal::reused() const {
    std::lock_guard lock(mu_);
    return reused_;
}

void RunJournal::complete() {
    std::lock_guard lock(mu_);
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (checkpoints_fd_ >= 0) {
        ::close(checkpoints_fd_);
        checkpoints_fd_ = -1;
    }
    if (lock_fd_ < 0) return; // another run's journal, or none was written
    std::error_code ec;
    fs::remove_all(dir_, ec);
    // The lock file stays (removing it could let two runs lock two different files).
    ::close(lock_fd_);
    lock_fd_ = -1;
}

} // namespace conveyor
