#pragma once

// What http.fetch works out once per input schema: the output layout (the input's columns and
// the result columns the stage fills) and the request templates bound to the input's columns.

#include "conveyor/core/schema.hpp"
#include "conveyor/net/template.hpp"
#include "http_fetch.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace conveyor::plugins::http {

/// An output column no input column is copied into (the stage fills it).
inline constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);

/// The output of one input schema: its columns in order, then result_field, response_status
/// and response_headers, each where the input already has a column of that name (overwritten)
/// or else appended.
struct OutputLayout {
    SchemaRef schema;
    std::vector<std::size_t> source_column; ///< per output column: input column or kNoColumn
    std::size_t result_col = kNoColumn;
    std::size_t status_col = kNoColumn;
    std::size_t headers_col = kNoColumn;
};

OutputLayout output_layout(const HttpFetchConfig& cfg, const Schema& in);

/// Per input schema: the output layout and the templates bound to the input's columns.
struct SchemaInfo {
    SchemaRef input; ///< keeps the pointer used as cache key alive
    OutputLayout out;
    net::BoundTemplate url;
    std::optional<net::BoundTemplate> body;
    std::vector<net::BoundTemplate> headers; ///< in the order of HttpFetchConfig::headers
};

/// The SchemaInfo of each input schema, computed when the schema is first seen. Bounded:
/// heterogeneous input (JSON) may bring a new schema per batch, so past 64 schemas it starts
/// over (chunks keep the SchemaInfo they were given). One per run; not thread-safe.
class SchemaCache {
public:
    /// `cfg` must outlive the cache (bound templates point into it).
    explicit SchemaCache(const HttpFetchConfig& cfg) : cfg_(cfg) {}

    std::shared_ptr<const SchemaInfo> get(const SchemaRef& in);

private:
    const HttpFetchConfig& cfg_;
    std::unordered_map<const Schema*, std::shared_ptr<const SchemaInfo>> schemas_;
};

} // namespace conveyor::plugins::http
