#pragma once

// Inputs and pipeline texts several integration tests share.

#include <string>

namespace conveyor::test {

/// "id,text" and `rows` rows whose text is `width` bytes: a few thousand of them are more than
/// a pipe holds, so a stdout sink nobody reads blocks.
inline std::string wide_rows_csv(int rows, std::size_t width = 2000) {
    std::string csv = "id,text\n";
    const std::string filler(width, 'x');
    for (int i = 0; i < rows; ++i) csv += std::to_string(i) + "," + filler + "\n";
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
path = ")" + input + R"("

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
path = ")" + output + "\"\n";
}

} // namespace conveyor::test
