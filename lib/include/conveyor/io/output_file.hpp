#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/io/compression.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace conveyor {

class RunContext;

/// An all-or-nothing output file. Bytes go to a temporary file in the target's directory
/// (missing parent directories are created); commit() flushes, fsyncs, renames it over the
/// target and fsyncs the directory. Destroyed without commit() (failure, cancellation), the
/// temporary file is deleted: the target is never seen half-written.
///
/// Inside a run (run_pipeline, RunContext::finished_outputs() deferring), commit() does all but
/// the rename: the file is complete and durable, and the run renames it together with its
/// other outputs once every stage has ended well, or rolls it back (a failed run, a batch run
/// stopped by a signal): a run commits all of its outputs or none.
///
/// "-" writes to the run's stdout instead (nothing to rename; commit() just flushes).
///
/// A path naming one of the process's open descriptors (`/dev/stdout`, `/dev/stderr`,
/// `/dev/fd/N`, `/proc/self/fd/N`) writes to that descriptor, as "-" does to stdout, whatever
/// is behind it: a file the caller opened (`>> log`) is written at the caller's offset, never
/// replaced (a rename would lose what the caller wrote there before and after), and is taken
/// like a device (no atomicity, no checkpoint).
///
/// A symbolic link is written through, never replaced: the temporary file goes beside the file
/// the link finally names and is renamed over that file (a dangling link's target is created).
/// A character device (/dev/null, a terminal) or a FIFO is written directly, like standard
/// output: no temporary file, no rename, so there is no atomicity (a reader sees what was
/// written before a failure) and no checkpoint (checkpoint() fails: a resumed run could not
/// take such an output up again). Anything else that is not a regular file (a directory, a
/// block device, a socket) is refused. Write errors are CantCreate (exit 73) naming the path.
///
/// Append mode (open_append(), for sinks with `append = true`) writes to the target itself,
/// at its end: there is no temporary file and nothing is rolled back. Callers hand over whole
/// records (write_and_clear() with complete lines, then flush()), so every write() ends at a
/// line end and a reader never sees half a record unless the process dies inside a write.
/// sync() makes what was written durable (fdatasync); commit() flushes, syncs and closes.
/// A write that fails (a full disk: ENOSPC, EFBIG past a file-size limit, EIO) cuts the file
/// back to the length it had before that write, so it ends with the last complete record.
///
/// Compression (compress()): bytes are gzip- or zstd-compressed on their way to the file. The
/// archive is completed by commit(), by checkpoint() and, in append mode and on standard
/// output, by every flush(): whatever a reader or a resumed run finds ends with a complete
/// archive, and what follows it is another one (gzip members, zstd frames), which every reader
/// takes as the continuation.
///
/// Checkpoints (`conveyor run --resume`): checkpoint() hands everything to the file and says
/// which file holds the output so far and how many bytes of it are good; after the process was
/// killed, adopt() takes that file up again in the resumed run.
class OutputFile {
public:
    /// Where the output stands at a checkpoint: the file being written (the temporary file, or
    /// the target in append mode) and how many bytes of it are the output so far.
    struct Position {
        std::string file;
        std::uint64_t length = 0;
    };

    OutputFile() = default;
    OutputFile(OutputFile&&) noexcept;
    OutputFile& operator=(OutputFile&&) noexcept;
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    ~OutputFile();

    /// Fails with CantCreate naming the path. A FIFO waits, as any writer does, until a reader
    /// opens it.
    /// `remove_stale`: first delete the temporary files of `path` a killed run left (a scan of
    /// the directory); a sink writing many files into one directory scans it once itself
    /// (remove_stale_temporaries_in) instead.
    static Result<OutputFile> create(const std::string& path, RunContext* run,
                                     bool remove_stale = true);
    /// Deletes every output temporary file in `dir` that a process which no longer runs left
    /// (whatever its target), but those whose file names are in `keep` (a resumed run's
    /// adopted files).
    static void remove_stale_temporaries_in(const std::string& dir,
                                            const std::unordered_set<std::string>& keep = {});
    /// How the names of the temporary files that process `pid` writes for `target` (beside it)
    /// begin: `.<name>.conveyor-<pid>-`. A resumed run finds a killed run's files by it.
    static std::string temporary_name_prefix(const std::string& target, std::int64_t pid);
    /// Opens `path` for appending (created if missing, parent directories too). A file whose
    /// last byte is not a line break (a line cut short by a crash; a compressed file is not
    /// looked at) gets one first, so the
    /// records appended now start on a line of their own; a warning names the file. "-" is
    /// the run's stdout, as for create(); links, devices and FIFOs are taken as create() takes
    /// them (a character device or FIFO gets the records and nothing else).
    static Result<OutputFile> open_append(const std::string& path, RunContext* run);
    /// Resuming after the process was killed: continues the output `target` had at a
    /// checkpoint (Position `file_at_checkpoint`, `length`) as if this object had written it.
    /// Without `append`, `file_at_checkpoint` is the killed run's temporary file (another pid
    /// in its name); it must be one of `target`'s temporary files, in its directory. It keeps
    /// its name (a checkpoint of this run names the same file, so a resume from an older
    /// checkpoint still finds it), is registered in run->temp_files(), is not taken for a dead
    /// run's leftover by this run's stale-file cleanup, and commit() renames it over `target`.
    /// With `append`, `file_at_checkpoint` must be `target`. Either way the file is cut back
    /// to `length` (what was written after the checkpoint is written again) and written on at
    /// its end; initial_size() is `length`. Fails (CantCreate, naming the file and saying that
    /// `conveyor run --fresh` starts over) when the file is gone or shorter than `length`.
    static Result<OutputFile> adopt(const std::string& target,
                                    const std::string& file_at_checkpoint, std::uint64_t length,
                                    bool append, RunContext* run);

