#include "conveyor/exec/dead_letter.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/registry/sink_options.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>

namespace conveyor {

namespace {

std::string utc_now() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const std::time_t t = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

/// `"<hex of s>"` on `out`.
void append_hex_string(std::string& out, std::string_view s) {
    out.push_back('"');
    append_hex(out, s);
    out.push_back('"');
}

/// What JSON text alone changes of a record's fields, as members after "record" (none when
/// nothing): `"unquoted_empty":[names]`, the fields read as bare empty strings (an unquoted
/// empty CSV field without type inference, written back empty where "" is quoted), and
/// `"bytes":{name: hex}`, the fields whose text is not UTF-8 (a Latin-1 file), which the
/// record shows with U+FFFD. `conveyor replay` puts both back.
void append_as_read(std::string& out, const Schema& schema, std::span<const Value> row) {
    std::string empty;
    std::string bytes;
    for (std::size_t i = 0; i < row.size() && i < schema.size(); ++i) {
        const Value& v = row[i];
        if (!v.is_string()) continue;
        if (is_bare_empty(v)) {
            empty += empty.empty() ? "" : ",";
            json::append_string(empty, schema.name(i));
        } else if (!json::is_utf8(v.as_string())) {
            bytes += bytes.empty() ? "" : ",";
            json::append_string(bytes, schema.name(i));
            bytes.push_back(':');
            append_hex_string(bytes, v.as_string());
        }
    }
    if (!empty.empty()) out += ",\"unquoted_empty\":[" + empty + "]";
    if (!bytes.empty()) out += ",\"bytes\":{" + bytes + "}";
}

} // namespace

DeadLetterQueue::~DeadLetterQueue() = default;

// The checkpoint state is a file sink's (sink_checkpoint_text) with the entries written.
Result<std::unique_ptr<DeadLetterQueue>>
DeadLetterQueue::open(const std::string& path, RunContext* run,
                      const std::optional<std::string>& resume) {
    std::unique_ptr<DeadLetterQueue> q(new DeadLetterQueue());
    q->path_ = path;
    q->run_ = run;
    if (resume) {
        auto parsed = SinkResume::parse(kCheckpointName, *resume, path, false);
        if (!parsed) return std::move(parsed).error();
        auto entries = parsed->get_count("entries");
        if (!entries) return std::move(entries).error();
        auto out = parsed->adopt(run);
        if (!out) return std::move(out).error();
        q->out_ = std::make_unique<OutputFile>(std::move(out).value());
        q->count_ = *entries;
        return q;
    }
    auto out = OutputFile::create(path, run);
    if (!out) return std::move(out).error();
    q->out_ = std::make_unique<OutputFile>(std::move(out).value());
    return q;
}

void DeadLetterQueue::keep_back_for_checkpoints() {
    std::lock_guard lock(mu_);
    keep_back_ = true;
}

Status DeadLetterQueue::put_locked(std::uint64_t epoch) {
    ++count_;
    if (!keep_back_) return out_->write(buf_);
    waiting_.emplace_back(epoch, buf_);
    return {};
}

Result<std::string> DeadLetterQueue::checkpoint(std::uint64_t id, bool durable) {
    std::lock_guard lock(mu_);
    std::uint64_t written = count_ - waiting_.size();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (it->first >= id) {
            ++it;
            continue;
        }
        CONVEYOR_TRY(out_->write(it->second));
        ++written;
        it = waiting_.erase(it);
    }
    Result<OutputFile::Position> at = out_->checkpoint(durable);
    if (!at) return std::move(at).error();
    return sink_checkpoint_text(kCheckpointName, path_, false, *at,
                                fmt::format("\"entries\":{}", written));
}

void DeadLetterQueue::begin_entry(std::string_view stage, const Error& error,
                                  std::uint32_t attempts) {
    buf_.clear();
    buf_ += "{\"stage\":";
    json::append_string(buf_, stage);
    buf_ += ",\"error\":{\"kind\":";
    json::append_string(buf_, to_string(error.kind));
    buf_ += ",\"message\":";
    json::append_string(buf_, error.message);
    buf_ += "},\"attempts\":";
    json::append_int(buf_, attempts);
    buf_ += ",\"timestamp\":";
    json::append_string(buf_, utc_now());
    if (!error.where.empty()) {
        buf_ += ",\"where\":";
        json::append_string(buf_, error.where);
    }
}

Status DeadLetterQueue::add(std::string_view stage, const Schema& schema,
                            std::span<const Value> row, const Error& error, std::uint32_t attempts,
                            std::uint64_t epoch) {
    Status s;
    {
        std::lock_guard lock(mu_);
        begin_entry(stage, error, attempts);
        buf_ += ",\"record\":";
        json::append_record(buf_, schema, row);
        append_as_read(buf_, schema, row);
        buf_ += "}\n";
        s = put_locked(epoch);
    }
    return failed(std::move(s));
}

Status DeadLetterQueue::add_raw(std::string_view stage, std::string_view raw, const Error& error,
                                std::uint64_t epoch) {
    Status s;
    {
        std::lock_guard lock(mu_);
        begin_entry(stage, error, 1);
        buf_ += ",\"raw\":";
        json::append_string(buf_, raw);
        if (!json::is_utf8(raw)) { // "raw" shows U+FFFD: the bytes as they were
            buf_ += ",\"raw_bytes\":";
            append_hex_string(buf_, raw);
        }
        buf_ += "}\n";
        s = put_locked(epoch);
    }
    return failed(std::move(s));
}

Status DeadLetterQueue::failed(Status s) {
    // The stage's strategy may continue past its own failures; dead letters that cannot be
    // written are the run's: it stops and commits nothing.
    if (!s && run_) run_->cancel(s.error());
    return s;
}

std::uint64_t DeadLetterQueue::count() const {
    std::lock_guard lock(mu_);
    return count_;
}

Status DeadLetterQueue::commit() {
    std::lock_guard lock(mu_);
    for (const auto& [epoch, line] : waiting_)
        CONVEYOR_TRY(out_->write(line));
    waiting_.clear();
    return out_->commit();
}

} // namespace conveyor
