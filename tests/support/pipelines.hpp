#pragma once

// Inputs and pipeline texts several integration tests share.

#include <string>

namespace conveyor::test {

/// "id,text" and `rows` rows whose text is `width` bytes: a few thousand of them are more than
/// a pipe holds, so a stdout sink nobody reads blocks.
inline std::string wide_rows_csv(int rows, std::size_t width = 2000) {
    std::string csv = "id,text\n";
    const std::string filler(width, 'x');
    for (int i = 0; i < rows; ++i)
        csv += std::to_string(i) + "," + filler + "\n";
    return csv;
}

/// One [[stages]] table: `inputs` is the inside of its list ("\"a\", \"b\""), `config` the
/// lines of its [stages.config].
inline std::string stage(const std::string& id, const std::string& function,
                         const std::string& inputs, const std::string& config) {
    return "[[stages]]\nid = \"" + id + "\"\nfunction = \"" + function + "\"\ninputs = [" + inputs +
           "]\n[stages.config]\n" + config + "\n";
}

/// "id,qty" and `rows` records numbered from 1, qty the same number but "oops" at record `bad`
/// (0: none), which a typed column refuses.
inline std::string numbered_csv(int rows, int bad) {
    std::string csv = "id,qty\n";
    for (int i = 1; i <= rows; ++i)
        csv +=
            std::to_string(i) + "," + (i == bad ? std::string("oops") : std::to_string(i)) + "\n";
    return csv;
}

/// `input` read by csv.read, echoed to stdout (JSON lines) and saved to `output` by json.write.
inline std::string echo_and_save_pipeline(const std::string& input, const std::string& output,
                                          const std::string& global = "") {
    return "[global]\n" + global + R"(
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = ")" +
           input + R"("

[[stages]]
id = "echo"
function = "stdout.write"
inputs = ["load"]
[stages.config]
format = "jsonl"

[[stages]]
id = "save"
function = "json.write"
inputs = ["load"]
[stages.config]
path = ")" +
           output + "\"\n";
}

/// "id,name" and rows 1..`rows` ("1,n1", ...), the input of fetch_items_pipeline().
inline std::string items_csv(int rows) {
    std::string csv = "id,name\n";
    for (int i = 1; i <= rows; ++i)
        csv += std::to_string(i) + ",n" + std::to_string(i) + "\n";
    return csv;
}

/// items.csv -> http.fetch of `items_url` (a URL template with {{ id }}) -> out/items.jsonl,
/// with a checkpoint every 10 records: the pipeline the signal and resume tests interrupt.
inline std::string fetch_items_pipeline(const std::string& items_url, const std::string& executor,
                                        std::size_t concurrency) {
    return R"([global]
executor = ")" +
           executor + R"("
concurrency = )" +
           std::to_string(concurrency) + R"(
channel_buffer_size = 20
checkpoint_interval = 10

[[stages]]
id = "items"
function = "csv.read"
inputs = []
[stages.config]
path = "items.csv"

[[stages]]
id = "fetch"
function = "http.fetch"
inputs = ["items"]
[stages.config]
url = ")" + items_url +
           R"("
result_field = "detail"

[[stages]]
id = "save"
function = "json.write"
inputs = ["fetch"]
[stages.config]
path = "out/items.jsonl"
)";
}

/// A [[stages]] table: `config` is the TOML body of its [stages.config] ("key = value" lines).
inline std::string stage_toml(const std::string& id, const std::string& function,
                              const std::string& inputs, const std::string& config) {
    return "\n[[stages]]\nid = \"" + id + "\"\nfunction = \"" + function + "\"\ninputs = [" +
           inputs + "]\n[stages.config]\n" + config + "\n";
}

/// csv.read of `input` -> `function` (with `config`) -> csv.write of `output`.
inline std::string csv_through(const std::string& input, const std::string& function,
                               const std::string& config, const std::string& output,
                               const std::string& global = "") {
    return "[global]\n" + global + "\n" +
           stage_toml("in", "csv.read", "", "path = \"" + input + "\"") +
           stage_toml("step", function, "\"in\"", config) +
           stage_toml("out", "csv.write", "\"step\"", "path = \"" + output + "\"");
}

/// Files in `dir` and below (0 when it does not exist): spill files left behind.
std::size_t count_files(const std::string& dir);

} // namespace conveyor::test
