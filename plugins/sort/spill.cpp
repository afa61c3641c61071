#include "spill.hpp"

#include "conveyor/exec/run_context.hpp"
#include "conveyor/format/json_writer.hpp"
#include "sort_order.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <zlib.h>

namespace fs = std::filesystem;

namespace conveyor::plugins::sort {

namespace {

constexpr std::size_t kWriteChunk = 1 << 18;
constexpr std::size_t kReadChunk = 1 << 18;
/// A reader starts a new arena past this much text, so that the records a merge has passed
/// on are freed with the batches that hold them.
constexpr std::size_t kArenaBytes = 4 << 20;

gzFile gz(const GzHandle& h) {
    return static_cast<gzFile>(h.get());
}

std::string gz_error(const GzHandle& h) {
    int code = 0;
    const char* msg = gzerror(gz(h), &code);
    if (code == Z_ERRNO) return std::strerror(errno);
    return msg ? msg : "unknown error";
}

} // namespace

void GzCloser::operator()(void* f) const noexcept {
    gzclose(static_cast<gzFile>(f));
}

Result<RunWriter> RunWriter::create(const std::string& dir, const std::string& stem,
                                    std::size_t seq, TempFiles* temp_files) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return Error(ErrorKind::CantCreate, "cannot create the spill directory: " + ec.message(),
                     dir);
    RunWriter w;
    w.path_ = (fs::path(dir) / fmt::format("{}-{}.run.gz", stem, seq)).string();
    w.file_.reset(gzopen(w.path_.c_str(), "wb1"));
    if (!w.file_)
        return Error(ErrorKind::CantCreate,
                     std::string("cannot create a spill file: ") + std::strerror(errno), w.path_);
    if (temp_files) temp_files->add(w.path_);
    return w;
}

Status RunWriter::add(std::span<const Value> keys, const Schema& schema,
                      std::span<const Value> row) {
    buf_.push_back('[');
    for (const Value& k : keys) {
        json::append_value(buf_, k.is_absent() ? Value::null() : k);
        buf_.push_back(',');
    }
    json::append_record(buf_, schema, row);
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

Status RunWriter::write_out() {
    if (buf_.empty()) return {};
    const int n = gzwrite(gz(file_), buf_.data(), static_cast<unsigned>(buf_.size()));
    if (n <= 0 || static_cast<std::size_t>(n) != buf_.size())
        return Error(ErrorKind::CantCreate, "cannot write a spill file: " + gz_error(file_), path_);
    bytes_ += buf_.size();
    buf_.clear();
    return {};
}

Status RunWriter::close() {
    CONVEYOR_TRY(write_out());
    const int rc = gzclose(static_cast<gzFile>(file_.release()));
    if (rc != Z_OK)
        return Error(ErrorKind::CantCreate,
                     std::string("cannot write a spill file: ") +
                         (rc == Z_ERRNO ? std::strerror(errno) : "compression failed"),
                     path_);
    return {};
}

Result<std::unique_ptr<RunReader>> RunReader::open(const std::string& path, std::size_t keys) {
    std::unique_ptr<RunReader> r(new RunReader());
    r->path_ = path;
    r->key_count_ = keys;
    r->file_.reset(gzopen(path.c_str(), "rb"));
    if (!r->file_)
        return Error(ErrorKind::Runtime,
                     std::string("cannot read back a spill file: ") + std::strerror(errno), path);
    gzbuffer(gz(r->file_), 1 << 17);
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
        const std::size_t had = buf_.size();
        buf_.resize(had + kReadChunk);
        const int n = gzread(gz(file_), buf_.data() + had, static_cast<unsigned>(kReadChunk));
        if (n < 0)
            return Error(ErrorKind::Runtime, "cannot read back a spill file: " + gz_error(file_),
                         path_);
        buf_.resize(had + static_cast<std::size_t>(n));
        if (n == 0) eof_ = true;
    }
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
    if (v.kind() != Kind::Array || v.as_array().size() != key_count_ + 1 ||
        v.as_array().back().kind() != Kind::Object)
        return Error(ErrorKind::Runtime, "a spill file holds a broken record", path_);
    const std::span<const Value> items = v.as_array();
    keys_.clear();
    for (auto it = items.begin(); it != items.end() - 1; ++it)
        keys_.push_back(key_value(*it));
    record_ = items.back();
    return true;
}

} // namespace conveyor::plugins::sort
