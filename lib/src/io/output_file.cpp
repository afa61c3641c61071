#include "conveyor/io/output_file.hpp"

#include "conveyor/core/run_context.hpp"
#include "output_target.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace conveyor {

using namespace output_target;

namespace {

constexpr std::size_t kFlushThreshold = 1 << 20;

/// The finished `temp`, about to replace `target`, gets the target's permissions and, where
/// allowed, its owner and group: a rerun turned a `chmod 600` output into a world-readable 0644
/// one (a temporary file's mode comes from the umask). Done at commit, once nothing opens
/// `temp` again (a read-only mode would refuse that). Best effort: on failure the umask's mode.
void keep_mode_and_owner(const std::string& temp, const std::string& target) {
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    // The owner first: chown clears the set-user/group-ID bits that chmod then sets again.
    static_cast<void>(::chown(temp.c_str(), st.st_uid, st.st_gid));
    static_cast<void>(::chmod(temp.c_str(), st.st_mode & 07777));
}

} // namespace

OutputFile::OutputFile(OutputFile&& o) noexcept {
    *this = std::move(o);
}

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
    if (this != &o) {
        abort();
        fd_ = std::exchange(o.fd_, -1);
        stdout_ = o.stdout_;
        descriptor_ = o.descriptor_;
        reader_gone_ = o.reader_gone_;
        committed_ = std::exchange(o.committed_, true);
        append_ = o.append_;
        special_ = o.special_;
        initial_size_ = o.initial_size_;
        name_ = std::move(o.name_);
        path_ = std::move(o.path_);
        temp_path_ = std::move(o.temp_path_);
        buffer_ = std::move(o.buffer_);
        bytes_written_ = o.bytes_written_;
        writeback_from_ = o.writeback_from_;
        run_ = o.run_;
        suspended_ = o.suspended_;
        sync_deferred_ = o.sync_deferred_;
        encoder_ = std::move(o.encoder_);
        encoded_ = std::move(o.encoded_);
        o.temp_path_.clear();
    }
    return *this;
}

OutputFile::~OutputFile() {
    abort();
}

Result<OutputFile> OutputFile::open_special(const std::string& name, const std::string& file,
                                            RunContext* run) {
    OutputFile f;
    f.name_ = name;
    f.path_ = file;
    f.run_ = run;
    f.special_ = true;
    // Written in place, as an append target is: commit() and abort() have nothing to rename or
    // delete. A temporary file renamed over a device or FIFO would destroy it.
    f.append_ = true;
    // No O_CREAT, no O_TRUNC: the device or FIFO is there and stays what it is. A FIFO's open
    // waits for a reader (or the run's stop).
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
        Result<int> fd = open_fifo_writer(file, run);
        if (!fd) return std::move(fd).error();
        f.fd_ = *fd;
    } else {
        f.fd_ = ::open(file.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (f.fd_ < 0) return cant_create(name, "cannot open output", errno);
    }
    const int fd = f.fd_;
    if (::fstat(fd, &st) != 0) return cant_create(name, "cannot stat output", errno);
    if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
        return fail(ErrorKind::CantCreate,
                    "output path changed while it was opened (no longer a device or FIFO)", name);
    spdlog::debug("{}: a {} is written directly, not through a temporary file: the output is "
                  "not atomic (a failed run leaves what it wrote there) and a resumed run "
                  "cannot continue it (it has no checkpoint)",
                  name, S_ISFIFO(st.st_mode) ? "FIFO" : "character device");
    return f;
}

Result<OutputFile> OutputFile::open_descriptor(const std::string& name, int descriptor,
                                               RunContext* run) {
    OutputFile f;
    f.name_ = name;
    f.path_ = name;
    f.run_ = run;
    f.special_ = true; // written in place, like a device: nothing to rename, no checkpoint
    f.append_ = true;
    f.descriptor_ = descriptor;
    // A duplicate shares the caller's offset and O_APPEND: `>> log` is appended to, and what
    // the caller writes after the run follows the records.
    const int fd = ::fcntl(descriptor, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return cant_create(name, "cannot use descriptor " + std::to_string(descriptor), errno);
    f.fd_ = fd;
    const int flags = ::fcntl(fd, F_GETFL);
    // main() opens /dev/null read-only on a standard descriptor the caller closed.
    if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY)
        return fail(ErrorKind::CantCreate,
                    "descriptor " + std::to_string(descriptor) +
                        " is not open for writing (closed, as `>&-` does?)",
                    name);
    return f;
}