    /// Compresses what is written from now on (before the first write): `level` within
    /// compression_levels(c). Compression::None does nothing.
    Status compress(Compression c, int level);

    /// Buffers `data`; writes to the file in large chunks.
    Status write(std::string_view data);
    /// Writes `buffer` and clears it (keeps its capacity): the usual way to hand over a
    /// serialised batch without copying.
    Status write_and_clear(std::string& buffer);
    /// Pushes buffered bytes to the file (and, for stdout, to the reader).
    Status flush();
    /// Flushes, fsyncs and closes the file, then renames it over the target and fsyncs the
    /// directory, or hands the rename over to the run (see the class comment). Append mode
    /// and stdout: flushes and syncs. Fails (CantCreate naming the target) without renaming.
    Status commit();
    /// Flushes and, for a file, makes everything written so far durable (fdatasync).
    Status sync();
    /// A checkpoint: hands every buffered byte to the file (write()) and, when `durable`, makes
    /// it survive a machine crash (fdatasync); returns the file written to and its length in
    /// bytes, which adopt() takes back. Not for standard output, a character device or a FIFO
    /// (is_special()), nor after commit().
    Result<Position> checkpoint(bool durable);
    /// Deletes the temporary file now (idempotent; also done by the destructor).
    void abort() noexcept;
    /// Inside a run that defers its commits: commit() leaves making the file durable to the
    /// run, which syncs the file system once (syncfs) before renaming its outputs into place,
    /// instead of one fsync per file (a sink writing thousands of files).
    void defer_sync() noexcept { sync_deferred_ = true; }
    /// Hands everything to the file (ending a compressed archive), closes the descriptor and
    /// frees the buffer, keeping the temporary file; the next write, sync, checkpoint or
    /// commit opens it again and writes on at its end. Nothing for standard output, a device
    /// or a FIFO. For sinks that write many files and keep few open (split_sink.hpp).
    Status suspend();

    /// The path as given (a symbolic link there is written through), what messages name.
    [[nodiscard]] const std::string& path() const noexcept { return name_; }
    [[nodiscard]] bool is_stdout() const noexcept { return stdout_; }
    /// The output is a character device or a FIFO, written directly: nothing to roll back, and
    /// a sink writing it cannot take part in checkpoints.
    [[nodiscard]] bool is_special() const noexcept { return special_; }
    /// Standard output was closed by its reader (EPIPE): writes are discarded from then on
    /// and succeed; a sink should stop taking input (Operator::satisfied).
    [[nodiscard]] bool reader_gone() const noexcept { return reader_gone_; }
    /// Bytes taken by write() and not yet handed to the file (flush() does), before
    /// compression.
    [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size(); }
    [[nodiscard]] bool is_append() const noexcept { return append_ && !special_; }
    /// Append mode: the file's size when it was opened (0 for a new file); adopt(): the
    /// checkpoint's length.
    [[nodiscard]] std::uint64_t initial_size() const noexcept { return initial_size_; }
    /// Bytes written to the file (compressed, when compressing).
    [[nodiscard]] std::uint64_t bytes_written() const noexcept { return bytes_written_; }

private:
    /// A character device or FIFO `file` (links followed from `name`), opened for writing.
    static Result<OutputFile> open_special(const std::string& name, const std::string& file,
                                           RunContext* run);
    /// The process's open descriptor `descriptor`, which `name` names (descriptor_named()).
    static Result<OutputFile> open_descriptor(const std::string& name, int descriptor,
                                              RunContext* run);
    Status write_all(const char* data, std::size_t n);
    /// Starts the write-back of what was written since the last call once that is
    /// kWritebackEvery bytes (see output_file.cpp).
    void start_writeback() noexcept;
    /// Opens the file again after suspend().
    Status reopen();
    /// Compresses what is buffered (completing the archive when `end_frame`, even one with
    /// nothing in it when `even_empty`) and writes it.
    Status write_compressed(bool end_frame, bool even_empty = false);
    /// A write failed with `err`; `before` is bytes_written_ when it began. See the class
    /// comment on append mode.
    Failure write_failed(int err, std::uint64_t before);

    int fd_ = -1;
    bool stdout_ = false;
    int descriptor_ = -1; ///< open_descriptor(): the descriptor the path names
    bool reader_gone_ = false;
    bool committed_ = false;
    bool append_ = false; ///< written in place: append mode, or a special file
    bool special_ = false;
    std::uint64_t initial_size_ = 0;
    std::string name_; ///< the path as given
    std::string path_; ///< the file itself: name_ with symbolic links followed
    std::string temp_path_;
    std::string buffer_;
    std::uint64_t bytes_written_ = 0;
    std::uint64_t writeback_from_ = 0; ///< bytes_written_ at the last start_writeback()
    RunContext* run_ = nullptr;
    bool suspended_ = false;              ///< closed by suspend(), opened again on use
    bool sync_deferred_ = false;          ///< defer_sync()
    std::unique_ptr<Compressor> encoder_; ///< null: written as is
    std::string encoded_;                 ///< compressed bytes on their way to the file
};

} // namespace conveyor
