#pragma once

// Turns records into the request that fetches them: the templates rendered for one record
// (mode = "per_row"), or a group of records as the JSON body of one request (mode = "batch").

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/net/http_client.hpp"
#include "fetch_schema.hpp"
#include "http_fetch.hpp"

#include <cstddef>

namespace conveyor::plugins::http {

/// Fills `req` (empty) for rows [row0, row0 + n) of `batch`, whose schema `info` was made for:
/// n = 1 in per_row mode. A template that cannot be rendered for the record (a missing field,
/// a line break in a header value) is an ErrorKind::Data error naming the part (url, body,
/// header NAME); `req` is then partly filled.
Status build_request(const HttpFetchConfig& cfg, const SchemaInfo& info, const Batch& batch,
                     std::size_t row0, std::size_t n, net::HttpRequest& req);

} // namespace conveyor::plugins::http