void OutputFile::remove_stale_temporaries_in(const std::string& dir,
                                             const std::unordered_set<std::string>& keep) {
    remove_stale_temporaries(dir.empty() ? std::filesystem::path(".") : std::filesystem::path(dir),
                             std::string(), std::string(), &keep);
}

std::string OutputFile::temporary_name_prefix(const std::string& target, std::int64_t pid) {
    return temp_prefix(std::filesystem::path(target).filename().string()) + std::to_string(pid) +
           "-";
}

Result<OutputFile> OutputFile::create(const std::string& path, RunContext* run, bool remove_stale) {
    OutputFile f;
    f.name_ = path;
    f.path_ = path;
    f.run_ = run;
    if (path == "-") {
        f.stdout_ = true;
        f.fd_ = run ? run->stdout_fd : 1;
        f.committed_ = false;
        return f;
    }
    namespace fs = std::filesystem;
    if (const std::optional<int> fd = descriptor_named(path))
        return open_descriptor(path, *fd, run);
    // stat() follows every link, /proc's magic ones too, which only the kernel can follow: a
    // device or FIFO is opened by the path as given.
    auto existing = existing_kind(path);
    if (!existing) return std::move(existing).error();
    if (*existing == Existing::Special) return open_special(path, path, run);
    auto file = follow_links(path);
    if (!file) return std::move(file).error();
    // The temporary file goes beside the file itself, so that the rename replaces that file
    // and not a link to it.
    f.path_ = *file;
    const fs::path target(*file);
    auto prepared = prepare_directory(*file, run ? &run->temp_files() : nullptr);
    if (!prepared) return std::move(prepared).error();
    const fs::path& dir = *prepared;

    const std::string base = target.filename().string();
    if (remove_stale) remove_stale_temporaries(dir, base);
    const std::string prefix = temporary_name_prefix(base, ::getpid());
    for (int attempt = 0; attempt < 16; ++attempt) {
        const std::string temp = (dir / (prefix + random_suffix() + ".tmp")).string();
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            f.fd_ = fd;
            f.temp_path_ = temp;
            if (run) run->temp_files().add(temp);
            f.buffer_.reserve(kFlushThreshold + (kFlushThreshold >> 2));
            return f;
        }
        if (errno != EEXIST) return cant_create(path, "cannot create output file", errno);
    }
    return fail(ErrorKind::CantCreate, "cannot create a temporary file next to the output", path);
}

