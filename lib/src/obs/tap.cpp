#include "conveyor/obs/tap.hpp"

#include "conveyor/core/batch.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/terminal.hpp"

#include <charconv>
#include <fmt/format.h>
#include <mutex>
#include <set>

namespace conveyor::obs {

struct Taps::StageTap {
    std::string id;
    std::mutex mu; // a stream stage may emit from several coroutines
    std::uint64_t limit = 0;
    std::uint64_t printed = 0;
    std::optional<OutputFile> file;
    std::optional<Error> error;
    std::string buf;
};

Result<TapRequest> parse_tap(std::string_view text) {
    TapRequest t;
    const auto colon = text.rfind(':');
    t.stage = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
        const std::string_view n = text.substr(colon + 1);
        std::uint64_t v = 0;
        const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || v == 0)
            return Error(ErrorKind::Usage,
                         fmt::format("--tap '{}': the count after ':' must be a whole number of "
                                     "records, at least 1 (e.g. --tap {}:5)",
                                     text, t.stage.empty() ? "STAGE" : t.stage));
        t.limit = v;
    }
    if (t.stage.empty())
        return Error(ErrorKind::Usage,
                     fmt::format("--tap '{}': name a stage (--tap STAGE[:N])", text));
    return t;
}

std::string intermediate_file_name(std::string_view stage_id) {
    std::string name;
    for (char c : stage_id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        name += ok ? c : '_';
    }
    if (name.empty() || name.front() == '.') name.insert(name.begin(), '_');
    return name + ".jsonl";
}

Result<std::unique_ptr<Taps>> Taps::create(std::vector<TapRequest> taps,
                                           std::optional<std::string> keep_dir,
                                           const std::vector<std::string>& stages,
                                           RunContext* run) {
    std::unique_ptr<Taps> t(new Taps());
    auto entry = [&](const std::string& id) -> StageTap& {
        auto& slot = t->stages_[id];
        if (!slot) {
            slot = std::make_unique<StageTap>();
            slot->id = id;
        }
        return *slot;
    };
    for (TapRequest& r : taps) {
        StageTap& s = entry(r.stage);
        s.limit = std::max(s.limit, r.limit); // the same stage tapped twice: the larger count
    }
    if (keep_dir) {
        std::set<std::string> used;
        for (const std::string& id : stages) {
            const std::string base = intermediate_file_name(id);
            std::string name = base;
            // Two ids that map to the same name ("a/b", "a_b") get distinct files.
            for (int k = 2; used.count(name); ++k)
                name = fmt::format("{}-{}.jsonl", base.substr(0, base.size() - 6), k);
            used.insert(name);
            Result<OutputFile> f = OutputFile::create(*keep_dir + "/" + name, run);
            if (!f) return std::move(f).error();
            entry(id).file.emplace(std::move(f).value());
        }
    }
    return t;
}

Taps::~Taps() = default;

bool Taps::observes(std::string_view stage_id) const {
    return stages_.find(std::string(stage_id)) != stages_.end();
}

void Taps::on_batch(std::string_view stage_id, const Batch& batch) {
    const auto it = stages_.find(std::string(stage_id));
    if (it == stages_.end()) return;
    StageTap& s = *it->second;
    std::lock_guard lock(s.mu);
    if (s.printed < s.limit) {
        std::string lines;
        for (std::size_t r = 0; r < batch.rows() && s.printed < s.limit; ++r) {
            ++s.printed;
            lines += "{\"tap\":";
            json::append_string(lines, s.id);
            lines += fmt::format(",\"n\":{},\"record\":", s.printed);
            json::append_record(lines, batch.schema(), batch.row(r));
            lines += "}\n";
        }
        StderrWriter::instance().write(lines);
    }
    if (s.file && !s.error) {
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            json::append_record(s.buf, batch.schema(), batch.row(r));
            s.buf += '\n';
        }
        if (Status st = s.file->write_and_clear(s.buf); !st) {
            s.error = std::move(st).error();
            spdlog::warn("--keep-intermediate: stage '{}': {}; its file is left out", s.id,
                         s.error->to_string());
            s.file->abort();
        }
    }
}

Status Taps::finish() {
    Status first;
    for (auto& [id, s] : stages_) {
        std::lock_guard lock(s->mu);
        if (!s->file) continue;
        if (s->error) {
            if (first) first = *s->error;
            continue;
        }
        if (Status st = s->file->commit(); !st && first) first = std::move(st).error();
    }
    return first;
}

} // namespace conveyor::obs
