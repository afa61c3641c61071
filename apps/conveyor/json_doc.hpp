#pragma once

// A small ordered JSON document for generated output (the pipeline JSON Schema): objects keep
// insertion order so the schema reads like the pipeline format it describes.

#include "conveyor/format/json_writer.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace conveyor::cli {

class JsonDoc {
public:
    using Array = std::vector<JsonDoc>;
    using Object = std::vector<std::pair<std::string, JsonDoc>>;

    JsonDoc() = default; // null
    JsonDoc(bool b) : v_(b) {}
    JsonDoc(int i) : v_(static_cast<std::int64_t>(i)) {}
    JsonDoc(std::int64_t i) : v_(i) {}
    JsonDoc(double d) : v_(d) {}
    JsonDoc(const char* s) : v_(std::string(s)) {}
    JsonDoc(std::string s) : v_(std::move(s)) {}
    JsonDoc(Array a) : v_(std::move(a)) {}
    JsonDoc(Object o) : v_(std::move(o)) {}

    static JsonDoc object() { return JsonDoc(Object{}); }
    static JsonDoc array() { return JsonDoc(Array{}); }

    /// Sets (or replaces) a member of an object.
    JsonDoc& set(std::string key, JsonDoc value) {
        auto& o = std::get<Object>(v_);
        for (auto& [k, v] : o)
            if (k == key) return v = std::move(value);
        o.emplace_back(std::move(key), std::move(value));
        return o.back().second;
    }
    /// A member of an object (which must exist).
    JsonDoc& at(const std::string& key) {
        for (auto& [k, v] : std::get<Object>(v_))
            if (k == key) return v;
        return set(key, JsonDoc());
    }
    /// Removes a member of an object, if present.
    void erase(const std::string& key) {
        auto& o = std::get<Object>(v_);
        for (auto it = o.begin(); it != o.end(); ++it)
            if (it->first == key) {
                o.erase(it);
                return;
            }
    }
    /// Appends to an array.
    JsonDoc& push(JsonDoc value) {
        auto& a = std::get<Array>(v_);
        a.push_back(std::move(value));
        return a.back();
    }
    [[nodiscard]] bool is_null() const { return v_.index() == 0; }

    /// Indented with two spaces; arrays of scalars stay on one line.
    [[nodiscard]] std::string dump() const {
        std::string out;
        write(out, 0);
        out += '\n';
        return out;
    }

private:
    [[nodiscard]] bool scalar() const {
        return !std::holds_alternative<Array>(v_) && !std::holds_alternative<Object>(v_);
    }
    void write(std::string& out, int depth) const {
        const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' ');
        const std::string end_pad(static_cast<std::size_t>(depth) * 2, ' ');
        switch (v_.index()) {
        case 0:
            out += "null";
            break;
        case 1:
            out += std::get<bool>(v_) ? "true" : "false";
            break;
        case 2:
            json::append_int(out, std::get<std::int64_t>(v_));
            break;
        case 3:
            json::append_double(out, std::get<double>(v_));
            break;
        case 4:
            json::append_string(out, std::get<std::string>(v_));
            break;
        case 5: {
            const auto& a = std::get<Array>(v_);
            bool flat = true;
            for (const JsonDoc& x : a)
                flat = flat && x.scalar();
            out += '[';
            for (std::size_t i = 0; i < a.size(); ++i) {
                out += i ? (flat ? ", " : ",\n" + pad) : (flat ? "" : "\n" + pad);
                a[i].write(out, depth + 1);
            }
            if (!flat && !a.empty()) out += "\n" + end_pad;
            out += ']';
            break;
        }
        case 6: {
            const auto& o = std::get<Object>(v_);
            out += '{';
            for (std::size_t i = 0; i < o.size(); ++i) {
                out += (i ? ",\n" : "\n") + pad;
                json::append_string(out, o[i].first);
                out += ": ";
                o[i].second.write(out, depth + 1);
            }
            if (!o.empty()) out += "\n" + end_pad;
            out += '}';
            break;
        }
        }
    }

    std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Object> v_;
};

} // namespace conveyor::cli