Result<OutputFile> OutputFile::open_append(const std::string& path, RunContext* run) {
    if (path == "-") return create(path, run);
    if (const std::optional<int> fd = descriptor_named(path))
        return open_descriptor(path, *fd, run);
    auto existing = existing_kind(path);
    if (!existing) return std::move(existing).error();
    // O_RDWR below would make a FIFO never wait for a reader (and lose what is written).
    if (*existing == Existing::Special) return open_special(path, path, run);
    auto file = follow_links(path);
    if (!file) return std::move(file).error();
    if (auto prepared = prepare_directory(*file, run ? &run->temp_files() : nullptr); !prepared)
        return std::move(prepared).error();
    OutputFile f;
    f.name_ = path;
    f.path_ = *file;
    f.run_ = run;
    f.append_ = true;
    const int fd = ::open(file->c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return cant_create(path, "cannot open output file for appending", errno);
    f.fd_ = fd;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return cant_create(path, "cannot stat output file", errno);
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
        return fail(ErrorKind::CantCreate, "is not a regular file", path);
    f.initial_size_ = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
    // A compressed file ends where its last archive does, with any byte: it is not a line.
    char head[4] = {};
    const bool compressed =
        f.initial_size_ > 0 && ::pread(fd, head, sizeof head, 0) > 0 &&
        detect_compression(std::string_view(head, sizeof head)) != Compression::None;
    if (f.initial_size_ > 0 && !compressed) {
        char last = '\n';
        if (::pread(fd, &last, 1, static_cast<off_t>(f.initial_size_ - 1)) != 1)
            return cant_create(path, "cannot read the end of the output file", errno);
        if (last != '\n') {
            spdlog::warn("{}: the file does not end with a line break (its last line was cut "
                         "short, perhaps by a crash); that line is ended here and the new "
                         "records start on the next one",
                         path);
            CONVEYOR_TRY(f.write_all("\n", 1));
        }
    }
    f.buffer_.reserve(kFlushThreshold + (kFlushThreshold >> 2));
    return f;
}

Result<OutputFile> OutputFile::adopt(const std::string& target,
                                     const std::string& file_at_checkpoint, std::uint64_t length,
                                     bool append, RunContext* run) {
    namespace fs = std::filesystem;
    if (target == "-")
        return fail(ErrorKind::Runtime, "standard output cannot be continued after a checkpoint",
                    target);
    // The output was written where create() or open_append() put it: links followed.
    auto existing = existing_kind(target);
    if (!existing) return std::move(existing).error();
    auto resolved = follow_links(target);
    if (!resolved) return std::move(resolved).error();
    const std::string start_over = " (`conveyor run --fresh` starts the run over)";
    if (*existing == Existing::Special || descriptor_named(target))
        return fail(ErrorKind::CantCreate,
                    "output path is a character device or FIFO, which a run cannot continue "
                    "from a checkpoint" +
                        start_over,
                    target);
    auto prepared = prepare_directory(*resolved, run ? &run->temp_files() : nullptr);
    if (!prepared) return std::move(prepared).error();
    const fs::path& dir = *prepared;
    const std::string base = fs::path(*resolved).filename().string();
    const fs::path file(file_at_checkpoint);
    if (append ? file_at_checkpoint != target && file_at_checkpoint != *resolved
               : file.parent_path().lexically_normal() != dir.lexically_normal() ||
                     !file.filename().string().starts_with(temp_prefix(base)) ||
                     !file_at_checkpoint.ends_with(".tmp"))
        // Never truncate a file the checkpoint text merely names.
        return fail(
            ErrorKind::Runtime,
            "the checkpoint to resume from names '" + file_at_checkpoint + "', which is not " +
                (append ? std::string("this output") : "one of this output's temporary files") +
                start_over,
            target);

    OutputFile f;
    f.name_ = target;
    f.path_ = *resolved;
    f.run_ = run;
    f.append_ = append;
    int flags = O_WRONLY | O_CLOEXEC | (append ? O_APPEND : 0);
    // An append target may never have been created before the checkpoint.
    if (append && length == 0) flags |= O_CREAT;
    const int fd = ::open(file_at_checkpoint.c_str(), flags, 0666);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT)
            return fail(ErrorKind::CantCreate,
                        "the output written before the interruption is gone, so the run cannot "
                        "carry on from its checkpoint" +
                            start_over,
                        file_at_checkpoint);
        return cant_create(file_at_checkpoint, "cannot open the output to resume", err);
    }
    f.fd_ = fd;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return cant_create(file_at_checkpoint, "cannot stat", errno);
    if (!S_ISREG(st.st_mode))
        return fail(ErrorKind::CantCreate, "is not a regular file", file_at_checkpoint);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < length)
        return fail(ErrorKind::CantCreate,
                    "the output is " + std::to_string(size) + " bytes, shorter than the " +
                        std::to_string(length) +
                        " it had at the checkpoint to resume from, so the run cannot carry on "
                        "from there" +
                        start_over,
                    file_at_checkpoint);
    // What was written after the checkpoint is written again by this run.
    if (size > length && ::ftruncate(fd, static_cast<off_t>(length)) != 0)
        return cant_create(file_at_checkpoint, "cannot cut the output back to its checkpoint",
                           errno);
    if (::lseek(fd, 0, SEEK_END) < 0)
        return cant_create(file_at_checkpoint, "cannot seek to the end", errno);
    f.initial_size_ = length;
    if (!append) {
        // Ours from now on: deleted on failure like a file create() made. Until here a failure
        // leaves it as it was.
        f.temp_path_ = file_at_checkpoint;
        if (run) run->temp_files().add(file_at_checkpoint);
        remove_stale_temporaries(dir, base, file.filename().string());
    }
    f.buffer_.reserve(kFlushThreshold + (kFlushThreshold >> 2));
    return f;
}

Status OutputFile::suspend() {
    if (stdout_ || special_ || suspended_ || fd_ < 0) return {};
    CONVEYOR_TRY(encoder_ ? write_compressed(true) : flush());
    const int fd = std::exchange(fd_, -1);
    suspended_ = true;
    std::string().swap(buffer_);
    std::string().swap(encoded_);
    if (::close(fd) != 0) return cant_create(name_, "close failed", errno);
    return {};
}

Status OutputFile::reopen() {
    if (!suspended_) return {};
    const std::string& file = append_ ? path_ : temp_path_;
    const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return cant_create(name_, "cannot open the output again", errno);
    fd_ = fd;
    suspended_ = false;
    return {};
}

