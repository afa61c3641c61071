#include "edge_spill.hpp"

#include "conveyor/core/run_context.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace conveyor::exec {

namespace {

/// Moves `from`'s checkpoint marker, metadata and output tag to `to`: what travels with a
/// batch's records, for the shell that stands for them on the edge and back.
void move_control(Batch& from, Batch& to) {
    to.set_checkpoint(from.take_checkpoint());
    for (BatchInfo& info : from.take_infos())
        to.add_info(std::move(info));
    to.set_output(from.output());
}

/// Each record's lineage id (0 for none) is the record's one key.
Status write_rows(spill::RunWriter& writer, const Batch& batch) {
    for (std::size_t r = 0; r < batch.rows(); ++r) {
        const Value id = Value::integer(static_cast<std::int64_t>(batch.lineage(r)));
        CONVEYOR_TRY(writer.add({&id, 1}, batch.schema(), batch.row(r)));
    }
    return {};
}

/// The shell standing for `batch`'s records in `file`.
EdgeItem shell_of(Batch& batch, std::shared_ptr<EdgeSpillFile> file) {
    EdgeItem item;
    item.batch = Batch(batch.schema_ref());
    move_control(batch, item.batch);
    item.spilled_rows = batch.rows();
    item.file = std::move(file);
    return item;
}

} // namespace

std::string edge_spill_name(std::string_view stage, std::uint32_t output) {
    return fmt::format("{}.edge{}", stage, output);
}

Result<EdgeItem> EdgeSpillWriter::spill(Batch batch) {
    if (!writer_) {
        // What a killed run left was removed when this one started (run_dag).
        const std::string name = edge_spill_name(stage_, output_);
        Result<spill::RunWriter> w =
            spill::RunWriter::create(dir_, spill::file_stem(name), 0, &temp_files_);
        if (!w) return std::move(w).error().in_stage(stage_);
        writer_.emplace(std::move(*w));
        file_ = std::make_shared<EdgeSpillFile>(writer_->path(), temp_files_);
        spdlog::info("stage '{}': its buffered output is beyond the edges' memory share: the "
                     "rest waits for its consumers in {}",
                     stage_, writer_->path());
    }
    if (Status s = write_rows(*writer_, batch); !s) return std::move(s).error().in_stage(stage_);
    return shell_of(batch, file_);
}

Result<EdgeItem> spill_alone(const std::string& dir, std::string_view name, std::size_t seq,
                             TempFiles& temp_files, Batch batch) {
    Result<spill::RunWriter> w =
        spill::RunWriter::create(dir, spill::file_stem(name), seq, &temp_files);
    if (!w) return std::move(w).error();
    auto file = std::make_shared<EdgeSpillFile>(w->path(), temp_files);
    CONVEYOR_TRY(write_rows(*w, batch));
    CONVEYOR_TRY(w->close());
    return shell_of(batch, std::move(file));
}

Status EdgeSpillWriter::close() {
    if (!writer_) return {};
    Status s = writer_->close();
    writer_.reset();
    if (!s) return std::move(s).error().in_stage(stage_);
    return {};
}

Result<Batch> EdgeSpillReader::restore(EdgeItem item) {
    Batch b = std::move(item.batch);
    if (item.spilled_rows == 0) return b;
    auto it = std::find_if(open_.begin(), open_.end(),
                           [&](const Open& o) { return o.file == item.file; });
    if (it == open_.end()) {
        Result<std::unique_ptr<spill::RunReader>> r = spill::RunReader::open(item.file->path(), 1);
        if (!r) return std::move(r).error();
        open_.push_back(Open{item.file, std::move(*r)});
        it = std::prev(open_.end());
    }
    spill::RunReader* reader = it->reader.get();
    // The shell keeps the schema the records were written with; a record lists the fields it
    // had (absent ones left out) in that order.
    const Schema& schema = b.schema();
    Batch out(b.schema_ref(), item.spilled_rows);
    const void* kept = nullptr;
    for (std::size_t n = 0; n < item.spilled_rows; ++n) {
        Result<bool> got = reader->next();
        if (!got) return std::move(got).error();
        if (!*got)
            return Error(ErrorKind::Runtime, "a spill file of an edge ended early", reader->path());
        if (kept != reader->arena().get()) {
            out.keep_alive(reader->arena());
            kept = reader->arena().get();
        }
        const Value& id = reader->keys()[0];
        std::span<Value> row =
            out.append_row(id.kind() == Kind::Int ? static_cast<std::uint64_t>(id.as_int()) : 0);
        std::size_t c = 0;
        for (const Member& m : reader->record().as_object()) {
            while (c < schema.size() && schema.name(c) != m.key)
                ++c;
            if (c == schema.size())
                return Error(ErrorKind::Runtime, "a spill file of an edge holds a broken record",
                             reader->path());
            row[c++] = m.value;
        }
    }
    move_control(b, out);
    return out;
}

} // namespace conveyor::exec
