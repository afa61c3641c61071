#pragma once

// The records http.fetch has taken and not yet passed on, in arrival order, with the
// checkpoint markers among them; what is ready to go out, and the output batches it becomes
// (ordered: in input order; unordered: as requests complete).

#include "conveyor/core/batch.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/net/http_client.hpp"
#include "fetch_schema.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace conveyor::plugins::http {

/// One input batch, kept alive until every one of its records has been emitted (output rows
/// copy its values and share its storage).
struct Chunk {
    Batch batch;
    std::shared_ptr<const SchemaInfo> info;
};

/// A response shared by the records it answers (one per record, or one per group).
struct Response {
    int status = 0;
    std::vector<net::Header> headers;
    std::string body;
};

std::shared_ptr<const Response> to_response(net::HttpResponse r);

enum class Outcome : std::uint8_t { Pending, Ok, Null, Removed, Marker, Info };

/// A record between arrival and emission, a checkpoint marker (Outcome::Marker) or batch
/// metadata (Outcome::Info: BatchInfo, e.g. a LineageMark) that goes out after the records
/// before it.
struct Slot {
    std::shared_ptr<Chunk> chunk;
    std::size_t row = 0;
    Outcome outcome = Outcome::Pending;
    std::uint64_t marker = 0;     ///< the checkpoint id of a marker
    std::vector<BatchInfo> infos; ///< the metadata of an Info slot
    /// The last checkpoint before the record (its dead letter waits for the next).
    std::uint64_t epoch = 0;
    std::shared_ptr<const Response> response; ///< the final response, if one arrived
};

/// Slots by arrival number (seq). A record is ready once it has an outcome; ordered, only
/// together with every record before it. One per run; lives on the run's strand.
class FetchWindow {
public:
    /// `flush_threshold`: records per output batch (the capacity its batches are made with).
    FetchWindow(bool ordered, std::size_t flush_threshold)
        : ordered_(ordered), flush_threshold_(flush_threshold) {}

    /// Adds a pending record (row `row` of `chunk`); returns its seq.
    std::uint64_t add_record(std::shared_ptr<Chunk> chunk, std::size_t row, std::uint64_t epoch);
    /// Adds a checkpoint marker, ready at once.
    void add_marker(std::uint64_t id);
    /// Adds metadata that followed the records added so far. Ordered, it goes out in its
    /// place; unordered, once every record before it has gone out (records after it may
    /// overtake it: what it says is about the records before it).
    void add_infos(std::vector<BatchInfo> infos);
    /// The slot of a record not yet taken out.
    Slot& at(std::uint64_t seq) { return slots_.at(seq); }
    /// `n` more slots left Outcome::Pending (their outcome is set).
    void settled(std::size_t n);

    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }
    [[nodiscard]] std::size_t flush_threshold() const noexcept { return flush_threshold_; }
    /// Slots take_ready() would take out now.
    [[nodiscard]] std::size_t ready() const noexcept;
    /// Records emitted (taken out with Outcome::Ok or Outcome::Null) so far.
    [[nodiscard]] std::uint64_t records_emitted() const noexcept { return emitted_records_; }

    /// Takes every ready slot out and returns the output batches (one per run of records of
    /// one input schema, markers on the batch before them or alone); removed records vanish.
    std::vector<Batch> take_ready();

private:
    struct Building; ///< the output batches take_ready() is making
    /// Appends `s` to the output being built (a removed record: nothing).
    void put(Slot& s, Building& b);

    bool ordered_;
    std::size_t flush_threshold_;
    json::Parser parser_;
    std::map<std::uint64_t, Slot> slots_;
    std::uint64_t next_seq_ = 0;
    std::uint64_t ready_end_ = 0;   ///< ordered: every seq below is settled
    std::uint64_t emitted_end_ = 0; ///< ordered: every seq below has been emitted
    std::size_t unordered_ready_ = 0;
    std::uint64_t emitted_records_ = 0;
};

} // namespace conveyor::plugins::http