Status OutputFile::write_all(const char* data, std::size_t n) {
    if (reader_gone_) return {};
    CONVEYOR_TRY(reopen());
    const std::uint64_t before = bytes_written_;
    while (n > 0) {
        const ssize_t w = ::write(fd_, data, n);
        if (w < 0) {
            const int err = errno;
            if (err == EINTR) continue;
            if ((stdout_ || descriptor_ == STDOUT_FILENO) && err == EPIPE) {
                // `conveyor run x.toml | head`: the reader has what it wanted. Not an error;
                // the rest is discarded and the sink asks for no more input.
                spdlog::debug("standard output closed by its reader; discarding the rest");
                reader_gone_ = true;
                buffer_.clear();
                return {};
            }
            return write_failed(err, before);
        }
        data += w;
        n -= static_cast<std::size_t>(w);
        bytes_written_ += static_cast<std::uint64_t>(w);
    }
    start_writeback();
    return {};
}

// The fsync a file gets before it is renamed into place (or at a durable checkpoint) waits for
// everything still dirty: for a 53 MB output, 30 ms at the end of a 160 ms run. Asking the
// kernel to start writing each stretch back as soon as it is complete (without waiting for it)
// overlaps that I/O with the rest of the run and leaves the fsync only the last stretch. A hint:
// a failure changes nothing, the fsync still decides.
void OutputFile::start_writeback() noexcept {
#if defined(SYNC_FILE_RANGE_WRITE)
    constexpr std::uint64_t kWritebackEvery = std::uint64_t{8} << 20;
    if (writeback_from_ > bytes_written_) writeback_from_ = bytes_written_; // cut back
    if (stdout_ || special_ || fd_ < 0 || bytes_written_ - writeback_from_ < kWritebackEvery)
        return;
    const auto from = static_cast<off64_t>(initial_size_ + writeback_from_);
    const auto length = static_cast<off64_t>(bytes_written_ - writeback_from_);
    static_cast<void>(::sync_file_range(fd_, from, length, SYNC_FILE_RANGE_WRITE));
    writeback_from_ = bytes_written_;
#endif
}

Failure OutputFile::write_failed(int err, std::uint64_t before) {
    std::string what = std::string("write failed: ") + std::strerror(err);
    // main() opens /dev/null read-only on a standard output the caller closed.
    if (stdout_ && err == EBADF) what += " (standard output is closed, as `>&-` does)";
    // Appending, the file is the output: part of a record must not stay at its end. Callers
    // hand over whole records, so the length before this write ends with the last complete
    // one. (A temporary file is deleted anyway; a device or FIFO cannot take bytes back.)
    if (append_ && !special_ && bytes_written_ > before) {
        if (::ftruncate(fd_, static_cast<off_t>(initial_size_ + before)) == 0) {
            bytes_written_ = before;
            what += "; the file was cut back to its last complete record";
        } else {
            what += std::string("; cutting the file back to its last complete record failed "
                                "too (") +
                    std::strerror(errno) + "), so its last line may be incomplete";
        }
    }
    return fail(ErrorKind::CantCreate, std::move(what), stdout_ ? std::string("<stdout>") : name_);
}

Status OutputFile::compress(Compression c, int level) {
    if (c == Compression::None) return {};
    auto encoder = Compressor::make(c, level);
    if (!encoder) return std::move(encoder).error();
    encoder_ = std::move(encoder).value();
    return {};
}

Status OutputFile::write_compressed(bool end_frame, bool even_empty) {
    if (reader_gone_) {
        buffer_.clear();
        return {};
    }
    Status s = encoder_->compress(buffer_, encoded_);
    buffer_.clear();
    if (s && end_frame) s = encoder_->end_frame(encoded_, even_empty);
    if (s && !encoded_.empty()) s = write_all(encoded_.data(), encoded_.size());
    encoded_.clear();
    return s;
}

Status OutputFile::write(std::string_view data) {
    if (encoder_) { // buffered whole, so that each write to the file ends an archive's piece
        buffer_.append(data);
        return buffer_.size() >= kFlushThreshold ? flush() : Status{};
    }
    if (buffer_.size() + data.size() > kFlushThreshold) {
        CONVEYOR_TRY(flush());
        if (data.size() >= kFlushThreshold) return write_all(data.data(), data.size());
    }
    buffer_.append(data);
    return {};
}

Status OutputFile::write_and_clear(std::string& buffer) {
    if (!encoder_ && buffer_.empty() && buffer.size() >= kFlushThreshold / 4) {
        Status s = write_all(buffer.data(), buffer.size());
        buffer.clear();
        return s;
    }
    Status s = write(buffer);
    buffer.clear();
    return s;
}

