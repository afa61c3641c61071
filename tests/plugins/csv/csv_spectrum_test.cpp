// Conformance with csv-spectrum: every CSV there, read with infer_types = false, must give the
// records of its JSON twin (field names and string values).

#include "conveyor/core/utf8.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "csv_test_support.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <stdexcept>

namespace conveyor::recordio::csv {
namespace {

using Record = std::vector<std::pair<std::string, std::string>>;

// Just enough JSON for the expected files: an array of objects whose values are strings.
class ExpectedJson {
public:
    explicit ExpectedJson(std::string_view text) : s_(text) {}

    std::vector<Record> parse_records() {
        std::vector<Record> out;
        expect('[');
        if (peek() == ']') {
            ++i_;
            return out;
        }
        for (;;) {
            out.push_back(parse_object());
            if (peek() == ',') {
                ++i_;
                continue;
            }
            expect(']');
            return out;
        }
    }

private:
    Record parse_object() {
        Record r;
        expect('{');
        if (peek() == '}') {
            ++i_;
            return r;
        }
        for (;;) {
            std::string key = parse_string();
            expect(':');
            r.emplace_back(std::move(key), parse_string());
            if (peek() == ',') {
                ++i_;
                continue;
            }
            expect('}');
            return r;
        }
    }

    std::string parse_string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c != '\\') {
                out += c;
                continue;
            }
            c = s_.at(i_++);
            switch (c) {
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'u': {
                const unsigned cp =
                    static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
                i_ += 4;
                append_utf8(out, cp);
                break;
            }
            default:
                out += c; // \" \\ \/
            }
        }
        expect('"');
        return out;
    }

    char peek() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
            ++i_;
        return i_ < s_.size() ? s_[i_] : '\0';
    }
    void expect(char c) {
        if (peek() != c) throw std::runtime_error(std::string("expected ") + c);
        ++i_;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

TEST(CsvSpectrum, EveryCaseMatchesItsJson) {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(conveyor::test::shared_dir()) / "corpora" / "csv-spectrum";
    if (!fs::is_directory(root / "csvs")) GTEST_SKIP() << "corpus not found at " << root;

    int checked = 0;
    for (const auto& entry : fs::directory_iterator(root / "csvs")) {
        if (entry.path().extension() != ".csv") continue;
        const std::string name = entry.path().stem().string();
        // Its JSON does not match its CSV (a different phone number, mangled bytes).
        if (name == "location_coordinates") continue;
        const fs::path json = root / "json" / (name + ".json");
        if (!fs::exists(json)) continue;
        SCOPED_TRACE(name);

        const std::vector<Record> expected =
            ExpectedJson(conveyor::test::read_file(json.string())).parse_records();
        auto built =
            test::build("csv.read", {{"path", entry.path().string()}, {"infer_types", false}});
        ASSERT_NE(built.stage, nullptr);
        const test::SourceRun r = test::run_source(*built.stage);
        ASSERT_FALSE(r.error) << r.error->to_string();

        std::vector<Record> got;
        for (const Batch& b : r.batches)
            for (std::size_t row = 0; row < b.rows(); ++row) {
                Record rec;
                for (std::size_t c = 0; c < b.width(); ++c) {
                    ASSERT_TRUE(b.at(row, c).is_string());
                    rec.emplace_back(b.schema().name(c), std::string(b.at(row, c).as_string()));
                }
                got.push_back(std::move(rec));
            }
        EXPECT_EQ(got, expected);
        ++checked;
    }
    EXPECT_GE(checked, 10);
}

} // namespace
} // namespace conveyor::recordio::csv
