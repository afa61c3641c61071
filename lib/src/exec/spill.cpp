#include "conveyor/exec/spill.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/stage/emitter.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace conveyor::spill {

namespace {

constexpr std::size_t kWriteChunk = 1 << 18;
constexpr std::size_t kReadChunk = 1 << 16;
/// A reader starts a new arena past this much text, so that the records a merge has passed
/// on are freed with the batches that hold them. Small: a merge has up to kMaxFanIn readers,
/// each holding its current arena and those of the batches still on their way (1 MiB each
/// made a 32-way merge hold 20 MB more than its budget).
constexpr std::size_t kArenaBytes = 128 << 10;

/// zstd's fast level 5 (`zstd --fast=5`): a spilling group-by of 5M keys took 44 s with gzip
/// level 1, 34 s with zstd level 1 and 23 s with this (faster levels gained nothing more).
constexpr int kZstdLevel = -5;

/// `,[at,"<hex of s>"]` on `out`: a string's own bytes, for the reader to put back.
void append_raw(std::string& out, long long at, std::string_view s) {
    out += fmt::format(",[{},\"", at);
    append_hex(out, s);
    out += "\"]";
}

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

std::string file_stem(std::string_view stage) {
    std::string s = std::to_string(::getpid()) + "-";
    for (char c : stage)
        s.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_');
    return s;
}

void remove_stale(const std::string& dir, std::string_view stage) {
    std::error_code ec;
    const std::string stem = file_stem(stage);
    const std::string suffix = stem.substr(stem.find('-'));
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        const std::size_t dash = name.find('-');
        if (dash == std::string::npos || name.compare(dash, suffix.size(), suffix) != 0) continue;
        // Then "-<seq>.run.zst" (".run.gz" from versions that spilled gzip): another stage
        // whose id starts with this one's is not ours.
        const std::string rest = name.substr(dash + suffix.size());
        const std::size_t ext = rest.ends_with(".run.zst") ? 8 : rest.ends_with(".run.gz") ? 7 : 0;
        if (ext == 0 || rest.size() < ext + 2 || rest[0] != '-' ||
            !std::all_of(rest.begin() + 1, rest.end() - static_cast<std::ptrdiff_t>(ext),
                         [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        const pid_t pid = static_cast<pid_t>(std::atol(name.substr(0, dash).c_str()));
        if (pid <= 0 || pid == ::getpid()) continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH) continue; // still running (or not ours)
        fs::remove(e.path(), ec);
    }
}

void remove(const std::string& path, TempFiles* temp_files) noexcept {
    std::error_code ec;
    fs::remove(path, ec);
    if (temp_files) temp_files->remove(path);
}

int SpillFd::reset() noexcept {
    if (fd_ < 0) return 0;
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
}

Result<RunWriter> RunWriter::create(const std::string& dir, const std::string& stem,
                                    std::size_t seq, TempFiles* temp_files) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return Error(ErrorKind::CantCreate, "cannot create the spill directory: " + ec.message(),
                     dir);
    RunWriter w;
    w.path_ = (fs::path(dir) / fmt::format("{}-{}.run.zst", stem, seq)).string();
    w.file_ = SpillFd(::open(w.path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (w.file_.get() < 0)
        return Error(ErrorKind::CantCreate, "cannot create a spill file: " + errno_text(), w.path_);
    if (temp_files) temp_files->add(w.path_);
    auto zstd = Compressor::make(Compression::Zstd, kZstdLevel);
    if (!zstd) return std::move(zstd).error();
    w.zstd_ = std::move(*zstd);
    return w;
}

Status RunWriter::add(std::span<const Value> keys, const Schema& schema,
                      std::span<const Value> row) {
    // Counted from before the keys: a key may be what holds bytes that are not UTF-8.
    const std::uint64_t replaced = json::replaced_on_this_thread();
    buf_.push_back('[');
    for (const Value& k : keys) {
        json::append_value(buf_, k.is_absent() ? Value::null() : k);
        buf_.push_back(',');
    }
    json::append_record(buf_, schema, row);
    // What JSON text alone would change, after the record: the positions of bare empty fields
    // (read back as "" otherwise, which csv.write quotes) and, where a key or field holds
    // bytes that are not UTF-8 (a Latin-1 file read as text), those bytes, so that a record
    // comes back as it went in: `[keys..., record, [3, [1,"e9"], [-1,"e9"]]]`. Members count
    // without absent fields; key k is -1 - k. Strings nested in lists and objects are not
    // covered.
    const bool raw = json::replaced_on_this_thread() != replaced;
    std::string marks;
    std::size_t member = 0;
    for (const Value& v : row) {
        if (v.is_absent()) continue;
        if (is_bare_empty(v))
            marks += fmt::format(",{}", member);
        else if (raw && v.is_string() && !json::is_utf8(v.as_string()))
            append_raw(marks, static_cast<long long>(member), v.as_string());
        ++member;
    }
    if (raw)
        for (std::size_t k = 0; k < keys.size(); ++k)
            if (keys[k].is_string() && !json::is_utf8(keys[k].as_string()))
                append_raw(marks, -1 - static_cast<long long>(k), keys[k].as_string());
    if (!marks.empty()) {
        marks[0] = '[';
        buf_ += ',';
        buf_ += marks;
        buf_.push_back(']');
    }
    buf_ += "]\n";
    if (buf_.size() >= kWriteChunk) return write_out();
    return {};
}

Status RunWriter::add_line(std::string_view line) {
    buf_ += line;
    buf_.push_back('\n');
    if (buf_.size() >= kWriteChunk) return write_out();
    return {};
}

Status RunWriter::write_all(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(file_.get(), data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error(ErrorKind::CantCreate, "cannot write a spill file: " + errno_text(),
                         path_);
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

Status RunWriter::write_out() {
    if (buf_.empty()) return {};
    packed_.clear();
    if (Status st = zstd_->compress(buf_, packed_); !st)
        return Error(ErrorKind::CantCreate,
                     "cannot write a spill file: " + std::move(st).error().message, path_);
    CONVEYOR_TRY(write_all(packed_));
    bytes_ += buf_.size();
    buf_.clear();
    return {};
}

Status RunWriter::close() {
    CONVEYOR_TRY(write_out());
    packed_.clear();
    if (Status st = zstd_->end_frame(packed_, true); !st)
        return Error(ErrorKind::CantCreate,
                     "cannot write a spill file: " + std::move(st).error().message, path_);
    CONVEYOR_TRY(write_all(packed_));
    if (const int e = file_.reset(); e != 0)
        return Error(ErrorKind::CantCreate,
                     std::string("cannot write a spill file: ") + std::strerror(e), path_);
    return {};
}

Result<std::unique_ptr<RunReader>> RunReader::open(const std::string& path, std::size_t keys) {
    std::unique_ptr<RunReader> r(new RunReader());
    r->path_ = path;
    r->key_count_ = keys;
    r->file_ = SpillFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (r->file_.get() < 0)
        return Error(ErrorKind::Runtime, "cannot read back a spill file: " + errno_text(), path);
    r->zstd_ = Decompressor::make(Compression::Zstd);
    r->arena_ = std::make_shared<Arena>();
    return r;
}

Result<bool> RunReader::read_line() {
    for (;;) {
        const std::size_t nl = buf_.find('\n', pos_);
        if (nl != std::string::npos) {
            line_ = std::string_view(buf_).substr(pos_, nl - pos_);
            pos_ = nl + 1;
            return true;
        }
        if (eof_) {
            if (pos_ < buf_.size())
                return Error(ErrorKind::Runtime, "a spill file ends in the middle of a record",
                             path_);
            return false;
        }
        buf_.erase(0, pos_);
        pos_ = 0;
        CONVEYOR_TRY(decode_more());
    }
}

Status RunReader::decode_more() {
    if (raw_pos_ == raw_.size()) {
        raw_.resize(kReadChunk);
        raw_pos_ = 0;
        ssize_t n;
        do {
            n = ::read(file_.get(), raw_.data(), raw_.size());
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            return Error(ErrorKind::Runtime, "cannot read back a spill file: " + errno_text(),
                         path_);
        raw_.resize(static_cast<std::size_t>(n));
        if (n == 0) {
            if (!zstd_->complete())
                return Error(ErrorKind::Runtime, "a spill file ends in the middle of its data",
                             path_);
            eof_ = true;
            return {};
        }
    }
    const std::size_t had = buf_.size();
    buf_.resize(had + kReadChunk);
    Decompressor::Step step;
    const Status st = zstd_->decode(std::span<const char>(raw_).subspan(raw_pos_),
                                    std::span<char>(buf_).subspan(had), step);
    raw_pos_ += step.consumed;
    buf_.resize(had + step.produced);
    if (!st)
        return Error(ErrorKind::Runtime, "a spill file is corrupt: " + st.error().message, path_);
    return {};
}

Result<bool> RunReader::next() {
    Result<bool> got = read_line();
    if (!got || !*got) return got;
    if (arena_bytes_ > kArenaBytes) {
        arena_ = std::make_shared<Arena>();
        arena_bytes_ = 0;
    }
    // Parsed from a copy in the arena: numbers keep pointing at their text.
    const std::string_view text = arena_->copy(line_);
    arena_bytes_ += text.size() * 2;
    Result<Value> parsed = parser_.parse(text, *arena_);
    if (!parsed)
        return Error(ErrorKind::Runtime,
                     "a spill file holds a broken record: " + parsed.error().message, path_);
    const Value& v = *parsed;
    const std::size_t n = v.kind() == Kind::Array ? v.as_array().size() : 0;
    // [keys..., record] or [keys..., record, [marks]] (RunWriter::add)
    const bool marks = n == key_count_ + 2;
    const auto broken = [&] {
        return Error(ErrorKind::Runtime, "a spill file holds a broken record", path_);
    };
    if ((n != key_count_ + 1 && !marks) || v.as_array()[key_count_].kind() != Kind::Object ||
        (marks && v.as_array().back().kind() != Kind::Array))
        return broken();
    const std::span<const Value> items = v.as_array();
    keys_.clear();
    for (std::size_t k = 0; k < key_count_; ++k)
        keys_.push_back(key_value(items[k]));
    record_ = items[key_count_];
    if (marks) {
        // The parser built the members in this reader's arena: they are ours to change.
        const std::span<const Member> fields = record_.as_object();
        auto* members =
            const_cast<Member*>(fields.data()); // NOLINT(cppcoreguidelines-pro-type-const-cast)
        for (const Value& mark : items.back().as_array()) {
            if (mark.kind() == Kind::Int) { // a bare empty field
                if (mark.as_int() < 0 || static_cast<std::size_t>(mark.as_int()) >= fields.size())
                    return broken();
                members[mark.as_int()].value = bare_empty();
                continue;
            }
            // [position, "hex"]: a key's or field's bytes that are not UTF-8
            const std::span<const Value> pair =
                mark.kind() == Kind::Array ? mark.as_array() : std::span<const Value>{};
            if (pair.size() != 2 || pair[0].kind() != Kind::Int || !pair[1].is_string())
                return broken();
            const std::string_view hex = pair[1].as_string();
            char* bytes = arena_->allocate_array<char>(std::max<std::size_t>(hex.size() / 2, 1));
            if (!read_hex(hex, bytes)) return broken();
            const Value own = Value::string(std::string_view(bytes, hex.size() / 2));
            const std::int64_t at = pair[0].as_int();
            if (at >= 0 && static_cast<std::size_t>(at) < fields.size())
                members[at].value = own;
            else if (at < 0 && static_cast<std::size_t>(-1 - at) < keys_.size())
                keys_[static_cast<std::size_t>(-1 - at)] = own;
            else
                return broken();
        }
    }
    return true;
}

namespace {

bool same_names(const Schema& s, std::span<const Member> fields) {
    if (s.size() != fields.size()) return false;
    for (std::size_t c = 0; c < fields.size(); ++c)
        if (s.name(c) != fields[c].key) return false;
    return true;
}

} // namespace

const SchemaRef& RowShaper::schema_for(std::span<const Member> fields) {
    if (last_ && same_names(*last_, fields)) return last_;
    std::vector<std::string> names;
    names.reserve(fields.size());
    for (const Member& m : fields)
        names.emplace_back(m.key);
    last_ = make_schema(std::move(names));
    return last_;
}

void BatchRebuilder::append(const RunReader& reader, std::size_t capacity,
                            std::vector<Batch>& out) {
    const std::span<const Member> fields = reader.record().as_object();
    if (cur_ && !same_names(cur_->schema(), fields)) {
        out.push_back(std::move(*cur_));
        cur_.reset();
    }
    if (!cur_) {
        cur_.emplace(shaper_.schema_for(fields), capacity);
        kept_ = nullptr;
    }
    if (kept_ != reader.arena().get()) {
        cur_->keep_alive(reader.arena());
        kept_ = reader.arena().get();
    }
    std::span<Value> row = cur_->append_row();
    for (std::size_t c = 0; c < fields.size(); ++c)
        row[c] = fields[c].value;
}

void BatchRebuilder::finish(std::vector<Batch>& out) {
    if (cur_) out.push_back(std::move(*cur_));
    cur_.reset();
    kept_ = nullptr;
}

bool Merger::Later::operator()(std::size_t a, std::size_t b) const {
    const int c = self->compare_(self->readers_[a]->keys(), self->readers_[b]->keys());
    return c != 0 ? c > 0 : a > b;
}

Result<std::unique_ptr<Merger>> Merger::open(const std::vector<std::string>& paths,
                                             std::size_t keys, Compare compare) {
    std::unique_ptr<Merger> m(new Merger());
    m->compare_ = std::move(compare);
    for (const std::string& p : paths) {
        auto r = RunReader::open(p, keys);
        if (!r) return std::move(r).error();
        m->readers_.push_back(std::move(*r));
        Result<bool> got = m->readers_.back()->next();
        if (!got) return std::move(got).error();
        if (*got) m->heap_.push(m->readers_.size() - 1);
    }
    return m;
}

Status Merger::pop() {
    const std::size_t i = heap_.top();
    heap_.pop();
    Result<bool> got = readers_[i]->next();
    if (!got) return std::move(got).error();
    if (*got) heap_.push(i);
    return {};
}

Result<bool> Merger::next(std::size_t max_rows, std::vector<Batch>& out,
                          std::vector<std::int64_t>* first_keys) {
    BatchRebuilder batches(shaper_);
    for (std::size_t n = 0; !heap_.empty() && n < max_rows; ++n) {
        const RunReader& r = top();
        batches.append(r, max_rows, out);
        if (first_keys) first_keys->push_back(r.keys()[0].as_int());
        CONVEYOR_TRY(pop());
    }
    batches.finish(out);
    return !heap_.empty();
}

Files::Files(std::string dir, std::string stage, TempFiles* temp_files)
    : dir_(std::move(dir)), stage_(std::move(stage)), temp_files_(temp_files) {
    remove_stale(dir_, stage_);
}

Result<RunWriter> Files::create() {
    // Numbered across the process: a stage that runs once per window has several instances
    // at a time, each with its own Files.
    static std::atomic<std::size_t> next_seq{0};
    Result<RunWriter> w = RunWriter::create(dir_, file_stem(stage_), next_seq++, temp_files_);
    if (!w) return std::move(w).error().in_stage(stage_);
    paths_.push_back(w->path());
    return w;
}

void Files::remove(const std::string& path) noexcept {
    spill::remove(path, temp_files_);
    std::erase(paths_, path);
}

void Files::remove_all() noexcept {
    for (const std::string& p : paths_)
        spill::remove(p, temp_files_);
    paths_.clear();
}

std::size_t Partitions::partition_of(std::string_view key) const noexcept {
    const std::size_t h = std::hash<std::string_view>{}(key) ^ (salt_ * 0x9E3779B97F4A7C15ull);
    // Mixed again: the low bits pick the bucket of the hash table that reads a partition.
    return ((h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull >> 32) % writers_.size();
}

Status Partitions::add(std::size_t partition, std::int64_t seq, const Schema& schema,
                       std::span<const Value> row) {
    auto& w = writers_[partition];
    if (!w) {
        Result<RunWriter> created = files_.create();
        if (!created) return std::move(created).error();
        w.emplace(std::move(*created));
    }
    const Value key = Value::integer(seq);
    return w->add(std::span<const Value>(&key, 1), schema, row);
}

Result<std::vector<std::string>> Partitions::close() {
    std::vector<std::string> paths(writers_.size());
    for (std::size_t i = 0; i < writers_.size(); ++i) {
        if (!writers_[i]) continue;
        CONVEYOR_TRY(writers_[i]->close());
        paths[i] = writers_[i]->path();
        writers_[i].reset();
    }
    return paths;
}

Status read_records(
    const std::string& path,
    const std::function<Status(std::int64_t, const SchemaRef&, std::span<const Value>)>& fn) {
    auto reader = RunReader::open(path, 1);
    if (!reader) return std::move(reader).error();
    RowShaper shaper;
    std::vector<Value> row;
    for (;;) {
        Result<bool> got = (*reader)->next();
        if (!got) return std::move(got).error();
        if (!*got) return {};
        const std::span<const Member> fields = (*reader)->record().as_object();
        const SchemaRef& schema = shaper.schema_for(fields);
        row.resize(fields.size());
        for (std::size_t c = 0; c < fields.size(); ++c)
            row[c] = fields[c].value;
        CONVEYOR_TRY(fn((*reader)->keys()[0].as_int(), schema, row));
    }
}

Result<bool> emit_merged(std::unique_ptr<Merger>& merger, std::size_t max_rows, Emitter& out,
                         Files& files) {
    std::vector<Batch> batches;
    Result<bool> more = merger->next(max_rows, batches);
    if (!more) return more;
    for (Batch& b : batches)
        out.emit(std::move(b));
    if (!*more) {
        merger.reset();
        files.remove_all();
    }
    return more;
}

Status read_batches(const std::string& path, std::size_t max_rows,
                    const std::function<Status(Batch&, std::span<const std::int64_t>)>& fn) {
    auto m = Merger::open({path}, 1, compare_sequence);
    if (!m) return std::move(m).error();
    std::vector<Batch> batches;
    std::vector<std::int64_t> seqs;
    for (bool more = true; more;) {
        batches.clear();
        seqs.clear();
        Result<bool> got = (*m)->next(max_rows, batches, &seqs);
        if (!got) return std::move(got).error();
        more = *got;
        std::size_t at = 0;
        for (Batch& b : batches) {
            CONVEYOR_TRY(fn(b, std::span<const std::int64_t>(seqs).subspan(at, b.rows())));
            at += b.rows();
        }
    }
    return {};
}

Status
merge_in_passes(std::vector<std::string>& runs, std::size_t fan_in,
                const std::function<Result<std::string>(std::span<const std::string>)>& merge) {
    fan_in = std::max<std::size_t>(fan_in, 2);
    while (runs.size() > fan_in) {
        std::vector<std::string> merged;
        for (std::size_t at = 0; at < runs.size(); at += fan_in) {
            const std::size_t n = std::min(fan_in, runs.size() - at);
            if (n == 1) {
                merged.push_back(runs[at]);
                continue;
            }
            Result<std::string> one = merge(std::span<const std::string>(runs).subspan(at, n));
            if (!one) return std::move(one).error();
            merged.push_back(std::move(*one));
        }
        runs = std::move(merged);
    }
    return {};
}

Status merge_down(Files& files, std::vector<std::string>& runs, std::size_t keys,
                  const Merger::Compare& compare, std::size_t fan_in) {
    return merge_in_passes(runs, fan_in,
                           [&](std::span<const std::string> group) -> Result<std::string> {
                               const std::vector<std::string> paths(group.begin(), group.end());
                               Result<RunWriter> w = files.create();
                               if (!w) return std::move(w).error();
                               {
                                   auto m = Merger::open(paths, keys, compare);
                                   if (!m) return std::move(m).error();
                                   while (!(*m)->done()) {
                                       CONVEYOR_TRY(w->add_line((*m)->top().line()));
                                       CONVEYOR_TRY((*m)->pop());
                                   }
                               }
                               CONVEYOR_TRY(w->close());
                               for (const std::string& p : paths)
                                   files.remove(p);
                               return w->path();
                           });
}

int compare_sequence(const Value* a, const Value* b) {
    const std::int64_t x = a[0].as_int();
    const std::int64_t y = b[0].as_int();
    return x < y ? -1 : x > y ? 1 : 0;
}

Result<std::unique_ptr<Merger>> merge_partitions_in_sequence(
    Files& files, Partitions& parts, std::uint64_t budget,
    const std::function<Result<std::string>(const std::string&)>& make_run) {
    Result<std::vector<std::string>> paths = parts.close();
    if (!paths) return std::move(paths).error();
    std::vector<std::string> runs;
    for (const std::string& p : *paths) {
        if (p.empty()) continue; // no record went to that partition
        Result<std::string> run = make_run(p);
        if (!run) return std::move(run).error();
        runs.push_back(std::move(*run));
    }
    // As many readers at once as fit the budget (a tiny one merges in passes).
    CONVEYOR_TRY(merge_down(files, runs, 1, compare_sequence, fan_in_for(budget)));
    return Merger::open(runs, 1, compare_sequence);
}

} // namespace conveyor::spill