Status OutputFile::flush() {
    // Appending (or writing standard output, a device, a FIFO), what is handed over is read
    // as it is: it ends with a complete archive.
    if (encoder_) return write_compressed(append_ || stdout_);
    if (buffer_.empty()) return {};
    Status s = write_all(buffer_.data(), buffer_.size());
    buffer_.clear();
    return s;
}

Status OutputFile::sync() {
    CONVEYOR_TRY(flush());
    CONVEYOR_TRY(reopen());
    // A device or FIFO has nothing to make durable (a FIFO's fdatasync fails with EINVAL).
    if (stdout_ || special_ || fd_ < 0) return {};
    if (::fdatasync(fd_) != 0 && errno != EINVAL)
        return cant_create(path_, "fdatasync failed", errno);
    return {};
}

Result<OutputFile::Position> OutputFile::checkpoint(bool durable) {
    if (stdout_) return fail(ErrorKind::Internal, "standard output has no checkpoint", "<stdout>");
    CONVEYOR_TRY(reopen());
    if (fd_ < 0) return fail(ErrorKind::Internal, "checkpoint of an output that is closed", path_);
    if (special_)
        return fail(ErrorKind::Runtime,
                    "a character device or FIFO is written directly and a resumed run cannot "
                    "continue it, so it has no checkpoint",
                    name_);
    // A resumed run cuts the file back to here and writes on: a complete archive ends here.
    CONVEYOR_TRY(encoder_ ? write_compressed(true) : flush());
    if (durable && ::fdatasync(fd_) != 0 && errno != EINVAL)
        return cant_create(path_, "fdatasync failed", errno);
    // Everything this object wrote follows what the file held when it was opened.
    return Position{append_ ? path_ : temp_path_, initial_size_ + bytes_written_};
}

Status OutputFile::commit() {
    if (committed_) return {};
    const bool deferring = run_ && run_->finished_outputs().deferring();
    // One of many files: the run syncs the file system once before renaming them all.
    const bool sync_later = deferring && sync_deferred_ && !append_;
    // A suspended file whose bytes are all written (and whose archive, if compressed, ended)
    // needs no descriptor again when the run makes it durable.
    if (suspended_ && sync_later && buffer_.empty() && initial_size_ + bytes_written_ > 0) {
        suspended_ = false;
        keep_mode_and_owner(temp_path_, path_);
        run_->finished_outputs().add(std::exchange(temp_path_, std::string()), path_, true);
        committed_ = true;
        return {};
    }
    CONVEYOR_TRY(reopen());
    // The archive ends; an output with no records is still a valid (empty) archive.
    CONVEYOR_TRY(encoder_ ? write_compressed(true, initial_size_ + bytes_written_ == 0) : flush());
    if (stdout_) {
        committed_ = true;
        return {};
    }
    if (append_) {
        CONVEYOR_TRY(sync());
        const int fd = std::exchange(fd_, -1);
        committed_ = true;
        if (::close(fd) != 0) return cant_create(path_, "close failed", errno);
        return {};
    }
    if (!sync_later && ::fsync(fd_) != 0) return cant_create(path_, "fsync failed", errno);
    if (::close(fd_) != 0) {
        fd_ = -1;
        return cant_create(path_, "close failed", errno);
    }
    fd_ = -1;
    keep_mode_and_owner(temp_path_, path_);
    if (deferring) {
        // The run renames it together with its other outputs, or rolls it back (the file
        // stays registered in temp_files() until then).
        run_->finished_outputs().add(std::exchange(temp_path_, std::string()), path_, sync_later);
        committed_ = true;
        return {};
    }
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
        return cant_create(path_, "cannot move the finished output into place", errno);
    if (run_) run_->temp_files().remove(temp_path_);
    temp_path_.clear();
    committed_ = true;
    // Make the rename itself durable.
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    const std::string dir = parent.empty() ? "." : parent.string();
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

void OutputFile::abort() noexcept {
    if (stdout_) {
        buffer_.clear();
        return;
    }
    if (append_) {
        // Nothing to roll back: what was written stays (whole records). What is still
        // buffered was never written and is dropped.
        buffer_.clear();
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        return;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!temp_path_.empty()) {
        ::unlink(temp_path_.c_str());
        if (run_) run_->temp_files().remove(temp_path_);
        temp_path_.clear();
    }
}

} // namespace conveyor
